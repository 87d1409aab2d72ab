import { randomBytes, toHex } from '@personachain/crypto';

export const VAULT_ID_PATTERN = /^vlt_[0-9a-f]{32}$/;
export const ITEM_ID_PATTERN = /^itm_[0-9a-f]{32}$/;

/**
 * A vault id made by the client (the genesis manifest is signed before the server sees the vault):
 * `vlt_` + a UUIDv7 in hex (RFC 9562 §5.7: 48-bit milliseconds, version, 74 random bits), so ids sort
 * by creation time like the server's own ids.
 */
export function newVaultId(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  let millis = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = millis % 256;
    millis = Math.floor(millis / 256);
  }
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  return `vlt_${toHex(bytes)}`;
}

/** A random item id; items carry no name outside their ciphertext. */
export function newItemId(): string {
  return `itm_${toHex(randomBytes(16))}`;
}

export function isItemId(value: string): boolean {
  return ITEM_ID_PATTERN.test(value);
}

export function isVaultId(value: string): boolean {
  return VAULT_ID_PATTERN.test(value);
}

/** A subject: a `usr_…` id or a DID; printable, no whitespace. */
export const SUBJECT_PATTERN = /^(usr_[0-9a-f]{32}|did:[a-z0-9]+:[\x21-\x7e]+)$/;

import {
  AES_GCM_KEY_LENGTH,
  AeadKey,
  CryptoError,
  openEnvelope,
  randomBytes,
  sealEnvelope,
  sha256,
} from '@personachain/crypto';
import { b64u, labelled } from './encoding.js';
import { VaultFormatError } from './errors.js';
import type { MemberKeys, MemberPublicKeys } from './keys.js';
import { VAULT_LIMITS } from './limits.js';

/** One version of an item, encrypted: what a client uploads in a commit. */
export interface SealedItemVersion {
  itemId: string;
  version: number;
  /** nonce ‖ AES-256-GCM ciphertext ‖ tag. */
  ciphertext: Uint8Array;
  /** base64url SHA-256 of the ciphertext, as the manifest lists it. */
  contentHash: string;
  /** The version's data key sealed to each recipient. */
  sealedKeys: { keyId: string; sealedKey: Uint8Array }[];
}

export interface Recipient {
  keyId: string;
  keys: MemberPublicKeys;
}

interface VersionRef {
  vaultId: string;
  itemId: string;
  version: number;
}

// The AADs bind ciphertext and sealed keys to their place: a server cannot move a version to another
// item, vault or version number, nor hand one member's sealed key to another as if it were theirs.
const payloadAad = (ref: VersionRef) =>
  labelled('persona-vault/v1 item', ref.vaultId, ref.itemId, ref.version);
const keyAad = (ref: VersionRef, keyId: string) =>
  labelled('persona-vault/v1 item key', ref.vaultId, ref.itemId, ref.version, keyId);

export function contentHash(ciphertext: Uint8Array): string {
  return b64u.encode(sha256(ciphertext));
}

function recipientKey(recipient: Recipient) {
  return { suite: 'X-Wing' as const, publicKey: b64u.decode(recipient.keys.encryptionKey) };
}

/** Encrypts one item version under a fresh data key and seals that key to every recipient. */
export async function sealItem(
  input: VersionRef & { plaintext: Uint8Array; recipients: Recipient[] },
): Promise<SealedItemVersion> {
  if (input.plaintext.length > VAULT_LIMITS.maxItemBytes) {
    throw new VaultFormatError(`an item holds at most ${VAULT_LIMITS.maxItemBytes} bytes`);
  }
  if (input.recipients.length === 0) throw new VaultFormatError('an item needs at least one recipient');
  const dataKey = randomBytes(AES_GCM_KEY_LENGTH);
  try {
    // One data key encrypts exactly one payload.
    const ciphertext = await new AeadKey(dataKey, { usageLimit: 1 }).encrypt(
      input.plaintext,
      payloadAad(input),
    );
    const sealedKeys = await Promise.all(
      input.recipients.map(async (recipient) => ({
        keyId: recipient.keyId,
        sealedKey: await sealEnvelope(recipientKey(recipient), dataKey, {
          aad: keyAad(input, recipient.keyId),
        }),
      })),
    );
    return {
      itemId: input.itemId,
      version: input.version,
      ciphertext,
      contentHash: contentHash(ciphertext),
      sealedKeys,
    };
  } finally {
    dataKey.fill(0);
  }
}

async function openDataKey(ref: VersionRef, sealedKey: Uint8Array, member: MemberKeys): Promise<Uint8Array> {
  const dataKey = await openEnvelope(member.encryption, sealedKey, { aad: keyAad(ref, member.keyId) });
  if (dataKey.length !== AES_GCM_KEY_LENGTH) {
    dataKey.fill(0);
    throw new CryptoError('malformed-input', 'the sealed key does not hold a data key');
  }
  return dataKey;
}

/** Decrypts one item version with the member's own sealed key. CryptoError 'decryption-failed' on any mismatch. */
export async function openItem(
  input: VersionRef & { ciphertext: Uint8Array; sealedKey: Uint8Array; member: MemberKeys },
): Promise<Uint8Array> {
  const dataKey = await openDataKey(input, input.sealedKey, input.member);
  try {
    return await new AeadKey(dataKey).decrypt(input.ciphertext, payloadAad(input));
  } finally {
    dataKey.fill(0);
  }
}

/** Sharing: opens the version's data key with the member's sealed key and seals it to `recipient`. */
export async function resealItemKey(
  input: VersionRef & { sealedKey: Uint8Array; member: MemberKeys; recipient: Recipient },
): Promise<Uint8Array> {
  const dataKey = await openDataKey(input, input.sealedKey, input.member);
  try {
    return await sealEnvelope(recipientKey(input.recipient), dataKey, {
      aad: keyAad(input, input.recipient.keyId),
    });
  } finally {
    dataKey.fill(0);
  }
}

import { createHmac, hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { hkdfSha256 } from '@personachain/crypto';

const encoder = new TextEncoder();

/** A bearer secret for the wallet (access token, c_nonce): 256 random bits, base64url. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** How bearer secrets are stored and looked up: their SHA-256 (hex), never the secret itself. */
export function secretHash(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** A 6-digit transaction code (tx_code), the second channel of a pre-authorized offer. */
export function newTxCode(): string {
  return String(randomInt(1_000_000)).padStart(6, '0');
}

/** Constant-time equality of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The secrets of an offer that are derived rather than stored. The pre-authorized code is an HMAC of the
 * offer id under a key derived from the master key: the offer endpoint can show it again (wallets fetch
 * `credential_offer_uri` more than once) while the database holds only its SHA-256. The tx_code is 6
 * digits, so a plain hash would be reversed by trying all of them: it is stored as an HMAC bound to the
 * offer instead.
 */
export class OfferSecrets {
  private readonly codeKey: Uint8Array;
  private readonly txCodeKey: Uint8Array;

  constructor(masterKey: Uint8Array) {
    this.codeKey = derive(masterKey, 'oid4vci pre-authorized code');
    this.txCodeKey = derive(masterKey, 'oid4vci tx_code');
  }

  preAuthorizedCode(offerId: string): string {
    return createHmac('sha256', this.codeKey).update(offerId).digest('base64url');
  }

  txCodeDigest(offerId: string, txCode: string): string {
    return createHmac('sha256', this.txCodeKey).update(`${offerId}\0${txCode}`).digest('hex');
  }
}

function derive(masterKey: Uint8Array, purpose: string): Uint8Array {
  return hkdfSha256(masterKey, undefined, encoder.encode(`personachain ${purpose} v1`), 32);
}

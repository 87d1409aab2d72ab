import { combine, split } from 'shamir-secret-sharing';
import {
  type EnvelopeKeyPair,
  type EnvelopeRecipient,
  openEnvelope,
  sealEnvelope,
} from './envelope/envelope.js';
import { CryptoError } from './errors.js';

/*
 * Shamir secret sharing over GF(2^8) by `shamir-secret-sharing` (audited). A share is the library's
 * format: one byte per secret byte (the polynomial values) followed by the share's x-coordinate (1..255),
 * so a share is one byte longer than the secret. Shares carry no integrity check of their own: combining
 * fewer than `threshold` shares, or a wrong share, yields a wrong secret without an error. Seal shares to
 * their holders (splitSecretToRecipients) so that they are authenticated in transit and at rest.
 */

export const SHAMIR_MAX_SHARES = 255;

/** Splits `secret` into `shares` shares, any `threshold` of which reconstruct it (2 ≤ threshold ≤ shares ≤ 255). */
export async function splitSecret(
  secret: Uint8Array,
  threshold: number,
  shares: number,
): Promise<Uint8Array[]> {
  if (!(secret instanceof Uint8Array) || secret.length === 0) {
    throw new CryptoError('invalid-argument', 'the secret must be non-empty bytes');
  }
  if (!Number.isInteger(threshold) || !Number.isInteger(shares)) {
    throw new CryptoError('invalid-argument', 'threshold and shares must be integers');
  }
  if (threshold < 2 || threshold > shares || shares > SHAMIR_MAX_SHARES) {
    throw new CryptoError(
      'invalid-argument',
      `need 2 ≤ threshold ≤ shares ≤ ${SHAMIR_MAX_SHARES}, got threshold ${threshold} of ${shares}`,
    );
  }
  // The library checks `constructor === Uint8Array`, so a Buffer or subclass is copied into a plain array.
  return split(new Uint8Array(secret), shares, threshold);
}

/**
 * Reconstructs the secret from at least `threshold` distinct shares of one split. Structural problems
 * (fewer than 2 shares, different lengths, a repeated or zero x-coordinate) are 'malformed-input'.
 */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Uint8Array> {
  if (!Array.isArray(shares) || shares.length < 2 || shares.length > SHAMIR_MAX_SHARES) {
    throw new CryptoError('malformed-input', `combining needs 2 to ${SHAMIR_MAX_SHARES} shares`);
  }
  const length = shares[0]?.length;
  const xs = new Set<number>();
  for (const share of shares) {
    if (!(share instanceof Uint8Array) || share.length < 2 || share.length !== length) {
      throw new CryptoError('malformed-input', 'shares must be byte arrays of one length, at least 2 bytes');
    }
    const x = share[share.length - 1] as number;
    // x = 0 would be the secret itself: no split produces it, so such a "share" is forged or corrupt.
    if (x === 0 || xs.has(x))
      throw new CryptoError('malformed-input', 'share x-coordinates must be distinct and non-zero');
    xs.add(x);
  }
  return combine(shares.map((share) => new Uint8Array(share)));
}

const SHARE_AAD_LABEL = new TextEncoder().encode('PersonaChain shamir share v1');

function shareAad(aad: Uint8Array | undefined): Uint8Array {
  const out = new Uint8Array(SHARE_AAD_LABEL.length + (aad?.length ?? 0));
  out.set(SHARE_AAD_LABEL, 0);
  if (aad) out.set(aad, SHARE_AAD_LABEL.length);
  return out;
}

/**
 * Splits `secret` threshold-of-N, N = recipients.length, and seals share i to recipients[i] in a
 * single-recipient envelope. The envelope AAD is "PersonaChain shamir share v1" ‖ `options.aad` (use it
 * to bind e.g. the vault id and split id, so a share cannot be replayed into another split).
 */
export async function splitSecretToRecipients(
  secret: Uint8Array,
  threshold: number,
  recipients: readonly EnvelopeRecipient[],
  options: { aad?: Uint8Array } = {},
): Promise<Uint8Array[]> {
  const shares = await splitSecret(secret, threshold, recipients.length);
  try {
    const aad = shareAad(options.aad);
    return await Promise.all(
      shares.map((share, i) => sealEnvelope(recipients[i] as EnvelopeRecipient, share, { aad })),
    );
  } finally {
    for (const share of shares) share.fill(0);
  }
}

/** Opens one sealed share with its holder's key pair (same `aad` as at splitting). */
export async function openSealedShare(
  keyPair: EnvelopeKeyPair,
  sealedShare: Uint8Array,
  options: { aad?: Uint8Array } = {},
): Promise<Uint8Array> {
  return openEnvelope(keyPair, sealedShare, { aad: shareAad(options.aad) });
}

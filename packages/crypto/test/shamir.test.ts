import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  combineShares,
  generateEnvelopeKeyPair,
  openSealedShare,
  randomBytes,
  splitSecret,
  splitSecretToRecipients,
} from '../src/index.js';
import { utf8 } from './helpers.js';

/** Every k-element subset of `items`. */
function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((subset) => [first, ...subset]), ...subsets(rest, k)];
}

describe('Shamir secret sharing', () => {
  it('any M of N shares reconstruct the secret; M−1 shares give a different value', async () => {
    const secret = randomBytes(32);
    const shares = await splitSecret(secret, 3, 5);
    expect(shares).toHaveLength(5);
    for (const share of shares) expect(share.length).toBe(33);
    for (const subset of subsets(shares, 3)) expect(await combineShares(subset)).toEqual(secret);
    for (const subset of subsets(shares, 4)) expect(await combineShares(subset)).toEqual(secret);
    for (const subset of subsets(shares, 2)) expect(await combineShares(subset)).not.toEqual(secret);
  });

  it('handles the extremes 2-of-2 and 255-of-255', async () => {
    const secret = randomBytes(16);
    const two = await splitSecret(secret, 2, 2);
    expect(await combineShares(two)).toEqual(secret);
    const all = await splitSecret(secret, 255, 255);
    expect(await combineShares(all)).toEqual(secret);
    expect(await combineShares(all.slice(1))).not.toEqual(secret);
  });

  it('validates M and N with invalid-argument', async () => {
    for (const [threshold, shares] of [
      [1, 3],
      [4, 3],
      [2, 256],
      [0, 0],
      [2.5, 3],
    ] as const) {
      const error = await splitSecret(randomBytes(16), threshold, shares).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('invalid-argument');
    }
    await expect(splitSecret(new Uint8Array(0), 2, 3)).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('rejects structurally bad share sets with malformed-input', async () => {
    const shares = await splitSecret(randomBytes(16), 2, 3);
    const [a, b] = shares as [Uint8Array, Uint8Array];
    const zeroX = b.slice();
    zeroX[zeroX.length - 1] = 0;
    for (const bad of [[a], [a, a], [a, b.subarray(1)], [a, zeroX]]) {
      await expect(combineShares(bad)).rejects.toMatchObject({ code: 'malformed-input' });
    }
  });

  it('seals each share to its holder; any M holders reconstruct, a holder cannot open another share', async () => {
    const holders = await Promise.all([1, 2, 3].map(() => generateEnvelopeKeyPair()));
    const secret = randomBytes(32);
    const aad = utf8('vault:7/split:1');
    const sealed = await splitSecretToRecipients(secret, 2, holders, { aad });
    expect(sealed).toHaveLength(3);
    const opened = await Promise.all(
      sealed.map((share, i) => openSealedShare(holders[i] as never, share, { aad })),
    );
    expect(await combineShares([opened[0] as Uint8Array, opened[2] as Uint8Array])).toEqual(secret);
    await expect(
      openSealedShare(holders[0] as never, sealed[1] as Uint8Array, { aad }),
    ).rejects.toMatchObject({
      code: 'decryption-failed',
    });
    // Replaying a share into another split context fails.
    await expect(
      openSealedShare(holders[0] as never, sealed[0] as Uint8Array, { aad: utf8('vault:8') }),
    ).rejects.toMatchObject({ code: 'decryption-failed' });
  });
});

import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * The signer of the provider's cookies, in place of the `keygrip` that Koa's `cookies` builds from a key
 * array on every request. The signatures are keygrip's, byte for byte (HMAC-SHA1 of `name=value`,
 * base64url), so cookies signed before a restart or by another replica still verify. What differs is the
 * cost of a check, which every provider request pays for each signed cookie it reads: keygrip compares with
 * `tsscmp`, two more HMACs under a fresh random key; this compares with `timingSafeEqual`.
 */
export class CookieSigner {
  /** `keys[0]` signs; every key verifies (the others are kept for rotation). */
  constructor(private readonly keys: readonly KeyObject[]) {
    if (keys.length === 0) throw new Error('CookieSigner needs at least one key');
  }

  sign(data: string): string {
    return signature(this.keys[0] as KeyObject, data);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /** Which key signed `data` (0 is current; above 0, `cookies` re-signs with the current key), or −1. */
  index(data: string, digest: string): number {
    const presented = Buffer.from(digest);
    for (const [at, key] of this.keys.entries()) {
      const expected = Buffer.from(signature(key, data));
      // The length of a signature is public (27 characters); only equal lengths are compared in constant time.
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) return at;
    }
    return -1;
  }
}

function signature(key: KeyObject, data: string): string {
  return createHmac('sha1', key).update(data).digest('base64url');
}

import { createSecretKey, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CookieSigner } from '../src/modules/oidc/cookie-signer.js';

/** The keygrip that Koa's `cookies` builds from a key array: what signed the provider's cookies before. */
interface Keygrip {
  sign(data: string): string;
  index(data: string, digest: string): number;
}
const fromCookies = createRequire(createRequire(import.meta.url).resolve('cookies'));
const keygrip = fromCookies('keygrip') as (keys: Buffer[]) => Keygrip;

const DATA = '_session=c3Jp6yqS1kXHn0b2gFzQe';

describe('CookieSigner', () => {
  const bytes = [randomBytes(32), randomBytes(32)];
  const keys = bytes.map((key) => createSecretKey(key));

  it('signs exactly as keygrip does, so existing cookies still verify, and keygrip accepts its signatures', () => {
    const signer = new CookieSigner(keys);
    const grip = keygrip(bytes);
    expect(signer.sign(DATA)).toBe(grip.sign(DATA));
    expect(signer.index(DATA, grip.sign(DATA))).toBe(0);
    expect(grip.index(DATA, signer.sign(DATA))).toBe(0);
  });

  it('names the key that signed: a cookie of the previous key verifies with index 1 (the caller re-signs it)', () => {
    const previous = new CookieSigner([keys[1] as (typeof keys)[number]]);
    const rotated = new CookieSigner(keys);
    expect(rotated.index(DATA, previous.sign(DATA))).toBe(1);
    expect(rotated.verify(DATA, previous.sign(DATA))).toBe(true);
  });

  it('refuses another value, a changed or truncated signature, and a signature by an unknown key', () => {
    const signer = new CookieSigner(keys);
    const digest = signer.sign(DATA);
    expect(signer.index(`${DATA}x`, digest)).toBe(-1);
    expect(signer.index(DATA, `${digest.slice(0, -1)}${digest.endsWith('A') ? 'B' : 'A'}`)).toBe(-1);
    expect(signer.index(DATA, digest.slice(0, -1))).toBe(-1);
    expect(signer.index(DATA, '')).toBe(-1);
    expect(signer.verify(DATA, new CookieSigner([createSecretKey(randomBytes(32))]).sign(DATA))).toBe(false);
  });

  it('needs a key', () => {
    expect(() => new CookieSigner([])).toThrow(/at least one key/);
  });
});

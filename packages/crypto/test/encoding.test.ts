import { describe, expect, it } from 'vitest';
import { constantTimeEqual, fromBase64Url, randomBytes, toBase64Url, toHex } from '../src/index.js';

describe('base64url (RFC 4648 §10 vectors)', () => {
  const vectors: Array<[string, string]> = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ];
  it.each(vectors)('encodes and decodes %j', (plain, encoded) => {
    const bytes = new TextEncoder().encode(plain);
    expect(toBase64Url(bytes)).toBe(encoded);
    expect(fromBase64Url(encoded)).toEqual(bytes);
  });

  it('uses the URL-safe alphabet', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('rejects characters outside the alphabet and impossible lengths', () => {
    expect(() => fromBase64Url('ab+c')).toThrow(TypeError);
    expect(() => fromBase64Url('abcde')).toThrow(TypeError);
  });
});

describe('random and compare', () => {
  it('produces distinct random buffers of the requested size, beyond one getRandomValues call', () => {
    const a = randomBytes(70_000);
    const b = randomBytes(70_000);
    expect(a.length).toBe(70_000);
    expect(toHex(a.subarray(65_530, 65_560))).not.toBe(toHex(b.subarray(65_530, 65_560)));
  });

  it('compares in constant time and returns the right answer', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

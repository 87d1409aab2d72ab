import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { aesGcmDecrypt, aesGcmEncrypt } from '../src/aead.js';
import {
  AES_GCM_RANDOM_NONCE_LIMIT,
  AeadKey,
  CryptoError,
  hkdfSha256,
  hkdfSha256Expand,
  hkdfSha256Extract,
  randomBytes,
  sha256,
  toHex,
} from '../src/index.js';
import { flipBit, hex, utf8 } from './helpers.js';

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
}

describe('AES-256-GCM', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13–15 (256-bit keys).
  const vectors = [
    {
      name: 'test case 13 (empty)',
      key: '00'.repeat(32),
      iv: '00'.repeat(12),
      pt: '',
      ct: '',
      tag: '530f8afbc74536b9a963b4f1c4cb738b',
    },
    {
      name: 'test case 14',
      key: '00'.repeat(32),
      iv: '00'.repeat(12),
      pt: '00'.repeat(16),
      ct: 'cea7403d4d606b6e074ec5d3baf39d18',
      tag: 'd0d1c8a799996bf0265b98b5d48ab919',
    },
    {
      name: 'test case 15',
      key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
      iv: 'cafebabefacedbaddecaf888',
      pt: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
      ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
      tag: 'b094dac5d93471bdec1a502270e3cc6c',
    },
  ];
  for (const vector of vectors) {
    it(`matches GCM ${vector.name}`, async () => {
      const sealed = await aesGcmEncrypt(hex(vector.key), hex(vector.iv), hex(vector.pt));
      expect(toHex(sealed)).toBe(vector.ct + vector.tag);
      expect(toHex(await aesGcmDecrypt(hex(vector.key), hex(vector.iv), sealed))).toBe(vector.pt);
    });
  }

  it('AeadKey output is nonce ‖ ciphertext ‖ tag, fresh nonce each time, and round-trips with AAD', async () => {
    const key = AeadKey.generate();
    const message = utf8('attack at dawn');
    const aad = utf8('vault 42');
    const a = await key.encrypt(message, aad);
    const b = await key.encrypt(message, aad);
    expect(a.length).toBe(12 + message.length + 16);
    expect(toHex(a.subarray(0, 12))).not.toBe(toHex(b.subarray(0, 12)));
    expect(await key.decrypt(a, aad)).toEqual(message);
    expect(key.encryptions).toBe(2);
  });

  it('refuses a wrong key, a flipped bit anywhere, a different AAD and truncation with decryption-failed', async () => {
    const key = AeadKey.generate();
    const sealed = await key.encrypt(utf8('secret payload'), utf8('aad'));
    await expectCode(AeadKey.generate().decrypt(sealed, utf8('aad')), 'decryption-failed');
    await expectCode(key.decrypt(sealed, utf8('other')), 'decryption-failed');
    await expectCode(key.decrypt(sealed), 'decryption-failed');
    for (let i = 0; i < sealed.length; i++) {
      await expectCode(key.decrypt(flipBit(sealed, i), utf8('aad')), 'decryption-failed');
    }
    for (const length of [0, 5, 12, 27, sealed.length - 1]) {
      await expectCode(key.decrypt(sealed.subarray(0, length), utf8('aad')), 'decryption-failed');
    }
  });

  it('stops at its usage limit with key-usage-exceeded', async () => {
    const key = AeadKey.generate({ usageLimit: 3 });
    for (let i = 0; i < 3; i++) await key.encrypt(utf8(`m${i}`));
    await expectCode(key.encrypt(utf8('one too many')), 'key-usage-exceeded');
    expect(key.encryptions).toBe(3);
    // Decryption is not an invocation with a new nonce and stays allowed.
    const other = AeadKey.generate({ usageLimit: 1 });
    const sealed = await other.encrypt(utf8('x'));
    expect(await other.decrypt(sealed)).toEqual(utf8('x'));
  });

  it('defaults to the SP 800-38D limit of 2^32 and rejects limits above it or below 1', () => {
    expect(AeadKey.generate().usageLimit).toBe(2 ** 32);
    expect(AES_GCM_RANDOM_NONCE_LIMIT).toBe(2 ** 32);
    for (const usageLimit of [0, -1, 1.5, 2 ** 32 + 1]) {
      expect(() => AeadKey.generate({ usageLimit })).toThrowError(CryptoError);
    }
  });

  it('rejects keys that are not 32 bytes with invalid-key', async () => {
    expect(() => new AeadKey(randomBytes(16))).toThrowError(expect.objectContaining({ code: 'invalid-key' }));
    await expectCode(aesGcmEncrypt(randomBytes(31), randomBytes(12), utf8('x')), 'invalid-key');
  });
});

describe('HKDF-SHA-256 (RFC 5869 Appendix A)', () => {
  const vectors = [
    {
      name: 'A.1 basic',
      ikm: '0b'.repeat(22),
      salt: '000102030405060708090a0b0c',
      info: 'f0f1f2f3f4f5f6f7f8f9',
      length: 42,
      prk: '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
      okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    },
    {
      name: 'A.2 long inputs',
      ikm: Array.from({ length: 80 }, (_, i) => i.toString(16).padStart(2, '0')).join(''),
      salt: Array.from({ length: 80 }, (_, i) => (0x60 + i).toString(16).padStart(2, '0')).join(''),
      info: Array.from({ length: 80 }, (_, i) => (0xb0 + i).toString(16).padStart(2, '0')).join(''),
      length: 82,
      prk: '06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244',
      okm: 'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
    },
    {
      name: 'A.3 empty salt and info',
      ikm: '0b'.repeat(22),
      salt: '',
      info: '',
      length: 42,
      prk: '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
      okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    },
  ];
  for (const vector of vectors) {
    it(`matches ${vector.name}`, () => {
      const salt = vector.salt ? hex(vector.salt) : undefined;
      const prk = hkdfSha256Extract(hex(vector.ikm), salt);
      expect(toHex(prk)).toBe(vector.prk);
      expect(toHex(hkdfSha256Expand(prk, hex(vector.info), vector.length))).toBe(vector.okm);
      expect(toHex(hkdfSha256(hex(vector.ikm), salt, hex(vector.info), vector.length))).toBe(vector.okm);
    });
  }

  it('rejects output lengths outside 1..8160 with invalid-argument', () => {
    for (const length of [0, 255 * 32 + 1]) {
      expect(() => hkdfSha256(randomBytes(32), undefined, new Uint8Array(0), length)).toThrowError(
        expect.objectContaining({ code: 'invalid-argument' }),
      );
    }
  });
});

describe('SHA-256', () => {
  it('gives the FIPS 180-4 digests, and noble’s bytes for every length around the block size and 4 KiB', () => {
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    for (const length of [1, 55, 56, 63, 64, 65, 127, 128, 4096 + 28]) {
      const data = randomBytes(length);
      const digest = sha256(data);
      expect(digest).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(digest)).toBe(false);
      expect(digest).toEqual(nobleSha256(data));
    }
  });
});

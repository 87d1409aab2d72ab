import { describe, expect, it } from 'vitest';
import { type SignatureAlgorithm, signatureAlgorithms, signatureScheme, toHex } from '../src/index.js';
import { backends, flipBit, hex, utf8 } from './helpers.js';
import vectors from './vectors/post-quantum.json' with { type: 'json' };

// RFC 6979 A.2.5 (P-256, SHA-256), A.2.6 (P-384, SHA-384) and A.2.7 (P-521, SHA-512), message "sample"
// (the RFC prints P-521 values in 131 hex digits; here left-padded to 66 bytes); secp256k1: the widely
// published RFC 6979 vector for secret key 1 and "Satoshi Nakamoto" (low-S form).
const ecdsaVectors = [
  {
    algorithm: 'P-256',
    secretKey: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
    // Uy = 7903fe…2299 is odd, hence the 0x03 prefix.
    publicKey: '0360fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6',
    message: 'sample',
    signature:
      'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
  },
  {
    algorithm: 'P-384',
    secretKey:
      '6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5',
    // Uy = 8015d9…4720 is even, hence the 0x02 prefix.
    publicKey:
      '02ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13',
    message: 'sample',
    signature:
      '94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe4699ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8',
  },
  {
    algorithm: 'P-521',
    secretKey:
      '00fad06daa62ba3b25d2fb40133da757205de67f5bb0018fee8c86e1b68c7e75caa896eb32f1f47c70855836a6d16fcc1466f6d8fbec67db89ec0c08b0e996b83538',
    // Uy = 0493…cf5 is odd, hence the 0x03 prefix.
    publicKey:
      '0301894550d0785932e00eaa23b694f213f8c3121f86dc97a04e5a7167db4e5bcd371123d46e45db6b5d5370a7f20fb633155d38ffa16d2bd761dcac474b9a2f5023a4',
    message: 'sample',
    signature:
      '00c328fafcbd79dd77850370c46325d987cb525569fb63c5d3bc53950e6d4c5f174e25a1ee9017b5d450606add152b534931d7d4e8455cc91f9b15bf05ec36e377fa00617cce7cf5064806c467f678d3b4080d6f1cc50af26ca209417308281b68af282623eaa63e5b5c0723d8b8c37ff0777b1a20f8ccb1dccc43997f1ee0e44da4a67a',
  },
  {
    algorithm: 'secp256k1',
    secretKey: '0000000000000000000000000000000000000000000000000000000000000001',
    // The generator G, compressed.
    publicKey: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    message: 'Satoshi Nakamoto',
    signature:
      '934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d82442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5',
  },
] as const;

describe.each(ecdsaVectors)('$algorithm published vector', (vector) => {
  it.each(backends)('derives the public key and verifies the signature on %s', async (backend) => {
    const scheme = signatureScheme(vector.algorithm, backend);
    expect(toHex(await scheme.publicKeyFromSecretKey(hex(vector.secretKey)))).toBe(vector.publicKey);
    expect(await scheme.verify(hex(vector.publicKey), utf8(vector.message), hex(vector.signature))).toBe(
      true,
    );
    expect(await scheme.verify(hex(vector.publicKey), utf8('samplf'), hex(vector.signature))).toBe(false);
  });

  it('reproduces the deterministic RFC 6979 signature on noble', async () => {
    const signature = await signatureScheme(vector.algorithm, 'noble').sign(
      hex(vector.secretKey),
      utf8(vector.message),
    );
    expect(toHex(signature)).toBe(vector.signature);
  });

  it('signs with native (randomised k) what both backends verify', async () => {
    const signature = await signatureScheme(vector.algorithm, 'native').sign(
      hex(vector.secretKey),
      utf8(vector.message),
    );
    for (const backend of backends) {
      expect(
        await signatureScheme(vector.algorithm, backend).verify(
          hex(vector.publicKey),
          utf8(vector.message),
          signature,
        ),
      ).toBe(true);
    }
  });
});

describe('P-521', () => {
  it('signs 132-byte P1363 signatures over SHA-512 that node:crypto verifies as ES512 would', async () => {
    const crypto = globalThis.process.getBuiltinModule('node:crypto');
    for (const backend of backends) {
      const scheme = signatureScheme('P-521', backend);
      const pair = await scheme.generateKeyPair();
      expect(pair.publicKey).toHaveLength(67);
      expect(pair.secretKey).toHaveLength(66);
      const signature = await scheme.sign(pair.secretKey, utf8('es512'));
      expect(signature).toHaveLength(132);
      const key = crypto.createPublicKey({
        key: Buffer.from(pair.publicKey),
        format: 'raw-public',
        asymmetricKeyType: 'ec',
        namedCurve: 'P-521',
      } as unknown as import('node:crypto').PublicKeyInput);
      const verifyWith = (hash: string) =>
        crypto.verify(hash, utf8('es512'), { key, dsaEncoding: 'ieee-p1363' }, signature);
      expect(verifyWith('sha512')).toBe(true);
      expect(verifyWith('sha384')).toBe(false);
    }
  });

  it('refuses a P-384-length signature and a P-384 key', async () => {
    const p521 = signatureScheme('P-521');
    const p384 = await signatureScheme('P-384').generateKeyPair();
    const pair = await p521.generateKeyPair();
    const signature = await p521.sign(pair.secretKey, utf8('m'));
    await expect(p521.verify(pair.publicKey, utf8('m'), signature.slice(0, 96))).rejects.toMatchObject({
      code: 'invalid-signature',
    });
    await expect(p521.verify(p384.publicKey, utf8('m'), signature)).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});

describe('secp256k1 low-S', () => {
  it('returns low-S signatures from the native backend too', async () => {
    const scheme = signatureScheme('secp256k1', 'native');
    const { secretKey } = await scheme.generateKeyPair();
    const halfOrder = BigInt('0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0');
    for (let i = 0; i < 16; i++) {
      const signature = await scheme.sign(secretKey, utf8(`message ${i}`));
      expect(BigInt(`0x${toHex(signature.slice(32))}`) <= halfOrder).toBe(true);
    }
  });
});

describe('ML-DSA-44 published vector (Wycheproof mldsa_44_sign_seed_test, tcId 1)', () => {
  const vector = vectors.mlDsa44;
  it.each(backends)(
    'derives the public key from the seed and verifies the signature on %s',
    async (backend) => {
      const scheme = signatureScheme('ML-DSA-44', backend);
      expect(toHex(await scheme.publicKeyFromSecretKey(hex(vector.seed)))).toBe(vector.publicKey);
      expect(await scheme.verify(hex(vector.publicKey), hex(vector.message), hex(vector.signature))).toBe(
        true,
      );
      expect(
        await scheme.verify(hex(vector.publicKey), hex(vector.message), flipBit(hex(vector.signature), 100)),
      ).toBe(false);
    },
  );
});

// Every algorithm × backend: the same behaviour contract. SLH-DSA signing is slow (≈0.3 s native, 1.5 s
// noble), so its round trip signs once per backend and reuses those signatures. RSA-3072 has one backend
// only (node:crypto) and its own tests in rsa.test.ts.
const fast = signatureAlgorithms.filter(
  (algorithm) => algorithm !== 'SLH-DSA-SHA2-128s' && algorithm !== 'RSA-3072',
);

describe.each(fast)('%s contract', (algorithm: SignatureAlgorithm) => {
  const native = signatureScheme(algorithm, 'native');
  const noble = signatureScheme(algorithm, 'noble');
  const message = utf8(`message for ${algorithm}`);

  it('reports the backend that really runs it', () => {
    expect(noble.backend).toBe('noble');
    const nobleOnly = algorithm === 'BLS12-381-G2' || algorithm === 'Falcon-512';
    expect(native.backend).toBe(nobleOnly ? 'noble' : 'native');
  });

  it('signs on one backend and verifies on the other, deriving the same public key', async () => {
    for (const [signer, verifier] of [
      [native, noble],
      [noble, native],
    ] as const) {
      const pair = await signer.generateKeyPair();
      expect(await verifier.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
      const signature = await signer.sign(pair.secretKey, message);
      expect(await verifier.verify(pair.publicKey, message, signature)).toBe(true);
      expect(await verifier.verify(pair.publicKey, utf8('another message'), signature)).toBe(false);
      expect(await verifier.verify(pair.publicKey, message, flipBit(signature, 10))).toBe(false);
      const other = await signer.generateKeyPair();
      expect(await verifier.verify(other.publicKey, message, signature)).toBe(false);
    }
  });

  it('signs with a bound key (signerFor) that outlives the caller wiping its copy', async () => {
    for (const [signer, verifier] of [
      [native, noble],
      [noble, native],
    ] as const) {
      const pair = await signer.generateKeyPair();
      const sign = await signer.signerFor(pair.secretKey);
      pair.secretKey.fill(0);
      for (const text of ['first', 'second']) {
        expect(await verifier.verify(pair.publicKey, utf8(text), await sign(utf8(text)))).toBe(true);
      }
    }
    await expect(native.signerFor(new Uint8Array(3))).rejects.toMatchObject({ code: 'invalid-key' });
  });

  it('throws invalid-key for wrong-length keys and invalid-signature for a truncated signature', async () => {
    const pair = await noble.generateKeyPair();
    const signature = await noble.sign(pair.secretKey, message);
    for (const scheme of [native, noble]) {
      await expect(scheme.verify(pair.publicKey.slice(1), message, signature)).rejects.toMatchObject({
        code: 'invalid-key',
      });
      await expect(scheme.sign(pair.secretKey.slice(1), message)).rejects.toMatchObject({
        code: 'invalid-key',
      });
      await expect(
        scheme.publicKeyFromSecretKey(new Uint8Array(pair.secretKey.length + 1)),
      ).rejects.toMatchObject({
        code: 'invalid-key',
      });
      await expect(scheme.verify(pair.publicKey, message, signature.slice(0, 20))).rejects.toMatchObject({
        code: 'invalid-signature',
      });
    }
  });
});

describe.each(['P-256', 'P-384', 'P-521', 'secp256k1', 'BLS12-381-G2'] as const)(
  '%s key validation',
  (algorithm) => {
    it.each(backends)('rejects points off the curve and out-of-range scalars on %s', async (backend) => {
      const scheme = signatureScheme(algorithm, backend);
      const pair = await scheme.generateKeyPair();
      const signature = await scheme.sign(pair.secretKey, utf8('x'));
      // A compressed-point prefix byte other than 02/03 (or, for BLS, a bad flag byte) is never a point.
      const garbage = new Uint8Array(pair.publicKey.length).fill(0xff);
      await expect(scheme.verify(garbage, utf8('x'), signature)).rejects.toMatchObject({
        code: 'invalid-key',
      });
      await expect(scheme.sign(new Uint8Array(pair.secretKey.length), utf8('x'))).rejects.toMatchObject({
        code: 'invalid-key',
      });
      await expect(
        scheme.sign(new Uint8Array(pair.secretKey.length).fill(0xff), utf8('x')),
      ).rejects.toMatchObject({
        code: 'invalid-key',
      });
    });
  },
);

describe('BLS12-381-G2', () => {
  it('refuses the identity point as a public key (it would accept forged signatures)', async () => {
    const scheme = signatureScheme('BLS12-381-G2');
    const identity = new Uint8Array(96);
    identity[0] = 0xc0; // compressed + infinity flags
    const identitySignature = new Uint8Array(48);
    identitySignature[0] = 0xc0;
    await expect(scheme.verify(identity, utf8('x'), identitySignature)).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});

describe('SLH-DSA-SHA2-128s', () => {
  it('signs once per backend; each signature verifies on both and a tampered one fails', async () => {
    const native = signatureScheme('SLH-DSA-SHA2-128s', 'native');
    const noble = signatureScheme('SLH-DSA-SHA2-128s', 'noble');
    expect(native.backend).toBe('native');
    const message = utf8('long-lived root key');
    for (const [signer, verifier] of [
      [native, noble],
      [noble, native],
    ] as const) {
      const pair = await signer.generateKeyPair();
      expect(await verifier.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
      const signature = await signer.sign(pair.secretKey, message);
      expect(signature).toHaveLength(7856);
      for (const scheme of [native, noble]) {
        expect(await scheme.verify(pair.publicKey, message, signature)).toBe(true);
        expect(await scheme.verify(pair.publicKey, message, flipBit(signature, 4000))).toBe(false);
      }
    }
  }, 30_000);
});

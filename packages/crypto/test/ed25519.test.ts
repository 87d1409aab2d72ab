import { describe, expect, it } from 'vitest';
import { sodium } from '../src/backends/sodium.js';
import { CryptoError, signatureScheme, toHex } from '../src/index.js';
import { opensslEd25519, sodiumEd25519 } from '../src/signatures/ed25519.js';
import { backends, flipBit, hex } from './helpers.js';

// RFC 8032 §7.1, TEST 1–3 (empty, 1-octet and 2-octet messages).
const rfc8032 = [
  {
    name: 'TEST 1',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe.each(backends)('Ed25519 on the %s backend', (backend) => {
  const scheme = signatureScheme('Ed25519', backend);

  it('runs on the requested backend (node:crypto has Ed25519 on every supported Node)', () => {
    expect(scheme.backend).toBe(backend);
  });

  it.each(rfc8032)('reproduces RFC 8032 $name', async (vector) => {
    const secretKey = hex(vector.secretKey);
    expect(toHex(await scheme.publicKeyFromSecretKey(secretKey))).toBe(vector.publicKey);
    const signature = await scheme.sign(secretKey, hex(vector.message));
    expect(toHex(signature)).toBe(vector.signature);
    expect(await scheme.verify(hex(vector.publicKey), hex(vector.message), hex(vector.signature))).toBe(true);
  });

  it('returns false for a tampered message or signature', async () => {
    const [vector] = rfc8032.slice(2);
    if (!vector) throw new Error('missing vector');
    const publicKey = hex(vector.publicKey);
    const signature = hex(vector.signature);
    expect(await scheme.verify(publicKey, hex('af83'), signature)).toBe(false);
    expect(await scheme.verify(publicKey, hex(vector.message), flipBit(signature, 5))).toBe(false);
    expect(await scheme.verify(publicKey, hex(vector.message), flipBit(signature, 40))).toBe(false);
  });

  it('generates key pairs whose public key matches the secret key', async () => {
    const pair = await scheme.generateKeyPair();
    expect(pair.secretKey).toHaveLength(32);
    expect(pair.publicKey).toHaveLength(32);
    expect(await scheme.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
  });

  it('throws invalid-key for a malformed key and invalid-signature for a wrong-length signature', async () => {
    const [vector] = rfc8032;
    if (!vector) throw new Error('missing vector');
    const signature = hex(vector.signature);
    // y = 2 has no x on the curve: 32 bytes but not a point.
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    for (const publicKey of [new Uint8Array(31), new Uint8Array(33), notAPoint]) {
      await expect(scheme.verify(publicKey, new Uint8Array(), signature)).rejects.toMatchObject({
        name: 'CryptoError',
        code: 'invalid-key',
      });
    }
    await expect(scheme.sign(new Uint8Array(16), new Uint8Array())).rejects.toBeInstanceOf(CryptoError);
    await expect(scheme.publicKeyFromSecretKey(new Uint8Array(64))).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(
      scheme.verify(hex(vector.publicKey), new Uint8Array(), signature.slice(0, 63)),
    ).rejects.toMatchObject({
      code: 'invalid-signature',
    });
  });
});

describe('Ed25519 across backends', () => {
  it('verifies on each backend what the other signed', async () => {
    const native = signatureScheme('Ed25519', 'native');
    const noble = signatureScheme('Ed25519', 'noble');
    const message = new TextEncoder().encode('checkpoint body\n');
    for (const [signer, verifier] of [
      [native, noble],
      [noble, native],
    ] as const) {
      const pair = await signer.generateKeyPair();
      expect(await verifier.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
      const signature = await signer.sign(pair.secretKey, message);
      expect(await verifier.verify(pair.publicKey, message, signature)).toBe(true);
      expect(await verifier.verify(pair.publicKey, message, flipBit(signature, 63))).toBe(false);
    }
  });
});

describe('signatureScheme', () => {
  it('throws unsupported-algorithm for an unknown name', () => {
    expect(() => signatureScheme('RSA-2048' as never)).toThrow(
      expect.objectContaining({ name: 'CryptoError', code: 'unsupported-algorithm' }),
    );
  });
});

describe('native Ed25519 implementations', () => {
  const crypto = process.getBuiltinModule('node:crypto');
  const libsodium = sodium();
  // sodium-native ships prebuilt binaries for every platform CI runs on; a failed load would silently
  // fall back to the slower OpenSSL path, so it is asserted here.
  it('loads libsodium, and the native backend uses it', () => {
    expect(libsodium).toBeDefined();
  });

  const implementations = [
    ['libsodium', () => sodiumEd25519(libsodium as NonNullable<typeof libsodium>, crypto)],
    ['OpenSSL', () => opensslEd25519(crypto)],
  ] as const;

  it.each(implementations)('%s reproduces RFC 8032 TEST 1–3 and refuses tampering', async (_, make) => {
    const scheme = make();
    for (const vector of rfc8032) {
      const secretKey = hex(vector.secretKey);
      expect(toHex(await scheme.publicKeyFromSecretKey(secretKey))).toBe(vector.publicKey);
      expect(toHex(await scheme.sign(secretKey, hex(vector.message)))).toBe(vector.signature);
      const sign = await scheme.signerFor(secretKey);
      expect(toHex(await sign(hex(vector.message)))).toBe(vector.signature);
      const signature = hex(vector.signature);
      expect(await scheme.verify(hex(vector.publicKey), hex(vector.message), signature)).toBe(true);
      expect(await scheme.verify(hex(vector.publicKey), hex(vector.message), flipBit(signature, 2))).toBe(
        false,
      );
    }
  });

  it('both refuse the identity key with an identity R and S = 0, which would verify any message', async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged[0] = 1;
    for (const [, make] of implementations) {
      const verdict = await make()
        .verify(identity, new TextEncoder().encode('anything'), forged)
        .catch((error: unknown) => error);
      expect(verdict === false || verdict instanceof CryptoError).toBe(true);
    }
  });
});

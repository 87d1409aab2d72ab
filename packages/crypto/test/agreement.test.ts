import { describe, expect, it } from 'vitest';
import { keyAgreement, keyAgreementAlgorithms, toHex } from '../src/index.js';
import { backends, hex } from './helpers.js';

// RFC 7748 §5.2: X25519(scalar, u) for two (scalar, u) pairs; the second u has its top bit set, which
// implementations must mask.
const scalarMultiplication = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    output: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    output: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
];

// RFC 7748 §6.1: Alice and Bob.
const alice = {
  secretKey: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  publicKey: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
};
const bob = {
  secretKey: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  publicKey: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
};
const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

describe.each(backends)('X25519 on %s', (backend) => {
  const x25519 = keyAgreement('X25519', backend);

  it('runs on the requested backend', () => {
    expect(x25519.backend).toBe(backend);
  });

  it.each(scalarMultiplication)('reproduces RFC 7748 §5.2 for scalar $scalar', async (vector) => {
    expect(toHex(await x25519.deriveSharedSecret(hex(vector.scalar), hex(vector.u)))).toBe(vector.output);
  });

  it('reproduces the RFC 7748 §6.1 exchange', async () => {
    expect(toHex(await x25519.publicKeyFromSecretKey(hex(alice.secretKey)))).toBe(alice.publicKey);
    expect(toHex(await x25519.publicKeyFromSecretKey(hex(bob.secretKey)))).toBe(bob.publicKey);
    expect(toHex(await x25519.deriveSharedSecret(hex(alice.secretKey), hex(bob.publicKey)))).toBe(shared);
    expect(toHex(await x25519.deriveSharedSecret(hex(bob.secretKey), hex(alice.publicKey)))).toBe(shared);
  });

  it('refuses low-order peer keys (all-zero shared secret) and wrong lengths', async () => {
    const lowOrder = [new Uint8Array(32), hex(`01${'00'.repeat(31)}`)];
    for (const peer of lowOrder) {
      await expect(x25519.deriveSharedSecret(hex(alice.secretKey), peer)).rejects.toMatchObject({
        code: 'invalid-key',
      });
    }
    await expect(x25519.deriveSharedSecret(hex(alice.secretKey), new Uint8Array(31))).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(x25519.deriveSharedSecret(new Uint8Array(33), hex(bob.publicKey))).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});

describe.each(keyAgreementAlgorithms)('%s across backends', (algorithm) => {
  it('derives the same secret whichever backend each side uses', async () => {
    const native = keyAgreement(algorithm, 'native');
    const noble = keyAgreement(algorithm, 'noble');
    expect(native.backend).toBe('native');
    const a = await native.generateKeyPair();
    const b = await noble.generateKeyPair();
    expect(await noble.publicKeyFromSecretKey(a.secretKey)).toEqual(a.publicKey);
    expect(await native.publicKeyFromSecretKey(b.secretKey)).toEqual(b.publicKey);
    const fromA = await native.deriveSharedSecret(a.secretKey, b.publicKey);
    expect(fromA).toEqual(await noble.deriveSharedSecret(b.secretKey, a.publicKey));
    expect(fromA).toEqual(await noble.deriveSharedSecret(a.secretKey, b.publicKey));
    expect(fromA).toHaveLength(algorithm === 'P-384' ? 48 : 32);
  });

  it.each(backends)('rejects a garbage peer key with invalid-key on %s', async (backend) => {
    const scheme = keyAgreement(algorithm, backend);
    const pair = await scheme.generateKeyPair();
    // For ECDH, 0xff… is no compressed point; for X25519 every 32 bytes are a u-coordinate, so use zero.
    const garbage = new Uint8Array(pair.publicKey.length).fill(algorithm === 'X25519' ? 0 : 0xff);
    await expect(scheme.deriveSharedSecret(pair.secretKey, garbage)).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});

describe('keyAgreement', () => {
  it('throws unsupported-algorithm for an unknown name or backend', () => {
    expect(() => keyAgreement('X448' as never)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
    expect(() => keyAgreement('X25519', 'wasm' as never)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });
});

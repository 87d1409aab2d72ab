import { describe, expect, it } from 'vitest';
import { kemAlgorithms, kemScheme, toHex } from '../src/index.js';
import { backends, flipBit, hex } from './helpers.js';
import vectors from './vectors/post-quantum.json' with { type: 'json' };

describe('ML-KEM-768 published vector (Wycheproof mlkem_768_keygen_seed_test, tcId 1)', () => {
  it.each(backends)('derives the encapsulation key from the 64-byte seed on %s', async (backend) => {
    const kem = kemScheme('ML-KEM-768', backend);
    expect(toHex(await kem.publicKeyFromSecretKey(hex(vectors.mlKem768.seed)))).toBe(
      vectors.mlKem768.publicKey,
    );
  });
});

describe.each(kemAlgorithms)('%s', (algorithm) => {
  const native = kemScheme(algorithm, 'native');
  const noble = kemScheme(algorithm, 'noble');

  it('runs natively on this Node', () => {
    expect(native.backend).toBe('native');
    expect(noble.backend).toBe('noble');
  });

  it('encapsulates on one backend and decapsulates on the other', async () => {
    for (const [owner, sender] of [
      [native, noble],
      [noble, native],
    ] as const) {
      const pair = await owner.generateKeyPair();
      expect(pair.secretKey).toHaveLength(64);
      expect(await sender.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
      const { sharedSecret, ciphertext } = await sender.encapsulate(pair.publicKey);
      expect(sharedSecret).toHaveLength(32);
      expect(await owner.decapsulate(pair.secretKey, ciphertext)).toEqual(sharedSecret);
      expect(await sender.decapsulate(pair.secretKey, ciphertext)).toEqual(sharedSecret);
    }
  });

  it.each(backends)(
    'implicitly rejects a tampered ciphertext on %s (a different secret, no error)',
    async (backend) => {
      const kem = kemScheme(algorithm, backend);
      const pair = await kem.generateKeyPair();
      const { sharedSecret, ciphertext } = await kem.encapsulate(pair.publicKey);
      const other = await kem.decapsulate(pair.secretKey, flipBit(ciphertext, 7));
      expect(other).toHaveLength(32);
      expect(other).not.toEqual(sharedSecret);
      // Both backends derive the same implicit-rejection secret (FIPS 203 J(z‖c)).
      const otherBackend = kemScheme(algorithm, backend === 'native' ? 'noble' : 'native');
      expect(await otherBackend.decapsulate(pair.secretKey, flipBit(ciphertext, 7))).toEqual(other);
    },
  );

  it.each(backends)('rejects malformed input with typed errors on %s', async (backend) => {
    const kem = kemScheme(algorithm, backend);
    const pair = await kem.generateKeyPair();
    const { ciphertext } = await kem.encapsulate(pair.publicKey);
    await expect(kem.decapsulate(pair.secretKey, ciphertext.slice(1))).rejects.toMatchObject({
      code: 'malformed-input',
    });
    await expect(kem.decapsulate(pair.secretKey.slice(1), ciphertext)).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(kem.encapsulate(pair.publicKey.slice(1))).rejects.toMatchObject({ code: 'invalid-key' });
    // All-ones coefficients exceed q = 3329: the FIPS 203 §7.2 modulus check fails.
    await expect(kem.encapsulate(new Uint8Array(pair.publicKey.length).fill(0xff))).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });
});

describe('kemScheme', () => {
  it('throws unsupported-algorithm for an unknown name', () => {
    expect(() => kemScheme('ML-KEM-512' as never)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });
});

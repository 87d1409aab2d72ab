import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveKeyEncryptionKey,
  encodePublicKeyMultibase,
  exportJwk,
  importJwk,
  jwkThumbprint,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
  type StoredKey,
  signatureScheme,
  toBase64Url,
} from '../src/index.js';
import { flipBit, utf8 } from './helpers.js';

// One key pair for the whole file: a 3072-bit RSA key takes a few hundred milliseconds to generate.
const rsa = signatureScheme('RSA-3072');
const pair = await rsa.generateKeyPair();

describe('RSA-3072 (RS256)', () => {
  it('runs on node:crypto and has no pure-JS backend', () => {
    expect(rsa.backend).toBe('native');
    expect(() => signatureScheme('RSA-3072', 'noble')).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });

  it('generates a 3072-bit key with exponent 65537 and derives the public key from the secret key', async () => {
    expect(pair.publicKey.length).toBe(384);
    expect((pair.publicKey[0] as number) & 0x80).toBe(0x80);
    expect(await rsa.publicKeyFromSecretKey(pair.secretKey)).toEqual(pair.publicKey);
    const jwk = exportJwk('RSA-3072', pair.publicKey);
    expect(jwk).toEqual({ kty: 'RSA', n: toBase64Url(pair.publicKey), e: 'AQAB' });
    expect(createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyDetails).toMatchObject({
      modulusLength: 3072,
      publicExponent: 65537n,
    });
  });

  it('signs RSASSA-PKCS1-v1_5/SHA-256 that OpenSSL verifies from the exported JWK, and refuses tampering', async () => {
    const message = utf8('header.payload');
    const signature = await rsa.sign(pair.secretKey, message);
    expect(signature.length).toBe(384);
    const publicKey = createPublicKey({ key: exportJwk('RSA-3072', pair.publicKey), format: 'jwk' });
    expect(nodeVerify('sha256', message, publicKey, signature)).toBe(true);
    expect(await rsa.verify(pair.publicKey, message, signature)).toBe(true);
    expect(await rsa.verify(pair.publicKey, utf8('header.payloaD'), signature)).toBe(false);
    expect(await rsa.verify(pair.publicKey, message, flipBit(signature, 100))).toBe(false);
    // PKCS#1 v1.5 is deterministic: the same key and message give the same signature.
    expect(await rsa.sign(pair.secretKey, message)).toEqual(signature);
  });

  it('refuses malformed keys and impossible signatures with the shared error codes', async () => {
    const message = utf8('m');
    const signature = await rsa.sign(pair.secretKey, message);
    const even = pair.publicKey.slice();
    even[383] = (even[383] as number) & 0xfe;
    await expect(rsa.verify(even, message, flipBit(signature, 3))).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(rsa.verify(pair.publicKey.slice(1), message, signature)).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(rsa.verify(pair.publicKey, message, signature.slice(1))).rejects.toMatchObject({
      code: 'invalid-signature',
    });
    // A secret key whose primes do not multiply to its modulus.
    await expect(rsa.sign(flipBit(pair.secretKey, 800), message)).rejects.toMatchObject({
      code: 'invalid-key',
    });
  });

  it('round-trips a private JWK and computes the RFC 7638 thumbprint over e, kty, n', async () => {
    const privateJwk = exportJwk('RSA-3072', pair.publicKey, pair.secretKey);
    expect(Object.keys(privateJwk).sort()).toEqual(['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi']);
    const imported = await importJwk(privateJwk);
    expect(imported).toEqual({ algorithm: 'RSA-3072', publicKey: pair.publicKey, secretKey: pair.secretKey });
    const other = await rsa.generateKeyPair();
    await expect(importJwk({ ...privateJwk, n: toBase64Url(other.publicKey) })).rejects.toMatchObject({
      code: 'invalid-key',
    });
    await expect(importJwk({ kty: 'RSA', n: toBase64Url(pair.publicKey), e: 'Aw' })).rejects.toMatchObject({
      code: 'unsupported-algorithm',
    });
    await expect(
      importJwk({ kty: 'RSA', n: toBase64Url(pair.publicKey.subarray(128)), e: 'AQAB' }),
    ).rejects.toMatchObject({ code: 'unsupported-algorithm' });
    const thumbprint = createPublicKey({ key: privateJwk, format: 'jwk' }).export({ format: 'jwk' });
    expect(jwkThumbprint(exportJwk('RSA-3072', pair.publicKey))).toBe(
      jwkThumbprint({ kty: 'RSA', e: thumbprint.e, n: thumbprint.n }),
    );
  });

  it('has no Multikey form', () => {
    expect(() => encodePublicKeyMultibase('RSA-3072', pair.publicKey)).toThrow(
      expect.objectContaining({ code: 'unsupported-algorithm' }),
    );
  });
});

describe('RSA-3072 in the LocalKeyStore', () => {
  it('creates, signs with, seals at rest and retires an RSA key', async () => {
    const repository = new MemoryKeyRepository();
    const keys = new LocalKeyStore({ kek: deriveKeyEncryptionKey(randomBytes(32)), repository });
    const key = await keys.createKey({ algorithm: 'RSA-3072', purpose: 'oidc-rs256' });
    expect(key).toMatchObject({ algorithm: 'RSA-3072', status: 'active' });
    const row = (await repository.get(key.id)) as StoredKey;
    // Nonce ‖ AES-256-GCM ciphertext of the 1,728-byte raw secret key ‖ tag, and no clear secret anywhere.
    expect(row.wrappedSecretKey.length).toBe(12 + 1728 + 16);
    const privateMembers = exportJwk('RSA-3072', key.publicKey);
    expect(JSON.stringify(Object.values(row).map(String))).not.toContain(String(privateMembers.d));

    const message = utf8('signing input');
    const signature = await keys.sign(key.id, message);
    const publicKey = createPublicKey({ key: exportJwk('RSA-3072', key.publicKey), format: 'jwk' });
    expect(nodeVerify('sha256', message, publicKey, signature)).toBe(true);
    expect(await keys.verify(key.id, message, signature)).toBe(true);

    await keys.retireKey(key.id);
    await expect(keys.sign(key.id, message)).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(await keys.verify(key.id, message, signature)).toBe(true);

    await repository.put({ ...row, wrappedSecretKey: flipBit(row.wrappedSecretKey, 100) });
    await expect(keys.getKey(key.id)).rejects.toMatchObject({ code: 'decryption-failed' });
  });
});

import { describe, expect, it } from 'vitest';
import { hex, utf8 } from './helpers.js';

/*
 * The code paths a browser (or Node without OpenSSL 3.5) takes: no node:crypto, so AES-GCM runs on
 * WebCrypto and X-Wing on @hpke/hybridkem-x-wing. This file hides process.getBuiltinModule before the
 * package is first used (vitest runs each test file in its own process), so it exercises those paths.
 */
const realGetBuiltinModule = process.getBuiltinModule;
Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true, writable: true });
// Nor Buffer: the encoders take the portable path.
const realBuffer = globalThis.Buffer;
Object.defineProperty(globalThis, 'Buffer', { value: undefined, configurable: true, writable: true });
const crypto = await import('../src/index.js');
Object.defineProperty(globalThis, 'Buffer', { value: realBuffer, configurable: true, writable: true });
const { aesGcmEncrypt } = await import('../src/aead.js');
const { nodeCrypto } = await import('../src/backends/node-crypto.js');
// The package has now looked for node:crypto and remembers that it is absent; vitest gets it back.
const absent = nodeCrypto() === undefined;
Object.defineProperty(process, 'getBuiltinModule', {
  value: realGetBuiltinModule,
  configurable: true,
  writable: true,
});

describe('without node:crypto (browser paths)', () => {
  it('encodes base64url without Buffer exactly as Node does', () => {
    for (const length of [0, 1, 2, 3, 31, 32, 33, 255]) {
      const bytes = crypto.randomBytes(length);
      expect(crypto.toBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(crypto.fromBase64Url(crypto.toBase64Url(bytes))).toEqual(bytes);
    }
  });

  it('really runs without node:crypto', () => {
    expect(absent).toBe(true);
    expect(crypto.envelopeSuite('X-Wing').backend).toBe('js');
  });

  it('hashes SHA-256 on noble: the FIPS 180-4 digests of the empty string, one block and two', () => {
    expect(crypto.toHex(crypto.sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(crypto.toHex(crypto.sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(
      crypto.toHex(crypto.sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    ).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('refuses RSA-3072 with a clear error: it has no pure-JS implementation', async () => {
    expect(() => crypto.signatureScheme('RSA-3072')).toThrow(
      expect.objectContaining({
        code: 'unsupported-algorithm',
        message: expect.stringContaining('node:crypto'),
      }),
    );
    const keys = new crypto.LocalKeyStore({
      kek: crypto.randomBytes(32),
      repository: new crypto.MemoryKeyRepository(),
    });
    await expect(keys.createKey({ algorithm: 'RSA-3072', purpose: 'rs256' })).rejects.toMatchObject({
      code: 'unsupported-algorithm',
    });
  });

  it('AES-256-GCM on WebCrypto matches GCM test case 15 and keeps the error contract', async () => {
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const sealed = await aesGcmEncrypt(
      key,
      hex('cafebabefacedbaddecaf888'),
      hex(
        'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
      ),
    );
    expect(crypto.toHex(sealed.subarray(-16))).toBe('b094dac5d93471bdec1a502270e3cc6c');
    const aead = crypto.AeadKey.generate({ usageLimit: 1 });
    const message = await aead.encrypt(utf8('x'), utf8('aad'));
    expect(await aead.decrypt(message, utf8('aad'))).toEqual(utf8('x'));
    await expect(aead.decrypt(message, utf8('other'))).rejects.toMatchObject({ code: 'decryption-failed' });
    await expect(aead.encrypt(utf8('y'))).rejects.toMatchObject({ code: 'key-usage-exceeded' });
  });

  it('envelopes round-trip on the pure-JS X-Wing and refuse tampering', async () => {
    const pair = await crypto.generateEnvelopeKeyPair();
    const sealed = await crypto.sealEnvelope(pair, utf8('browser'));
    expect(await crypto.openEnvelope(pair, sealed)).toEqual(utf8('browser'));
    const tampered = sealed.slice();
    tampered[sealed.length - 1] = (tampered[sealed.length - 1] as number) ^ 1;
    await expect(crypto.openEnvelope(pair, tampered)).rejects.toMatchObject({ code: 'decryption-failed' });
    const multi = await crypto.sealMultiRecipientEnvelope([pair], utf8('many'));
    expect(await crypto.openEnvelope(pair, multi)).toEqual(utf8('many'));
  });
});

import { readFileSync } from 'node:fs';
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { describe, expect, it } from 'vitest';
import { sodium } from '../src/backends/sodium.js';
import { FastAes256Gcm, FastHkdfSha256 } from '../src/envelope/hpke-adapters.js';
import { NativeXWing, nativeXWingAvailable } from '../src/envelope/xwing-native.js';
import { envelopeSuite, generateEnvelopeKeyPair, openEnvelope, sealEnvelope, toHex } from '../src/index.js';
import { hex } from './helpers.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
const rfc9180 = fixture('rfc9180-a1-1.json');
const xwing: { vectors: { seed: string; pk: string; eseed: string; ct: string; ss: string }[] } =
  fixture('xwing-draft.json');
const bytes = (buffer: ArrayBuffer) => new Uint8Array(buffer);

/** Native X-Wing with each X25519 backend this machine has: libsodium (where it loads) and OpenSSL. */
const nativeKems: [string, () => NativeXWing][] = nativeXWingAvailable()
  ? [
      ...(sodium() ? [['libsodium', () => new NativeXWing()] as [string, () => NativeXWing]] : []),
      ['OpenSSL', () => new NativeXWing(null)],
    ]
  : [];

describe('RFC 9180 A.1.1 with our HKDF-SHA256 under @hpke/core', () => {
  // The library takes the ephemeral key's ikm as `ekm` (its test hook), so enc and every ciphertext are
  // reproduced exactly, not only opened.
  const suite = () =>
    new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new FastHkdfSha256(), aead: new Aes128Gcm() });

  it('derives the recipient key pair from ikmR', async () => {
    const s = suite();
    const recipient = await s.kem.deriveKeyPair(hex(rfc9180.ikmR));
    expect(toHex(bytes(await s.kem.serializePublicKey(recipient.publicKey)))).toBe(rfc9180.pkRm);
    expect(toHex(bytes(await s.kem.serializePrivateKey(recipient.privateKey)))).toBe(rfc9180.skRm);
  });

  it('reproduces enc, the sequence of ciphertexts and the exports from ikmE', async () => {
    const s = suite();
    const recipient = await s.kem.deriveKeyPair(hex(rfc9180.ikmR));
    const sender = await s.createSenderContext({
      recipientPublicKey: recipient.publicKey,
      info: hex(rfc9180.info),
      ekm: hex(rfc9180.ikmE),
    });
    expect(toHex(bytes(sender.enc))).toBe(rfc9180.enc);
    let seq = 0;
    for (const encryption of rfc9180.encryptions) {
      // Skipped sequence numbers still advance the nonce: seal a throw-away message for each.
      while (seq < encryption.seq) {
        await sender.seal(hex(encryption.pt));
        seq++;
      }
      expect(toHex(bytes(await sender.seal(hex(encryption.pt), hex(encryption.aad))))).toBe(encryption.ct);
      seq++;
    }
    for (const exported of rfc9180.exports) {
      expect(toHex(bytes(await sender.export(hex(exported.context), exported.length)))).toBe(exported.value);
    }
  });

  it('opens the vector ciphertext with the vector recipient key', async () => {
    const s = suite();
    const recipient = await s.kem.deriveKeyPair(hex(rfc9180.ikmR));
    const opener = await s.createRecipientContext({
      recipientKey: recipient.privateKey,
      enc: hex(rfc9180.enc),
      info: hex(rfc9180.info),
    });
    const first = rfc9180.encryptions[0];
    expect(toHex(bytes(await opener.open(hex(first.ct), hex(first.aad))))).toBe(first.pt);
  });

  it('our AES-256-GCM gives @hpke/core-identical HPKE output (same key schedule, same enc)', async () => {
    // RFC 9180's appendix has no X25519 + AES-256-GCM entry; compare against the library's own AEAD.
    const { Aes256Gcm } = await import('@hpke/core');
    const ours = new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: new FastHkdfSha256(),
      aead: new FastAes256Gcm(),
    });
    const theirs = new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: new FastHkdfSha256(),
      aead: new Aes256Gcm(),
    });
    const recipient = await ours.kem.deriveKeyPair(hex(rfc9180.ikmR));
    const params = {
      recipientPublicKey: recipient.publicKey,
      info: hex(rfc9180.info),
      ekm: hex(rfc9180.ikmE),
    };
    const a = await ours.seal(params, hex(rfc9180.encryptions[0].pt), hex('aa'));
    const b = await theirs.seal(params, hex(rfc9180.encryptions[0].pt), hex('aa'));
    expect(toHex(bytes(a.ct))).toBe(toHex(bytes(b.ct)));
    expect(toHex(bytes(a.enc))).toBe(rfc9180.enc);
  });
});

describe('X-Wing draft vectors', () => {
  const js = new XWing();

  for (const [index, vector] of xwing.vectors.entries()) {
    it(`@hpke/hybridkem-x-wing reproduces vector ${index}: pk from seed, ct and ss from eseed`, async () => {
      const pair = await js.generateKeyPairDerand(hex(vector.seed));
      expect(toHex(bytes(await js.serializePublicKey(pair.publicKey)))).toBe(vector.pk);
      const { enc, sharedSecret } = await js.encap({
        recipientPublicKey: pair.publicKey,
        ekm: hex(vector.eseed),
      });
      expect(toHex(bytes(enc))).toBe(vector.ct);
      expect(toHex(bytes(sharedSecret))).toBe(vector.ss);
    });

    for (const [x25519, native] of nativeKems) {
      it(`native X-Wing (X25519 on ${x25519}) reproduces vector ${index}: pk from seed, ss by decapsulating ct (OpenSSL draws the encapsulation randomness, so ct itself cannot be reproduced)`, async () => {
        const kem = native();
        const privateKey = await kem.deserializePrivateKey(hex(vector.seed));
        expect(toHex(kem.publicKeyOf(privateKey))).toBe(vector.pk);
        const ss = await kem.decap({ recipientKey: privateKey, enc: hex(vector.ct) });
        expect(toHex(bytes(ss))).toBe(vector.ss);
      });
    }
  }
});

describe.runIf(nativeXWingAvailable())('native X-Wing interoperates with @hpke/hybridkem-x-wing', () => {
  it('derives the same key pair from the same ikm (RFC 9180 DeriveKeyPair)', async () => {
    const native = new NativeXWing();
    const js = new XWing();
    const ikm = hex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20');
    const a = await native.deriveKeyPair(ikm);
    const b = await js.deriveKeyPair(ikm);
    expect(toHex(bytes(await native.serializePublicKey(a.publicKey)))).toBe(
      toHex(bytes(await js.serializePublicKey(b.publicKey))),
    );
    expect(toHex(bytes(await native.serializePrivateKey(a.privateKey)))).toBe(
      toHex(bytes(await js.serializePrivateKey(b.privateKey))),
    );
  });

  it.each(nativeKems)(
    'a KEM ciphertext from either side decapsulates to the same secret on the other (X25519 on %s)',
    async (_, make) => {
      const native = make();
      const js = new XWing();
      const seed = hex(xwing.vectors[0]?.seed as string);
      const nativeKeys = {
        pk: await native.deserializePublicKey(hex(xwing.vectors[0]?.pk as string)),
        sk: await native.deserializePrivateKey(seed),
      };
      const jsKeys = await js.generateKeyPairDerand(seed);
      const fromNative = await native.encap({ recipientPublicKey: nativeKeys.pk });
      expect(toHex(bytes(await js.decap({ recipientKey: jsKeys.privateKey, enc: fromNative.enc })))).toBe(
        toHex(bytes(fromNative.sharedSecret)),
      );
      const fromJs = await js.encap({ recipientPublicKey: jsKeys.publicKey });
      expect(toHex(bytes(await native.decap({ recipientKey: nativeKeys.sk, enc: fromJs.enc })))).toBe(
        toHex(bytes(fromJs.sharedSecret)),
      );
    },
  );

  it.each(nativeKems)(
    'refuses a ciphertext whose X25519 part is a low-order point (X25519 on %s)',
    async (_, make) => {
      const native = make();
      const privateKey = await native.deserializePrivateKey(hex(xwing.vectors[0]?.seed as string));
      const lowOrder = hex(xwing.vectors[0]?.ct as string).fill(0, 1088);
      await expect(native.decap({ recipientKey: privateKey, enc: lowOrder })).rejects.toThrow();
    },
  );

  it('envelopes sealed with one implementation open with the other, both ways', async () => {
    expect(envelopeSuite('X-Wing', 'native').backend).toBe('native');
    expect(envelopeSuite('X-Wing', 'js').backend).toBe('js');
    const keyPair = await generateEnvelopeKeyPair('X-Wing', { backend: 'native' });
    const message = new TextEncoder().encode('interop');
    const sealedNative = await sealEnvelope(keyPair, message, { backend: 'native' });
    expect(await openEnvelope(keyPair, sealedNative, { backend: 'js' })).toEqual(message);
    const sealedJs = await sealEnvelope(keyPair, message, { backend: 'js' });
    expect(await openEnvelope(keyPair, sealedJs, { backend: 'native' })).toEqual(message);
  });
});

import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  deriveEnvelopeKeyPair,
  type EnvelopeKeyPair,
  type EnvelopeSuiteName,
  envelopeKeyId,
  generateEnvelopeKeyPair,
  inspectEnvelope,
  openEnvelope,
  randomBytes,
  sealEnvelope,
  sealMultiRecipientEnvelope,
  toHex,
} from '../src/index.js';
import { flipBit, utf8 } from './helpers.js';

async function failure(promise: Promise<unknown>): Promise<CryptoError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CryptoError);
  return error as CryptoError;
}

const suites: EnvelopeSuiteName[] = ['X-Wing', 'DHKEM-X25519'];
const sizes = { 'X-Wing': { publicKey: 1216, enc: 1120 }, 'DHKEM-X25519': { publicKey: 32, enc: 32 } };

describe.each(suites)('single-recipient envelope, %s', (suite) => {
  const message = utf8('the vault key of Ada');
  const aad = utf8('vault:01');

  it('round-trips, with and without AAD, and has the documented layout', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    expect(keyPair.publicKey.length).toBe(sizes[suite].publicKey);
    expect(keyPair.secretKey.length).toBe(32);
    const sealed = await sealEnvelope(keyPair, message, { aad });
    expect(await openEnvelope(keyPair, sealed, { aad })).toEqual(message);
    expect(sealed.length).toBe(8 + 16 + sizes[suite].enc + message.length + 16);
    expect(sealed[0]).toBe(1);
    expect(sealed[1]).toBe(1);
    expect(toHex(sealed.subarray(2, 8))).toBe(suite === 'X-Wing' ? '647a00010002' : '002000010002');
    expect(sealed.subarray(8, 24)).toEqual(keyPair.keyId);
    const info = inspectEnvelope(sealed);
    expect(info).toMatchObject({ version: 1, type: 'single', suite });
    expect(info.recipientKeyIds).toEqual([keyPair.keyId]);

    const empty = await sealEnvelope(keyPair, new Uint8Array(0));
    expect(await openEnvelope(keyPair, empty)).toEqual(new Uint8Array(0));
  });

  it('round-trips 1 MiB', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const big = randomBytes(1 << 20);
    expect(await openEnvelope(keyPair, await sealEnvelope(keyPair, big))).toEqual(big);
  });

  it('refuses a wrong key, a key of the other suite and a different AAD with decryption-failed', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const sealed = await sealEnvelope(keyPair, message, { aad });
    const stranger = await generateEnvelopeKeyPair(suite);
    expect((await failure(openEnvelope(stranger, sealed, { aad }))).code).toBe('decryption-failed');
    // The stranger's secret key with the right public key (so the key id matches): the KEM fails.
    const mixed = { ...keyPair, secretKey: stranger.secretKey };
    expect((await failure(openEnvelope(mixed, sealed, { aad }))).code).toBe('decryption-failed');
    const other = await generateEnvelopeKeyPair(suite === 'X-Wing' ? 'DHKEM-X25519' : 'X-Wing');
    expect((await failure(openEnvelope(other, sealed, { aad }))).code).toBe('decryption-failed');
    expect((await failure(openEnvelope(keyPair, sealed, { aad: utf8('vault:02') }))).code).toBe(
      'decryption-failed',
    );
    expect((await failure(openEnvelope(keyPair, sealed))).code).toBe('decryption-failed');
  });

  it('fails on every flipped header byte and on flipped enc and ciphertext bytes', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const sealed = await sealEnvelope(keyPair, message, { aad });
    const headerAndEnc = 24 + sizes[suite].enc;
    const positions = [
      ...Array.from({ length: 24 }, (_, i) => i),
      24,
      24 + sizes[suite].enc - 1,
      headerAndEnc,
      sealed.length - 17,
      sealed.length - 1,
    ];
    for (const position of positions) {
      const error = await failure(openEnvelope(keyPair, flipBit(sealed, position), { aad }));
      // Version, type and suite bytes → unsupported/malformed; everything else → decryption-failed.
      if (position >= 8) expect(error.code, `byte ${position}`).toBe('decryption-failed');
      else expect(['unsupported-algorithm', 'malformed-input', 'decryption-failed']).toContain(error.code);
    }
  });

  it('reports truncation as malformed-input (inside the header) or decryption-failed (inside the ciphertext)', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const sealed = await sealEnvelope(keyPair, message);
    const headerAndEnc = 24 + sizes[suite].enc;
    for (const length of [0, 1, 7, 8, 23, 24, headerAndEnc - 1, headerAndEnc, headerAndEnc + 15]) {
      expect(
        (await failure(openEnvelope(keyPair, sealed.subarray(0, length)))).code,
        `length ${length}`,
      ).toBe('malformed-input');
    }
    for (const length of [headerAndEnc + 16, sealed.length - 1]) {
      expect(
        (await failure(openEnvelope(keyPair, sealed.subarray(0, length)))).code,
        `length ${length}`,
      ).toBe('decryption-failed');
    }
  });

  it('rejects an unknown version, type or suite with unsupported-algorithm', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const sealed = await sealEnvelope(keyPair, message);
    const patched = (offset: number, ...values: number[]) => {
      const copy = sealed.slice();
      copy.set(values, offset);
      return copy;
    };
    for (const bad of [
      patched(0, 2),
      patched(0, 0),
      patched(1, 3),
      patched(2, 0x00, 0x10),
      patched(4, 0, 3),
      patched(6, 0, 1),
    ]) {
      expect((await failure(openEnvelope(keyPair, bad))).code).toBe('unsupported-algorithm');
    }
  });

  it('rejects public and secret keys of the wrong length with invalid-key', async () => {
    const keyPair = await generateEnvelopeKeyPair(suite);
    const short = { suite, publicKey: keyPair.publicKey.subarray(1) };
    expect((await failure(sealEnvelope(short, message))).code).toBe('invalid-key');
    const sealed = await sealEnvelope(keyPair, message);
    expect((await failure(openEnvelope({ ...keyPair, secretKey: new Uint8Array(31) }, sealed))).code).toBe(
      'invalid-key',
    );
  });

  it('derives the same key pair from the same ikm, and a different one from different ikm', async () => {
    const ikm = randomBytes(32);
    const a = await deriveEnvelopeKeyPair(suite, ikm);
    const b = await deriveEnvelopeKeyPair(suite, ikm.slice());
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.keyId).toEqual(envelopeKeyId(suite, a.publicKey));
    expect((await deriveEnvelopeKeyPair(suite, randomBytes(32))).publicKey).not.toEqual(a.publicKey);
  });
});

describe.each(suites)('multi-recipient envelope, %s', (suite) => {
  const message = utf8('shared vault data key material');
  const recipientsOf = (pairs: EnvelopeKeyPair[]) =>
    pairs.map(({ suite, publicKey }) => ({ suite, publicKey }));

  it('lets each of 3 recipients open it, and no one else', async () => {
    const pairs = await Promise.all([1, 2, 3].map(() => generateEnvelopeKeyPair(suite)));
    const sealed = await sealMultiRecipientEnvelope(recipientsOf(pairs), message, { aad: utf8('ctx') });
    for (const pair of pairs) expect(await openEnvelope(pair, sealed, { aad: utf8('ctx') })).toEqual(message);
    const info = inspectEnvelope(sealed);
    expect(info.type).toBe('multi');
    expect(info.recipientKeyIds).toEqual(pairs.map((pair) => pair.keyId));
    const outsider = await generateEnvelopeKeyPair(suite);
    expect((await failure(openEnvelope(outsider, sealed, { aad: utf8('ctx') }))).code).toBe(
      'decryption-failed',
    );
    expect((await failure(openEnvelope(pairs[0] as EnvelopeKeyPair, sealed))).code).toBe('decryption-failed');
  });

  it('a recipient removed (re-sealed without them) cannot open the new envelope', async () => {
    const pairs = await Promise.all([1, 2, 3].map(() => generateEnvelopeKeyPair(suite)));
    const resealed = await sealMultiRecipientEnvelope(recipientsOf(pairs.slice(0, 2)), message);
    expect(await openEnvelope(pairs[1] as EnvelopeKeyPair, resealed)).toEqual(message);
    expect((await failure(openEnvelope(pairs[2] as EnvelopeKeyPair, resealed))).code).toBe(
      'decryption-failed',
    );
  });

  it('binds every header byte: flipping any of them, or a payload byte, fails for every recipient', async () => {
    const pairs = await Promise.all([1, 2].map(() => generateEnvelopeKeyPair(suite)));
    const sealed = await sealMultiRecipientEnvelope(recipientsOf(pairs), message);
    const entry = 16 + sizes[suite].enc + 48;
    const headerLength = 9 + 2 * entry;
    // Every byte of the header except the bulk of the enc values (sampled at both ends) is flipped.
    const positions = new Set<number>();
    for (let i = 0; i < 9; i++) positions.add(i);
    for (const base of [9, 9 + entry]) {
      for (let i = 0; i < 18; i++) positions.add(base + i);
      for (let i = entry - 50; i < entry; i++) positions.add(base + i);
    }
    for (const position of [headerLength, headerLength + 12, sealed.length - 1]) positions.add(position);
    for (const position of positions) {
      for (const pair of pairs) {
        await failure(openEnvelope(pair, flipBit(sealed, position)));
      }
    }
  });

  it('detects truncation and an altered recipient count', async () => {
    const pairs = await Promise.all([1, 2].map(() => generateEnvelopeKeyPair(suite)));
    const sealed = await sealMultiRecipientEnvelope(recipientsOf(pairs), message);
    const headerLength = 9 + 2 * (16 + sizes[suite].enc + 48);
    for (const length of [8, 9, 30, headerLength - 1, headerLength + 27]) {
      expect(
        (await failure(openEnvelope(pairs[0] as EnvelopeKeyPair, sealed.subarray(0, length)))).code,
      ).toBe('malformed-input');
    }
    expect(
      (await failure(openEnvelope(pairs[0] as EnvelopeKeyPair, sealed.subarray(0, sealed.length - 1)))).code,
    ).toBe('decryption-failed');
    const zero = sealed.slice();
    zero[8] = 0;
    expect((await failure(openEnvelope(pairs[0] as EnvelopeKeyPair, zero))).code).toBe('malformed-input');
  });

  it('validates the recipient list', async () => {
    const pair = await generateEnvelopeKeyPair(suite);
    expect((await failure(sealMultiRecipientEnvelope([], message))).code).toBe('invalid-argument');
    expect((await failure(sealMultiRecipientEnvelope([pair, pair], message))).code).toBe('invalid-argument');
    const other = await generateEnvelopeKeyPair(suite === 'X-Wing' ? 'DHKEM-X25519' : 'X-Wing');
    expect((await failure(sealMultiRecipientEnvelope([pair, other], message))).code).toBe('invalid-argument');
  });
});

describe('recipient keys given anew for each envelope', () => {
  it.each(suites)(
    'seals to the key the bytes name, whether or not the array is new or was changed (%s)',
    async (suite) => {
      const [a, b] = [await generateEnvelopeKeyPair(suite), await generateEnvelopeKeyPair(suite)];
      const recipients = [a, b, a, b, a].map((pair) => ({ pair, publicKey: pair.publicKey.slice() }));
      for (const { pair, publicKey } of recipients) {
        const sealed = await sealEnvelope({ suite, publicKey }, utf8('to you'));
        expect(await openEnvelope(pair, sealed)).toEqual(utf8('to you'));
      }
      // One array whose bytes change from one key to the other between seals.
      const shifting = a.publicKey.slice();
      await sealEnvelope({ suite, publicKey: shifting }, utf8('first'));
      shifting.set(b.publicKey);
      const sealed = await sealEnvelope({ suite, publicKey: shifting }, utf8('second'));
      expect(await openEnvelope(b, sealed)).toEqual(utf8('second'));
      expect((await failure(openEnvelope(a, sealed))).code).toBe('decryption-failed');
    },
  );
});

describe('envelope input checks', () => {
  it('a public key the KEM refuses is invalid-key, with either X-Wing backend and with DHKEM', async () => {
    const { publicKey } = await generateEnvelopeKeyPair('X-Wing');
    const badMlKem = publicKey.slice().fill(0xff, 0, 1184);
    const zeroX25519 = publicKey.slice().fill(0, 1184);
    for (const backend of ['native', 'js'] as const) {
      for (const bad of [badMlKem, zeroX25519]) {
        expect(
          (await failure(sealEnvelope({ suite: 'X-Wing', publicKey: bad }, utf8('x'), { backend }))).code,
        ).toBe('invalid-key');
      }
    }
    const zero = { suite: 'DHKEM-X25519' as const, publicKey: new Uint8Array(32) };
    expect((await failure(sealEnvelope(zero, utf8('x')))).code).toBe('invalid-key');
  });

  it('an X-Wing enc whose X25519 part is a low-order point fails to open with decryption-failed', async () => {
    const pair = await generateEnvelopeKeyPair('X-Wing');
    const sealed = await sealEnvelope(pair, utf8('x'));
    const lowOrder = sealed.slice();
    lowOrder.fill(0, 24 + 1088, 24 + 1120);
    for (const backend of ['native', 'js'] as const) {
      expect((await failure(openEnvelope(pair, lowOrder, { backend }))).code).toBe('decryption-failed');
    }
  });

  it('rejects an unknown suite name with unsupported-algorithm', async () => {
    const error = await failure(generateEnvelopeKeyPair('Kyber-512' as EnvelopeSuiteName));
    expect(error.code).toBe('unsupported-algorithm');
  });

  it('garbage input is malformed-input or unsupported-algorithm, never a crash', async () => {
    const pair = await generateEnvelopeKeyPair('DHKEM-X25519');
    for (let i = 0; i < 50; i++) {
      const garbage = randomBytes(i * 7);
      if (garbage.length > 0) garbage[0] = 1;
      const error = await failure(openEnvelope(pair, garbage));
      expect(['malformed-input', 'unsupported-algorithm', 'decryption-failed']).toContain(error.code);
    }
  });
});

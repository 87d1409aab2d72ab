import * as bbs from '@digitalbazaar/bbs-signatures';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  deriveKeyEncryptionKey,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
} from '../src/index.js';
import { utf8 } from './helpers.js';

const CIPHERSUITE = 'BLS12-381-SHA-256';

function store() {
  return new LocalKeyStore({
    kek: deriveKeyEncryptionKey(randomBytes(32)),
    repository: new MemoryKeyRepository(),
  });
}

const input = { header: utf8('bbs-2023 header'), messages: [utf8('first'), utf8('second'), utf8('third')] };

describe('LocalKeyStore.signMessages (BBS)', () => {
  it('holds BLS12-381-G2 keys and signs a header and several messages with BBS-BLS12-381-SHA-256', async () => {
    const keys = store();
    const key = await keys.createKey({ algorithm: 'BLS12-381-G2', purpose: 'issuer:bbs' });
    expect(key.publicKey.length).toBe(96);
    const signature = await keys.signMessages(key.id, input);
    expect(signature.length).toBe(80);
    const check = (messages: Uint8Array[], header = input.header) =>
      bbs.verifySignature({
        publicKey: key.publicKey,
        signature,
        header,
        messages,
        ciphersuite: CIPHERSUITE,
      });
    expect(await check([...input.messages])).toBe(true);
    expect(
      await check([input.messages[0] as Uint8Array, utf8('changed'), input.messages[2] as Uint8Array]),
    ).toBe(false);
    expect(await check([...input.messages], utf8('another header'))).toBe(false);
    // BBS signing is deterministic: the same input gives the same signature.
    expect(await keys.signMessages(key.id, input)).toEqual(signature);
  });

  it('refuses keys of other algorithms with unsupported-algorithm, and retired keys', async () => {
    const keys = store();
    for (const algorithm of ['Ed25519', 'P-256', 'ML-DSA-65'] as const) {
      const key = await keys.createKey({ algorithm, purpose: `issuer:${algorithm}` });
      const refusal = await keys.signMessages(key.id, input).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(CryptoError);
      expect(refusal).toMatchObject({ code: 'unsupported-algorithm' });
    }
    const bls = await keys.createKey({ algorithm: 'BLS12-381-G2', purpose: 'retiring' });
    await keys.retireKey(bls.id);
    await expect(keys.signMessages(bls.id, input)).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('checks its input', async () => {
    const keys = store();
    const key = await keys.createKey({ algorithm: 'BLS12-381-G2', purpose: 'p' });
    for (const bad of [
      { header: 'text', messages: [] },
      { header: input.header, messages: 'message' },
      { header: input.header, messages: ['not bytes'] },
      null,
    ]) {
      await expect(keys.signMessages(key.id, bad as never)).rejects.toMatchObject({
        code: 'invalid-argument',
      });
    }
    // A single-message BLS signature is still available (the minimal-signature-size scheme), 48 bytes.
    expect((await keys.sign(key.id, utf8('one message'))).length).toBe(48);
  });
});

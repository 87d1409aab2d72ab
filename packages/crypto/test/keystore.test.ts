import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  deriveKeyEncryptionKey,
  type KeyRepository,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
  type StoredKey,
  signatureScheme,
} from '../src/index.js';
import { flipBit, utf8 } from './helpers.js';

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return () => {
    now += 1000;
    return new Date(now);
  };
}

function store(repository: KeyRepository = new MemoryKeyRepository(), master = randomBytes(32)) {
  return new LocalKeyStore({ kek: deriveKeyEncryptionKey(master), repository, now: clock() });
}

/** Replaces one row in the repository with `edit(row)`. */
async function tamper(repository: KeyRepository, id: string, edit: (row: StoredKey) => StoredKey) {
  const row = (await repository.get(id)) as StoredKey;
  await repository.put(edit(row));
}

describe('LocalKeyStore', () => {
  it('creates a key, signs with it, and its signature verifies with the public key outside the store', async () => {
    const keys = store();
    const key = await keys.createKey({ algorithm: 'Ed25519', purpose: 'ledger-checkpoint' });
    expect(key).toMatchObject({
      algorithm: 'Ed25519',
      purpose: 'ledger-checkpoint',
      status: 'active',
      retiredAt: null,
    });
    expect(key.id).toMatch(/^kid_[0-9a-f]{32}$/);
    expect(key.createdAt).toBe('2026-01-01T00:00:01.000Z');
    const message = utf8('checkpoint 42');
    const signature = await keys.sign(key.id, message);
    expect(await signatureScheme('Ed25519').verify(key.publicKey, message, signature)).toBe(true);
    expect(await keys.verify(key.id, message, signature)).toBe(true);
    expect(await keys.verify(key.id, utf8('checkpoint 43'), signature)).toBe(false);
    expect(await keys.getPublicKey(key.id)).toEqual(key.publicKey);
  });

  it('keeps P-521 keys: sign returns a 132-byte ES512 signature the noble backend verifies', async () => {
    const keys = store();
    const key = await keys.createKey({ algorithm: 'P-521', purpose: 'vc-jwt' });
    expect(key.publicKey).toHaveLength(67);
    const message = utf8('credential');
    const signature = await keys.sign(key.id, message);
    expect(signature).toHaveLength(132);
    const noble = signatureScheme('P-521', 'noble');
    expect(await noble.verify(key.publicKey, message, signature)).toBe(true);
    expect(await noble.verify(key.publicKey, message, flipBit(signature, 70))).toBe(false);
  });

  it('never stores the secret key in the clear', async () => {
    const repository = new MemoryKeyRepository();
    const keys = store(repository);
    const key = await keys.createKey({ algorithm: 'Ed25519', purpose: 'p' });
    const row = (await repository.get(key.id)) as StoredKey;
    expect(row.wrappedSecretKey.length).toBe(12 + 32 + 16);
    expect(Object.keys(row).sort()).toEqual(
      [
        'algorithm',
        'createdAt',
        'id',
        'publicKey',
        'purpose',
        'retiredAt',
        'status',
        'wrappedSecretKey',
      ].sort(),
    );
  });

  it('rotates: a new active key for the purpose, the old one retired, still verifying but not signing', async () => {
    const keys = store();
    const first = await keys.createKey({ algorithm: 'Ed25519', purpose: 'issuer' });
    const message = utf8('credential');
    const oldSignature = await keys.sign(first.id, message);
    const second = await keys.rotateKey('issuer');
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ algorithm: 'Ed25519', status: 'active' });
    expect((await keys.activeKey('issuer'))?.id).toBe(second.id);
    const retired = await keys.getKey(first.id);
    expect(retired.status).toBe('retired');
    expect(retired.retiredAt).not.toBeNull();
    expect(await keys.verify(first.id, message, oldSignature)).toBe(true);
    await expect(keys.sign(first.id, message)).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(await keys.verify(second.id, message, await keys.sign(second.id, message))).toBe(true);
  });

  it('stages a rotation with keepCurrent: both keys stay active until the caller retires the old one', async () => {
    const keys = store();
    const first = await keys.createKey({ algorithm: 'Ed25519', purpose: 'issuer' });
    const second = await keys.rotateKey('issuer', undefined, { keepCurrent: true });
    expect((await keys.listKeys({ purpose: 'issuer', status: 'active' })).map((key) => key.id)).toEqual([
      first.id,
      second.id,
    ]);
    expect((await keys.activeKey('issuer'))?.id).toBe(second.id);
    expect(await keys.verify(first.id, utf8('m'), await keys.sign(first.id, utf8('m')))).toBe(true);
    await keys.retireKey(first.id);
    await expect(keys.sign(first.id, utf8('m'))).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('rotates to another algorithm when asked, and lists by purpose and status', async () => {
    const keys = store();
    await keys.createKey({ algorithm: 'Ed25519', purpose: 'a' });
    await keys.createKey({ algorithm: 'P-256', purpose: 'b' });
    const rotated = await keys.rotateKey('a', 'ML-DSA-44');
    expect(rotated.algorithm).toBe('ML-DSA-44');
    expect(await keys.verify(rotated.id, utf8('m'), await keys.sign(rotated.id, utf8('m')))).toBe(true);
    expect((await keys.listKeys()).map((key) => key.purpose)).toEqual(['a', 'b', 'a']);
    expect(await keys.listKeys({ purpose: 'a', status: 'retired' })).toHaveLength(1);
    expect(await keys.listKeys({ status: 'active' })).toHaveLength(2);
  });

  it('retires a key (idempotently), and refuses a second active key for a purpose', async () => {
    const keys = store();
    const key = await keys.createKey({ algorithm: 'Ed25519', purpose: 'webhooks' });
    await expect(keys.createKey({ algorithm: 'Ed25519', purpose: 'webhooks' })).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    await keys.sign(key.id, utf8('before'));
    const retired = await keys.retireKey(key.id);
    await expect(keys.sign(key.id, utf8('after'))).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(retired.status).toBe('retired');
    expect((await keys.retireKey(key.id)).retiredAt).toBe(retired.retiredAt);
    expect(await keys.activeKey('webhooks')).toBeUndefined();
    await expect(keys.rotateKey('webhooks')).rejects.toMatchObject({ code: 'invalid-argument' });
    expect((await keys.createKey({ algorithm: 'Ed25519', purpose: 'webhooks' })).status).toBe('active');
  });

  it('concurrent first uses of a purpose create one key; concurrent rotations leave one key each', async () => {
    const keys = store();
    const created = await Promise.allSettled(
      Array.from({ length: 8 }, () => keys.createKey({ algorithm: 'Ed25519', purpose: 'issuer' })),
    );
    expect(created.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(await keys.listKeys({ purpose: 'issuer' })).toHaveLength(1);

    await Promise.all(Array.from({ length: 4 }, () => keys.rotateKey('issuer')));
    const after = await keys.listKeys({ purpose: 'issuer' });
    expect(after).toHaveLength(5);
    expect(after.filter((key) => key.status === 'active')).toHaveLength(1);
  });

  it('a tampered wrapped key, a swapped record or edited metadata fail with decryption-failed', async () => {
    const repository = new MemoryKeyRepository();
    const keys = store(repository);
    const a = await keys.createKey({ algorithm: 'Ed25519', purpose: 'a' });
    const b = await keys.createKey({ algorithm: 'Ed25519', purpose: 'b' });
    // Signed once first: the key kept ready to sign must not outlive a change to its row.
    await keys.sign(a.id, utf8('m'));
    const original = (await repository.get(a.id)) as StoredKey;
    const rowB = (await repository.get(b.id)) as StoredKey;
    const edits: [string, (row: StoredKey) => StoredKey][] = [
      ['flipped wrapped byte', (row) => ({ ...row, wrappedSecretKey: flipBit(row.wrappedSecretKey, 20) })],
      [
        'truncated wrapped key',
        (row) => ({ ...row, wrappedSecretKey: row.wrappedSecretKey.subarray(0, 40) }),
      ],
      ['wrapped key of another record', (row) => ({ ...row, wrappedSecretKey: rowB.wrappedSecretKey })],
      ['another record under this id', () => ({ ...rowB, id: a.id })],
      ['changed public key', (row) => ({ ...row, publicKey: rowB.publicKey })],
      ['changed algorithm', (row) => ({ ...row, algorithm: 'P-256' })],
      ['changed purpose', (row) => ({ ...row, purpose: 'b' })],
    ];
    for (const [name, edit] of edits) {
      await tamper(repository, a.id, () => edit(original));
      for (const operation of [
        keys.sign(a.id, utf8('m')),
        keys.getKey(a.id),
        keys.verify(a.id, utf8('m'), new Uint8Array(64)),
      ]) {
        const error = await operation.catch((caught: unknown) => caught);
        expect(error, name).toBeInstanceOf(CryptoError);
        expect((error as CryptoError).code, name).toBe('decryption-failed');
      }
    }
    await repository.put(original);
    expect((await keys.getKey(a.id)).id).toBe(a.id);
  });

  it('a store opened with a different master key cannot use the keys', async () => {
    const repository = new MemoryKeyRepository();
    const master = randomBytes(32);
    const key = await store(repository, master).createKey({ algorithm: 'Ed25519', purpose: 'p' });
    const wrong = store(repository, randomBytes(32));
    await expect(wrong.sign(key.id, utf8('m'))).rejects.toMatchObject({ code: 'decryption-failed' });
    await expect(wrong.listKeys()).rejects.toMatchObject({ code: 'decryption-failed' });
    // The same master secret (a restarted server) works.
    expect(await store(repository, master.slice()).sign(key.id, utf8('m'))).toHaveLength(64);
  });

  it('checks its inputs', async () => {
    const keys = store();
    await expect(keys.getKey('kid_missing')).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(keys.createKey({ algorithm: 'RSA' as never, purpose: 'p' })).rejects.toMatchObject({
      code: 'unsupported-algorithm',
    });
    await expect(keys.createKey({ algorithm: 'Ed25519', purpose: '' })).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    expect(() => deriveKeyEncryptionKey(randomBytes(16))).toThrowError(
      expect.objectContaining({ code: 'invalid-key' }),
    );
    expect(
      () => new LocalKeyStore({ kek: randomBytes(16), repository: new MemoryKeyRepository() }),
    ).toThrowError(expect.objectContaining({ code: 'invalid-key' }));
  });

  it('derives the KEK with HKDF-SHA-256, info "PersonaChain keystore KEK v1"', async () => {
    const master = randomBytes(32);
    const { hkdfSha256 } = await import('../src/index.js');
    expect(deriveKeyEncryptionKey(master)).toEqual(
      hkdfSha256(master, undefined, utf8('PersonaChain keystore KEK v1'), 32),
    );
    expect(deriveKeyEncryptionKey(master)).not.toEqual(deriveKeyEncryptionKey(randomBytes(32)));
  });
});

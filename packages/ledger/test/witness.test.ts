import { describe, expect, it } from 'vitest';
import {
  appendLeafHashes,
  checkAddCheckpoint,
  cosignatureSigner,
  cosignatureVerifier,
  EMPTY_ROOT,
  formatAddCheckpoint,
  formatCheckpoint,
  formatTlogProof,
  generateNoteKey,
  LedgerError,
  type NoteVerifier,
  noteSigner,
  noteVerifier,
  openNote,
  parseAddCheckpoint,
  parseTlogProof,
  proveConsistency,
  proveInclusion,
  signatureLines,
  signNote,
  verifyTlogProof,
} from '../src/index.js';
import { MemoryTiles } from './memory-tiles.js';
import { flipFirstBit, leafHashOf } from './reference.js';

// The published Go sumdb test key (V7); never a production key.
const LOG_SKEY = 'PRIVATE+KEY+localhost.localdev/sumdb+00000c67+AXu6+oaVaOYuQOFrf1V59JK1owcFlJcHwwXHDfDGxSPk';
const LOG_VKEY = 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6';
const ORIGIN = 'example.com/trust-log';
const WITNESS_SEED = new Uint8Array(32).fill(0x42);
const WITNESS_VKEY = 'witness.example/w1+f1ed8c47+BCFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS';

/** A tiled log of `n` leaves and a signed checkpoint for any of its sizes. */
async function makeLog(n: number) {
  const store = new MemoryTiles();
  const leaves = Array.from({ length: n }, (_, i) => leafHashOf(Uint8Array.of(i & 0xff, i >> 8)));
  const roots = [EMPTY_ROOT];
  for (const leaf of leaves) {
    const result = await appendLeafHashes(roots.length - 1, [leaf], store);
    store.store(result.tiles);
    roots.push(result.root);
  }
  const signer = await noteSigner(LOG_SKEY);
  const checkpoint = (size: number, root = roots[size] as Uint8Array) =>
    signNote(formatCheckpoint({ origin: ORIGIN, size, root, extensions: [] }), [signer]);
  return { store, leaves, roots, checkpoint };
}

describe('tlog-witness add-checkpoint body', () => {
  it('formats and parses the request body', async () => {
    const { store, checkpoint } = await makeLog(20);
    const proof = await proveConsistency(7, 20, store);
    const note = await checkpoint(20);
    const body = formatAddCheckpoint({ oldSize: 7, proof, note });
    expect(body.startsWith(`old 7\n${Buffer.from(proof[0] as Uint8Array).toString('base64')}\n`)).toBe(true);
    expect(body.endsWith(`\n\n${note}`)).toBe(true);
    expect(parseAddCheckpoint(body)).toEqual({ oldSize: 7, proof, note });
    expect(parseAddCheckpoint(`old 0\n\n${note}`)).toEqual({ oldSize: 0, proof: [], note });
  });

  it('rejects malformed bodies', async () => {
    const { checkpoint } = await makeLog(2);
    const note = await checkpoint(2);
    const hash = Buffer.alloc(32).toString('base64');
    for (const bad of [
      '',
      note,
      `old 07\n\n${note}`,
      `old -1\n\n${note}`,
      `Old 1\n\n${note}`,
      `old 1\n${hash}\n`,
      `old 1\n${hash}`,
      `old 1\nAAAA\n\n${note}`,
      `old 1\n${hash}x\n\n${note}`,
      `old 1\n${`${hash}\n`.repeat(64)}\n${note}`,
    ]) {
      expect(() => parseAddCheckpoint(bad), JSON.stringify(bad.slice(0, 40))).toThrow(LedgerError);
    }
    expect(() =>
      formatAddCheckpoint({ oldSize: 1, proof: Array(64).fill(new Uint8Array(32)), note }),
    ).toThrow(LedgerError);
  });
});

describe('checkAddCheckpoint', () => {
  const logVerifiers: NoteVerifier[] = [noteVerifier(LOG_VKEY)];

  it('accepts the first checkpoint (old 0, empty proof) and a consistent next one', async () => {
    const { store, roots, checkpoint } = await makeLog(20);
    const first = await checkAddCheckpoint(
      undefined,
      { oldSize: 0, proof: [], note: await checkpoint(9) },
      logVerifiers,
    );
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.checkpoint.size).toBe(9);
    const state = { size: first.checkpoint.size, root: first.checkpoint.root };
    const proof = await proveConsistency(9, 20, store);
    const next = await checkAddCheckpoint(
      state,
      { oldSize: 9, proof, note: await checkpoint(20) },
      logVerifiers,
    );
    expect(next).toMatchObject({ ok: true, checkpoint: { origin: ORIGIN, size: 20, root: roots[20] } });
    // Same size, same root, empty proof: accepted again.
    const same = await checkAddCheckpoint(
      state,
      { oldSize: 9, proof: [], note: await checkpoint(9) },
      logVerifiers,
    );
    expect(same.ok).toBe(true);
  });

  it('answers 404 for an unknown origin and 403 without a trusted signature', async () => {
    const { checkpoint } = await makeLog(3);
    const note = await checkpoint(3);
    expect(await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note }, undefined)).toMatchObject({
      ok: false,
      status: 404,
    });
    const stranger = noteVerifier((await generateNoteKey('localhost.localdev/sumdb')).verifierKey);
    expect(await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note }, [stranger])).toMatchObject({
      ok: false,
      status: 403,
    });
    const tampered = note.replace('\n3\n', '\n4\n');
    expect(
      await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note: tampered }, logVerifiers),
    ).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it('answers 400 for old > size and for a malformed checkpoint', async () => {
    const { checkpoint } = await makeLog(3);
    const state = { size: 3, root: new Uint8Array(32) };
    expect(
      await checkAddCheckpoint(state, { oldSize: 3, proof: [], note: await checkpoint(2) }, logVerifiers),
    ).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(
      await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note: 'garbage' }, logVerifiers),
    ).toMatchObject({
      ok: false,
      status: 400,
    });
    const signer = await noteSigner(LOG_SKEY);
    const notACheckpoint = await signNote('hello\n', [signer]);
    expect(
      await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note: notACheckpoint }, logVerifiers),
    ).toMatchObject({
      ok: false,
      status: 400,
    });
  });

  it('answers 409 with the current size when old is not the latest size', async () => {
    const { store, roots, checkpoint } = await makeLog(20);
    const state = { size: 9, root: roots[9] as Uint8Array };
    const proof = await proveConsistency(5, 20, store);
    const decision = await checkAddCheckpoint(
      state,
      { oldSize: 5, proof, note: await checkpoint(20) },
      logVerifiers,
    );
    expect(decision).toEqual({
      ok: false,
      status: 409,
      reason: expect.any(String),
      body: '9\n',
      contentType: 'text/x.tlog.size',
    });
    expect(
      await checkAddCheckpoint(undefined, { oldSize: 5, proof, note: await checkpoint(20) }, logVerifiers),
    ).toMatchObject({
      status: 409,
      body: '0\n',
    });
  });

  it('answers 422 for bad proofs and inconsistent roots', async () => {
    const { store, roots, checkpoint } = await makeLog(20);
    const state = { size: 9, root: roots[9] as Uint8Array };
    const proof = await proveConsistency(9, 20, store);
    const reject = async (s: typeof state | undefined, oldSize: number, p: Uint8Array[], note: string) =>
      expect(await checkAddCheckpoint(s, { oldSize, proof: p, note }, logVerifiers)).toMatchObject({
        ok: false,
        status: 422,
      });
    // Bad proof: one bit flipped.
    const flipped = proof.map((h, i) => (i === 0 ? flipFirstBit(h) : h));
    await reject(state, 9, flipped, await checkpoint(20));
    // A checkpoint that forks from the witnessed state.
    await reject(state, 9, proof, await checkpoint(20, roots[19]));
    // old 0 with a non-empty proof.
    await reject(undefined, 0, proof, await checkpoint(20));
    // A size-0 checkpoint whose root is not the empty hash.
    await reject(undefined, 0, [], await checkpoint(0, roots[1]));
    // Same size, different root.
    await reject(state, 9, [], await checkpoint(9, roots[8]));
    // Same size and root but a proof anyway.
    await reject(state, 9, proof.slice(0, 1), await checkpoint(9));
  });

  it('accepts the empty checkpoint with the empty root', async () => {
    const { checkpoint } = await makeLog(1);
    expect(
      await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note: await checkpoint(0) }, logVerifiers),
    ).toMatchObject({
      ok: true,
    });
  });

  it('produces cosignature lines a client can append to the checkpoint', async () => {
    const { checkpoint } = await makeLog(4);
    const note = await checkpoint(4);
    const decision = await checkAddCheckpoint(undefined, { oldSize: 0, proof: [], note }, logVerifiers);
    if (!decision.ok) throw new Error('expected ok');
    const witness = await cosignatureSigner('witness.example/w1', WITNESS_SEED, () => 1700000000);
    const lines = await signatureLines(decision.text, [witness]);
    expect(lines).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/]{102}==\n$/);
    const opened = await openNote(note + lines, [cosignatureVerifier(WITNESS_VKEY)]);
    expect(opened.verified).toEqual([
      { name: 'witness.example/w1', keyId: 0xf1ed8c47, timestamp: 1700000000 },
    ]);
  });
});

describe('tlog-proof', () => {
  it('formats, parses and verifies an offline inclusion receipt', async () => {
    const { store, leaves, checkpoint } = await makeLog(12);
    const witness = await cosignatureSigner('witness.example/w1', WITNESS_SEED, () => 1700000000);
    const note = await checkpoint(12);
    const cosigned = note + (await signatureLines(note.slice(0, note.indexOf('\n\n') + 1), [witness]));
    const proof = await proveInclusion(5, 12, store);
    const text = formatTlogProof({ extra: Uint8Array.of(1, 2, 3), index: 5, proof, note: cosigned });
    expect(text.startsWith('c2sp.org/tlog-proof@v1\nextra AQID\nindex 5\n')).toBe(true);
    expect(parseTlogProof(text)).toEqual({ extra: Uint8Array.of(1, 2, 3), index: 5, proof, note: cosigned });
    const result = await verifyTlogProof(text, leaves[5] as Uint8Array, [
      noteVerifier(LOG_VKEY),
      cosignatureVerifier(WITNESS_VKEY),
    ]);
    expect(result.index).toBe(5);
    expect(result.checkpoint.size).toBe(12);
    expect(result.verified.map((v) => v.name)).toEqual(['localhost.localdev/sumdb', 'witness.example/w1']);
    await expect(
      verifyTlogProof(text, leaves[6] as Uint8Array, [noteVerifier(LOG_VKEY)]),
    ).rejects.toMatchObject({
      code: 'invalid-proof',
    });
    const plain = formatTlogProof({ index: 0, proof: await proveInclusion(0, 12, store), note });
    expect(parseTlogProof(plain).extra).toBeUndefined();
    expect((await verifyTlogProof(plain, leaves[0] as Uint8Array, [noteVerifier(LOG_VKEY)])).index).toBe(0);
  });

  it('rejects malformed receipts', async () => {
    const { checkpoint } = await makeLog(2);
    const note = await checkpoint(2);
    for (const bad of [
      `c2sp.org/tlog-proof@v2\nindex 0\n\n${note}`,
      `c2sp.org/tlog-proof@v1\n\n${note}`,
      `c2sp.org/tlog-proof@v1\nindex 01\n\n${note}`,
      `c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\n${note}`,
      `c2sp.org/tlog-proof@v1\nindex 0\n`,
      'c2sp.org/tlog-proof@v1\nindex 0\n\nnot a note\n',
    ]) {
      expect(() => parseTlogProof(bad), bad.slice(0, 40)).toThrow(LedgerError);
    }
  });
});

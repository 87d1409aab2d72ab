import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noteVerifier, openNote, parseCheckpoint, verifyInclusion } from '@personachain/ledger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyCommitment } from '../src/attestation/commitment.js';
import {
  ATTESTATION_LOG_FILE,
  AttestationLog,
  attestationLeafHash,
  checkpointVerifierKey,
} from '../src/attestation/log.js';
import { signAttestation } from '../src/attestation/payload.js';
import type { NodeSigner } from '../src/types.js';
import { testSigner } from './attestation-helpers.js';

const salt = new Uint8Array(16).fill(1);
let dir: string;
let signer: NodeSigner;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attlog-'));
  signer = await testSigner();
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const attest = (key: string, i: number) =>
  signAttestation(signer, {
    keyCommitment: keyCommitment(salt, key),
    deletedAt: 1_700_000_000_000 + i,
    reason: 'expired',
  });

describe('node attestation log', () => {
  it('survives a restart with the same tree, lookups and delivery state; the file is 0600', async () => {
    const log = await AttestationLog.open(dir);
    for (let i = 0; i < 5; i++) await log.append(await attest(`k${i % 2}`, i));
    await log.markDelivered(1);
    const before = await log.checkpoint(signer);
    await log.close();
    expect((await stat(join(dir, ATTESTATION_LOG_FILE))).mode & 0o777).toBe(0o600);

    const reopened = await AttestationLog.open(dir);
    expect(reopened.treeSize).toBe(5);
    expect(reopened.recoveredTornLine).toBe(false);
    expect(reopened.byKeyCommitment(keyCommitment(salt, 'k0')).map((a) => a.index)).toEqual([0, 2, 4]);
    expect(reopened.undelivered().map((a) => a.index)).toEqual([0, 2, 3, 4]);
    const after = await reopened.checkpoint(signer);
    expect(after.note).toBe(before.note);
    await reopened.close();
  });

  it('gives inclusion proofs that verify against its signed checkpoint', async () => {
    const log = await AttestationLog.open(dir);
    const added = [];
    for (let i = 0; i < 13; i++) added.push(await attest(`key-${i}`, i));
    for (const a of added) await log.append(a);
    const { entries, checkpoint } = await log.snapshot(keyCommitment(salt, 'key-9'), signer);
    expect(entries).toHaveLength(1);
    const { text } = await openNote(checkpoint, [noteVerifier(checkpointVerifierKey(signer.nodeId))]);
    const cp = parseCheckpoint(text);
    expect(cp.size).toBe(13);
    const entry = entries[0];
    if (!entry) throw new Error('missing entry');
    const proof = entry.inclusion.proof.map((p) => new Uint8Array(Buffer.from(p, 'base64')));
    verifyInclusion(9, cp.size, attestationLeafHash(added[9] as never), proof, cp.root);
    // The proof binds this exact attestation: another one does not verify at that index.
    expect(() =>
      verifyInclusion(9, cp.size, attestationLeafHash(added[8] as never), proof, cp.root),
    ).toThrow();
    // A checkpoint signed by another node's key is refused.
    const stranger = await testSigner();
    await expect(
      openNote(checkpoint, [noteVerifier(checkpointVerifierKey(stranger.nodeId))]),
    ).rejects.toThrow();
    await log.close();
  });

  it('drops a torn last line after a crash and keeps appending cleanly', async () => {
    const log = await AttestationLog.open(dir);
    await log.append(await attest('a', 1));
    await log.append(await attest('b', 2));
    await log.close();
    const path = join(dir, ATTESTATION_LOG_FILE);
    const intact = await readFile(path, 'utf8');
    await appendFile(path, '{"t":"attestation","a":{"keyCommitm');

    const recovered = await AttestationLog.open(dir);
    expect(recovered.recoveredTornLine).toBe(true);
    expect(recovered.treeSize).toBe(2);
    expect(await readFile(path, 'utf8')).toBe(intact);
    await recovered.append(await attest('c', 3));
    await recovered.close();
    const again = await AttestationLog.open(dir);
    expect(again.treeSize).toBe(3);
    expect(again.recoveredTornLine).toBe(false);
    await again.close();
  });

  it('refuses to open a log damaged before its last line', async () => {
    const log = await AttestationLog.open(dir);
    await log.append(await attest('a', 1));
    await log.append(await attest('b', 2));
    await log.close();
    const path = join(dir, ATTESTATION_LOG_FILE);
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[0] = lines[0]?.replace('"expired"', '"expunged"') ?? '';
    await writeFile(path, lines.join('\n'));
    await expect(AttestationLog.open(dir)).rejects.toThrow(/line 1 is damaged/);
  });

  it('keeps concurrent appends in one order on disk and in the tree', async () => {
    const log = await AttestationLog.open(dir);
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => attest(`c${i}`, i)));
    const indices = await Promise.all(all.map((a) => log.append(a)));
    expect([...indices].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await log.close();
    const reopened = await AttestationLog.open(dir);
    for (const [i, a] of all.entries()) expect(reopened.get(indices[i] as number)?.attestation).toEqual(a);
    await reopened.close();
  });
});

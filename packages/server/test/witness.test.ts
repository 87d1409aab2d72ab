import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cosignatureSigner,
  cosignatureVerifier,
  formatAddCheckpoint,
  generateNoteKey,
  noteSigner,
  openNote,
} from '@personachain/ledger';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { buildWitnessApp } from '../src/witness/app.js';
import { loadWitnessConfig } from '../src/witness/config.js';
import { WitnessStateStore } from '../src/witness/state.js';
import { removeDir, startTestWitness, TestLog, type TestWitness } from './witness-helpers.js';

// Project vectors V7 (a Go-signed checkpoint) and V8 (its Ed25519 cosignature), packages/ledger/test.
const V7_VKEY = 'localhost.localdev/sumdb+00000c67+AcTrnkbUA+TU4heY3hkjiSES/DSQniBqIeQ/YppAUtK6';
const V7_NOTE =
  'example.com/trust-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— localhost.localdev/sumdb AAAMZ9pXCvYz9p9Jl5GcnUwdmbZGABi4bPkMmMKG63PFv0QbtrGxt++h3cYu1u5wESxo/6Qo3ooemUUgW1YIOEyYHA0=\n';
const V8_VKEY = 'witness.example/w1+f1ed8c47+BCFS+NGbeR0kRTJC4V8uq2y3z/p7al7TAJeWDgaYgdsS';
const V8_LINE =
  '— witness.example/w1 8e2MRwAAAABkGFDL8S1q3rV55nCxPLdSlHtmyb7MyRTKTL3uO7PVNb1zQ0ths3k1qT+hs3Lu1tYM0D/PdD1nqDX87xwEotiSbb7fCw==\n';

const cosigned = async (note: string, body: string, vkey: string) =>
  openNote(note + body, [cosignatureVerifier(vkey)]);

describe('tlog-witness add-checkpoint', () => {
  let log: TestLog;
  let other: TestLog;
  let witness: TestWitness;
  const env = () => ({ PERSONA_WITNESS_LOGS: `${log.verifierKey},${other.verifierKey}` });

  beforeAll(async () => {
    log = await TestLog.create('log.test/a');
    other = await TestLog.create('log.test/b');
    witness = await startTestWitness(env());
  });
  afterAll(async () => {
    await witness.close();
    removeDir(witness.dataDir);
  });

  it('cosigns the V7 checkpoint with exactly the V8 line (origin=vkey, key file, fixed clock)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-witness-v8-'));
    const keyFile = join(dir, 'seed');
    writeFileSync(keyFile, `${'42'.repeat(32)}\n`, { mode: 0o600 });
    const v8 = await startTestWitness(
      {
        PERSONA_WITNESS_NAME: 'witness.example/w1',
        PERSONA_WITNESS_KEY_FILE: keyFile,
        PERSONA_WITNESS_LOGS: `example.com/trust-log=${V7_VKEY}`,
      },
      { dataDir: dir, now: () => 1679315147 },
    );
    try {
      expect(v8.verifierKey).toBe(V8_VKEY);
      const answer = await v8.post(formatAddCheckpoint({ oldSize: 0, proof: [], note: V7_NOTE }));
      expect(answer).toEqual({ status: 200, body: V8_LINE, type: 'text/plain; charset=utf-8' });
    } finally {
      await v8.close();
      removeDir(dir);
    }
  });

  it('200: cosigns from 0, then from the last cosigned size with a consistency proof', async () => {
    const first = await witness.post(await log.request(0, 5));
    expect(first.status).toBe(200);
    expect(first.type).toBe('text/plain; charset=utf-8');
    expect(first.body).toMatch(/^— witness\.test\/w1 [A-Za-z0-9+/]+=*\n$/);
    // keyID ‖ u64 timestamp ‖ 64-byte signature.
    const blob = Buffer.from(first.body.split(' ')[2] as string, 'base64');
    expect(blob.length).toBe(76);
    expect(blob.subarray(0, 4).toString('hex')).toBe(witness.verifierKey.split('+')[1]);
    expect(Math.abs(Number(blob.readBigUInt64BE(4)) - Date.now() / 1000)).toBeLessThan(60);
    const opened = await cosigned(await log.checkpoint(5), first.body, witness.verifierKey);
    expect(opened.verified).toEqual([expect.objectContaining({ name: 'witness.test/w1' })]);

    const second = await witness.post(await log.request(5, 13));
    expect(second.status).toBe(200);
    await cosigned(await log.checkpoint(13), second.body, witness.verifierKey);
    // The same checkpoint again, from its own size: cosigned again.
    expect((await witness.post(await log.request(13, 13))).status).toBe(200);
  });

  it('a cosignature does not verify for another checkpoint', async () => {
    const answer = await witness.post(await log.request(13, 14));
    expect(answer.status).toBe(200);
    await expect(cosigned(await log.checkpoint(15), answer.body, witness.verifierKey)).rejects.toThrow();
  });

  it('400: old size larger than the checkpoint, or a malformed body', async () => {
    const answer = await witness.post(
      formatAddCheckpoint({ oldSize: 20, proof: [], note: await log.checkpoint(14) }),
    );
    expect(answer.status).toBe(400);
    expect(answer.type).toBe('text/plain; charset=utf-8');
    expect(answer.body).toMatch(/larger than checkpoint size/);
    expect((await witness.post('old 14\nnot base64!\n\n')).status).toBe(400);
    expect((await witness.post('hello')).status).toBe(400);
    expect((await witness.post(`old 14\n\n${log.checkpointText(14)}`)).status).toBe(400);
  });

  it('403: no trusted signature, or a bad one', async () => {
    const stranger = await noteSigner((await generateNoteKey('log.test/a')).signerKey);
    const unsigned = await log.checkpoint(15, undefined, [stranger]);
    const notTrusted = await witness.post(
      formatAddCheckpoint({ oldSize: 14, proof: log.proof(14, 15), note: unsigned }),
    );
    expect(notTrusted.status).toBe(403);
    const good = await log.checkpoint(15);
    const sig = good.slice(good.lastIndexOf(' ') + 1, -1);
    const bytes = Buffer.from(sig, 'base64');
    bytes[10] = (bytes[10] as number) ^ 1;
    const tampered = good.replace(sig, bytes.toString('base64'));
    const badSignature = await witness.post(
      formatAddCheckpoint({ oldSize: 14, proof: log.proof(14, 15), note: tampered }),
    );
    expect(badSignature.status).toBe(403);
  });

  it('404: unknown origin', async () => {
    const unknown = await TestLog.create('log.test/unknown');
    const answer = await witness.post(await unknown.request(0, 3));
    expect(answer.status).toBe(404);
    expect(answer.type).toBe('text/plain; charset=utf-8');
  });

  it('409: old size is not the latest cosigned size; body is that size as text/x.tlog.size', async () => {
    const answer = await witness.post(await log.request(5, 15));
    expect(answer).toEqual({ status: 409, body: '14\n', type: 'text/x.tlog.size' });
    const fresh = await witness.post(await log.request(0, 15));
    expect(fresh).toEqual({ status: 409, body: '14\n', type: 'text/x.tlog.size' });
  });

  it('422: bad proof, a proof with old 0, same size with another root, a bad empty tree', async () => {
    const badProof = log.proof(14, 20).map((hash) => hash.map((byte) => byte ^ 1));
    const bad = await witness.post(
      formatAddCheckpoint({ oldSize: 14, proof: badProof, note: await log.checkpoint(20) }),
    );
    expect(bad.status).toBe(422);
    const missing = await witness.post(
      formatAddCheckpoint({ oldSize: 14, proof: [], note: await log.checkpoint(20) }),
    );
    expect(missing.status).toBe(422);
    const withProof = await witness.post(
      formatAddCheckpoint({ oldSize: 0, proof: log.proof(14, 20), note: await other.checkpoint(20) }),
    );
    expect(withProof.status).toBe(422);
    const forked = await witness.post(
      formatAddCheckpoint({
        oldSize: 14,
        proof: [],
        note: await log.checkpoint(14, new Uint8Array(32).fill(7)),
      }),
    );
    expect(forked.status).toBe(422);
    const emptyTree = await witness.post(
      formatAddCheckpoint({
        oldSize: 0,
        proof: [],
        note: await other.checkpoint(0, new Uint8Array(32).fill(7)),
      }),
    );
    expect(emptyTree.status).toBe(422);
    // None of those moved the state.
    expect((await witness.post(await log.request(0, 20))).body).toBe('14\n');
  });

  it('answers plain-text 404 for other routes and 413 for bodies over 64 KiB', async () => {
    const other = await fetch(`${witness.url}/checkpoint`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const large = await witness.post(`old 0\n\n${'a'.repeat(70_000)}`);
    expect(large.status).toBe(413);
    expect(large.type).toBe('text/plain; charset=utf-8');
  });

  it('reads the body whatever its Content-Type, or without one', async () => {
    const body = await log.request(14, 14);
    const json = await fetch(`${witness.url}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(json.status).toBe(200);
    const bare = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        `${witness.url}/add-checkpoint`,
        { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(bare).toBe(200);
  });

  it('a stale request never rolls the state back', async () => {
    // Cosigned up to 14; a request decided on an older state (old 5) is refused and changes nothing.
    expect((await witness.post(await log.request(5, 9))).body).toBe('14\n');
    expect((await witness.post(await log.request(0, 9))).status).toBe(409);
    expect((await witness.post(await log.request(14, 16))).status).toBe(200);
  });

  it('concurrent submissions from one size: exactly one wins, the others get its size', async () => {
    const bodies = await Promise.all(Array.from({ length: 12 }, (_, i) => log.request(16, 17 + i)));
    const answers = await Promise.all(bodies.map((body) => witness.post(body)));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    const winner = 17 + answers.findIndex((answer) => answer.status === 200);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer).toEqual({ status: 409, body: `${winner}\n`, type: 'text/x.tlog.size' });
    }
    expect((await witness.post(await log.request(0, 40))).body).toBe(`${winner}\n`);
  });

  it('keeps its state and key across a restart', async () => {
    const before = (await witness.post(await log.request(0, 40))).body;
    const { dataDir, verifierKey } = witness;
    await witness.close();
    witness = await startTestWitness(env(), { dataDir });
    expect(witness.verifierKey).toBe(verifierKey);
    expect((await witness.post(await log.request(0, 40))).body).toBe(before);
    const size = Number(before);
    const answer = await witness.post(await log.request(size, size + 3));
    expect(answer.status).toBe(200);
    await cosigned(await log.checkpoint(size + 3), answer.body, verifierKey);
  });

  it('generated the key file with mode 0600', () => {
    expect(statSync(join(witness.dataDir, 'witness.key')).mode & 0o777).toBe(0o600);
  });
});

describe('witness state store', () => {
  let dir: string;
  afterEach(() => removeDir(dir));

  it('compare-and-set refuses a write decided on a state that has changed', () => {
    dir = mkdtempSync(join(tmpdir(), 'persona-witness-state-'));
    const store = new WitnessStateStore(dir);
    const root = (byte: number) => new Uint8Array(32).fill(byte);
    expect(store.compareAndSet('o', undefined, { size: 5, root: root(1) }, 'n5')).toBe(true);
    expect(store.compareAndSet('o', undefined, { size: 3, root: root(2) }, 'n3')).toBe(false);
    expect(store.compareAndSet('o', { size: 5, root: root(1) }, { size: 9, root: root(3) }, 'n9')).toBe(true);
    expect(store.compareAndSet('o', { size: 5, root: root(1) }, { size: 7, root: root(4) }, 'n7')).toBe(
      false,
    );
    expect(store.get('o')).toEqual({ size: 9, root: root(3) });
    store.close();
  });
});

describe('a witness sharing its state file with another writer', () => {
  it('decides again when the state changed between its read and its write, and never rolls it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-witness-race-'));
    const log = await TestLog.create('log.test/race');
    const config = loadWitnessConfig({
      PERSONA_WITNESS_NAME: 'witness.test/race',
      PERSONA_WITNESS_LOGS: log.verifierKey,
      PERSONA_WITNESS_LOG_LEVEL: 'silent',
    });
    // Another process (here: a second connection to the file) cosigns size 30 right after this
    // witness has read the state for its request, before it writes.
    const intruder = new WitnessStateStore(dir);
    let raced = false;
    class RacingStore extends WitnessStateStore {
      override get(origin: string) {
        const state = super.get(origin);
        if (!raced) {
          raced = true;
          intruder.compareAndSet(origin, state, { size: 30, root: log.root(30) }, 'note');
        }
        return state;
      }
    }
    const state = new RacingStore(dir);
    const app = buildWitnessApp(config, {
      signer: await cosignatureSigner('witness.test/race', new Uint8Array(32).fill(1), () => 1),
      state,
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/add-checkpoint`;
      const answer = await fetch(url, { method: 'POST', body: await log.request(0, 10) });
      expect(answer.status).toBe(409);
      expect(await answer.text()).toBe('30\n');
      expect(state.get('log.test/race')).toEqual({ size: 30, root: log.root(30) });
    } finally {
      await app.close();
      state.close();
      intruder.close();
      removeDir(dir);
    }
  });
});

describe('witness configuration', () => {
  let vkey: string;
  beforeAll(async () => {
    vkey = (await generateNoteKey('log.test/a')).verifierKey;
  });
  const base = () => ({ PERSONA_WITNESS_NAME: 'w.test/1', PERSONA_WITNESS_LOGS: vkey });
  const fails = (env: Record<string, string>, variable: string) => {
    expect(() => loadWitnessConfig(env)).toThrow(ConfigError);
    expect(() => loadWitnessConfig(env)).toThrow(variable);
  };

  it('reads the logs: origin from the key name, or origin=vkey; several keys for one origin', async () => {
    const second = (await generateNoteKey('log.test/a')).verifierKey;
    const config = loadWitnessConfig({
      ...base(),
      PERSONA_WITNESS_LOGS: `${vkey},\nexample.com/x=${vkey}, ${second}`,
    });
    expect([...config.logs.keys()]).toEqual(['log.test/a', 'example.com/x']);
    expect(config.logs.get('log.test/a')?.verifierKeys).toEqual([vkey, second]);
    expect(config.port).toBe(7380);
  });

  it('names the variable in every error', () => {
    fails({ PERSONA_WITNESS_LOGS: vkey }, 'PERSONA_WITNESS_NAME');
    fails({ ...base(), PERSONA_WITNESS_NAME: 'a+b' }, 'PERSONA_WITNESS_NAME');
    fails({ PERSONA_WITNESS_NAME: 'w.test/1' }, 'PERSONA_WITNESS_LOGS');
    fails({ ...base(), PERSONA_WITNESS_LOGS: 'not-a-key' }, 'PERSONA_WITNESS_LOGS');
    fails({ ...base(), PERSONA_WITNESS_LOGS: V8_VKEY }, 'PERSONA_WITNESS_LOGS');
    fails({ ...base(), PERSONA_WITNESS_LOGS: `${vkey},${vkey}` }, 'PERSONA_WITNESS_LOGS');
    fails({ ...base(), PERSONA_WITNESS_PORT: '70000' }, 'PERSONA_WITNESS_PORT');
    fails({ ...base(), PERSONA_WITNESS_LOG_LEVEL: 'loud' }, 'PERSONA_WITNESS_LOG_LEVEL');
  });

  it('refuses a key file that does not hold a seed, naming the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'persona-witness-key-'));
    try {
      writeFileSync(join(dir, 'bad'), 'nope\n');
      await expect(
        startTestWitness({ ...base(), PERSONA_WITNESS_KEY_FILE: join(dir, 'bad') }, { dataDir: dir }),
      ).rejects.toThrow(/PERSONA_WITNESS_KEY_FILE/);
    } finally {
      removeDir(dir);
    }
  });

  it('PERSONA_LEDGER_WITNESSES and PERSONA_LEDGER_WITNESS_QUORUM', () => {
    const config = loadConfig({ PERSONA_LEDGER_WITNESSES: ` ${V8_VKEY}  http://127.0.0.1:7380/ ,` });
    expect(config.ledgerWitnesses).toEqual([{ verifierKey: V8_VKEY, url: 'http://127.0.0.1:7380' }]);
    expect(config.ledgerWitnessQuorum).toBe(1);
    expect(loadConfig({}).ledgerWitnesses).toEqual([]);
    const bad = (env: Record<string, string>, variable: string) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(variable);
    };
    bad({ PERSONA_LEDGER_WITNESSES: V8_VKEY }, 'PERSONA_LEDGER_WITNESSES');
    bad({ PERSONA_LEDGER_WITNESSES: `${vkey} http://127.0.0.1:1` }, 'PERSONA_LEDGER_WITNESSES');
    bad({ PERSONA_LEDGER_WITNESSES: `${V8_VKEY} ftp://127.0.0.1:1` }, 'PERSONA_LEDGER_WITNESSES');
    bad({ PERSONA_LEDGER_WITNESSES: `${V8_VKEY} http://a,${V8_VKEY} http://b` }, 'PERSONA_LEDGER_WITNESSES');
    bad({ PERSONA_LEDGER_WITNESS_QUORUM: '1' }, 'PERSONA_LEDGER_WITNESS_QUORUM');
    bad(
      { PERSONA_LEDGER_WITNESSES: `${V8_VKEY} http://a`, PERSONA_LEDGER_WITNESS_QUORUM: '2' },
      'PERSONA_LEDGER_WITNESS_QUORUM',
    );
  });
});

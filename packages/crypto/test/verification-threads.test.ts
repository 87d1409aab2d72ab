import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CryptoError, type SignatureAlgorithm, signatureScheme, VerificationThreads } from '../src/index.js';

const message = new TextEncoder().encode('a message to sign, long enough to span a few words');

async function signed(algorithm: SignatureAlgorithm) {
  const scheme = signatureScheme(algorithm);
  const { publicKey, secretKey } = await scheme.generateKeyPair();
  return { algorithm, publicKey, signature: await scheme.sign(secretKey, message) };
}

describe('VerificationThreads', () => {
  const threads = new VerificationThreads({ threads: 2, maxBatch: 16 });
  afterAll(() => threads.close());

  it('accepts valid signatures and refuses altered ones, for every kind of scheme', async () => {
    for (const algorithm of ['Ed25519', 'P-256', 'P-521', 'ML-DSA-44'] as const) {
      const { publicKey, signature } = await signed(algorithm);
      expect(await threads.verify(algorithm, publicKey, message, signature)).toBe(true);
      const altered = message.slice();
      altered[0] ^= 1;
      expect(await threads.verify(algorithm, publicKey, altered, signature)).toBe(false);
    }
  });

  it('answers each check of a batch with its own result, across batches and threads', async () => {
    const ed = await signed('Ed25519');
    const p256 = await signed('P-256');
    const wrong = new Uint8Array(64);
    // 500 checks leave as full batches of 16, spread over both threads; every third is wrong.
    const checks = Array.from({ length: 500 }, (_, i) => {
      const { algorithm, publicKey, signature } = i % 2 === 0 ? ed : p256;
      const valid = i % 3 !== 0;
      return { valid, result: threads.verify(algorithm, publicKey, message, valid ? signature : wrong) };
    });
    const results = await Promise.all(checks.map(({ result }) => result));
    expect(results).toEqual(checks.map(({ valid }) => valid));
  });

  it('reads views into larger buffers at their own offsets', async () => {
    const { publicKey, signature } = await signed('Ed25519');
    const pool = new Uint8Array(4096).fill(0xaa);
    pool.set(publicKey, 100);
    pool.set(message, 1000);
    pool.set(signature, 3000);
    const view = (offset: number, length: number) => pool.subarray(offset, offset + length);
    expect(await threads.verify('Ed25519', view(100, 32), view(1000, message.length), view(3000, 64))).toBe(
      true,
    );
  });

  it('raises the schemes’ own errors: malformed key, impossible signature, unknown algorithm', async () => {
    const { publicKey, signature } = await signed('Ed25519');
    const outcomes = await Promise.allSettled([
      threads.verify('Ed25519', publicKey, message, signature),
      threads.verify('Ed25519', publicKey.subarray(1), message, signature),
      threads.verify('Ed25519', publicKey, message, signature.subarray(1)),
      threads.verify('Ed448' as SignatureAlgorithm, publicKey, message, signature),
      threads.verify('Ed25519', 'key' as unknown as Uint8Array, message, signature),
    ]);
    const codes = outcomes.map((outcome) =>
      outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as CryptoError).code,
    );
    // The failures in its batch do not affect the valid check.
    expect(codes).toEqual([
      true,
      'invalid-key',
      'invalid-signature',
      'unsupported-algorithm',
      'malformed-input',
    ]);
    expect(outcomes.slice(1).every((o) => o.status === 'rejected' && o.reason instanceof CryptoError)).toBe(
      true,
    );
  });

  it('refuses impossible settings', () => {
    expect(() => new VerificationThreads({ threads: 0 })).toThrow(CryptoError);
    expect(() => new VerificationThreads({ maxBatch: 1.5 })).toThrow(/maxBatch must be a positive integer/);
  });

  it('fails queued and later checks once closed', async () => {
    const own = new VerificationThreads();
    const { publicKey, signature } = await signed('Ed25519');
    const queued = own.verify('Ed25519', publicKey, message, signature);
    await own.close();
    await expect(queued).rejects.toThrow(/closed/);
    await expect(own.verify('Ed25519', publicKey, message, signature)).rejects.toThrow(/closed/);
  });

  it('keeps the process alive only while it has work', () => {
    // A script that verifies once and never closes the pool must still exit by itself.
    const index = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const { VerificationThreads, signatureScheme } = await import(${JSON.stringify(index)});
      const scheme = signatureScheme('Ed25519');
      const { publicKey, secretKey } = await scheme.generateKeyPair();
      const message = new Uint8Array([1, 2, 3]);
      const valid = await new VerificationThreads().verify('Ed25519', publicKey, message, await scheme.sign(secretKey, message));
      console.log(valid);`;
    const file = join(mkdtempSync(join(tmpdir(), 'verification-threads-')), 'once.mjs');
    writeFileSync(file, script);
    const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 15_000 });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('true');
  });
});

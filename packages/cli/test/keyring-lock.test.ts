import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withKeyringLock } from '../src/keyring/file.js';

describe('the keyring lock', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persona-lock-'));
    path = join(dir, 'keyring.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs concurrent saves one after the other, and removes the lock after each', async () => {
    const events: string[] = [];
    const save = (name: string) =>
      withKeyringLock(path, async () => {
        events.push(`${name} start`);
        await sleep(30);
        events.push(`${name} end`);
      });
    await Promise.all([save('a'), save('b'), save('c')]);
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i]?.replace(' start', ' end')).toBe(events[i + 1]);
    }
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('releases the lock when the work fails', async () => {
    await expect(
      withKeyringLock(path, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    await expect(withKeyringLock(path, async () => 'saved')).resolves.toBe('saved');
  });

  it('takes over a lock abandoned over a minute ago', async () => {
    await writeFile(`${path}.lock`, '');
    const old = new Date(Date.now() - 120_000);
    await utimes(`${path}.lock`, old, old);
    await expect(withKeyringLock(path, async () => 'saved')).resolves.toBe('saved');
  });

  it('waits for a lock another command holds', async () => {
    await writeFile(`${path}.lock`, '');
    setTimeout(() => void rm(`${path}.lock`), 100);
    const started = Date.now();
    await expect(withKeyringLock(path, async () => 'saved')).resolves.toBe('saved');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

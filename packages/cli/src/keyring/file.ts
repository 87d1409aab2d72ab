import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, usageError } from '../errors.js';

/**
 * Where the keyring is: `--keyring`, else PERSONA_KEYRING, else `$XDG_CONFIG_HOME/persona/keyring.json`
 * (XDG_CONFIG_HOME defaults to ~/.config).
 */
export function keyringPath(option: string | undefined): string {
  const chosen = option || process.env.PERSONA_KEYRING;
  if (chosen) return resolve(chosen);
  const xdg = process.env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'persona', 'keyring.json');
}

/** The keyring file's text, or undefined when there is none yet. Refuses a file other users can read. */
export async function readKeyringText(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw usageError(`cannot read the keyring ${path}: ${(error as Error).message}`);
  }
  if (process.platform !== 'win32') {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      throw usageError(
        `the keyring ${path} is accessible to other users (mode ${(mode & 0o777).toString(8)})`,
        [`run: chmod 600 ${path}`],
      );
    }
  }
  return text;
}

/**
 * Replaces the keyring file atomically: a new file (mode 0600) is written and flushed to disk, renamed
 * over the old one, and the directory flushed, so a crash leaves either the old keyring or the new one,
 * never a partial file. A new directory is created with mode 0700.
 */
export async function writeKeyringText(path: string, text: string): Promise<void> {
  const directory = dirname(path);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    const parent = await open(directory, 'r');
    try {
      await parent.sync();
    } finally {
      await parent.close();
    }
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write the keyring ${path}: ${(error as Error).message}`);
  }
}

/** How long a command waits for another's lock, and the age at which a lock is taken as abandoned. */
const LOCK_WAIT_MS = 10_000;
const LOCK_STALE_MS = 60_000;
const LOCK_POLL_MS = 25;

/**
 * Runs `work` (a read, merge and write of the keyring) while holding `<keyring>.lock`, so that two
 * commands saving at the same moment cannot lose each other's keys. A lock older than a minute is left
 * by a command that died and is taken over; one held longer than the wait is reported.
 */
export async function withKeyringLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CliError(`cannot lock the keyring ${path}: ${(error as Error).message}`);
      }
    }
    const age = await stat(lock).then(
      ({ mtimeMs }) => Date.now() - mtimeMs,
      () => 0,
    );
    if (age > LOCK_STALE_MS) await rm(lock, { force: true });
    else if (Date.now() > deadline) {
      throw new CliError(`the keyring ${path} is locked by another persona command`, 1, [
        `if none is running, remove ${lock}`,
      ]);
    } else await sleep(LOCK_POLL_MS);
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}

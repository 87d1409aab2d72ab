import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { CliError } from './errors.js';
import type { VerifiedState } from './ledger-monitor.js';

/**
 * The default state file of one (log URL, log key) pair: `$XDG_STATE_HOME/persona/ledger-<hash>.json`
 * (XDG_STATE_HOME defaults to ~/.local/state). The hash keeps two logs, or one log under two keys, apart.
 */
export function defaultStatePath(url: string, key: string): string {
  const xdg = process.env.XDG_STATE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state');
  const id = createHash('sha256')
    .update(`${new URL(url).href}\n${key}`)
    .digest('hex')
    .slice(0, 16);
  return join(base, 'persona', `ledger-${id}.json`);
}

/** The state saved by the last successful run, or undefined if there is none yet. */
export async function readState(path: string): Promise<VerifiedState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read the state file ${path}: ${(error as Error).message}`, 2);
  }
  const state = parseState(text);
  if (!state) {
    throw new CliError(`the state file ${path} is not a ledger monitor state`, 2, [
      'it needs {origin, size, root, checkpoint}; point --state elsewhere, or delete it to start over',
      '(starting over trusts the next checkpoint without checking it against the last one)',
    ]);
  }
  return state;
}

/** Replaces the state file atomically (temporary file, then rename), creating its directory. */
export async function writeState(path: string, state: VerifiedState): Promise<void> {
  const body = {
    origin: state.origin,
    size: state.size,
    root: Buffer.from(state.root).toString('base64'),
    checkpoint: state.checkpoint,
  };
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write the state file ${path}: ${(error as Error).message}`, 2, [
      'the log verified, but this run is not remembered',
    ]);
  }
}

function parseState(text: string): VerifiedState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { origin, size, root, checkpoint } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || origin === '' || typeof checkpoint !== 'string') return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof root !== 'string') return undefined;
  const rootBytes = Buffer.from(root, 'base64');
  // Canonical base64 of exactly one SHA-256 hash, nothing Buffer would silently skip.
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root) return undefined;
  return { origin, size, root: new Uint8Array(rootBytes), checkpoint };
}

/**
 * A file thread of the blob store: every file operation of a put, get or delete runs here as plain system
 * calls, so the event loop pays one message per operation instead of a promise round trip per system
 * call (a durable put alone is eight of them), and the work runs on another core.
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, sep } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { type ThreadAnswer, threadError } from '../request-thread.js';

export type BlobFileRequest =
  | { id: number; op: 'put'; path: string; bytes: Uint8Array }
  | { id: number; op: 'get' | 'delete'; path: string };

/** A get's bytes (null: no blob), or for any operation its error. */
export type BlobFileAnswer = ThreadAnswer & { bytes?: Uint8Array | null };

export interface BlobFileThreadData {
  /** The store's root directory: deletes prune empty directories up to it, never above. */
  root: string;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Codes meaning "nothing at this path" (ENOTDIR: a segment of the key is a file). */
function isAbsent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Writes a temporary file, fsyncs it and renames it over the path: a crash leaves the old or the new blob whole. */
function put(path: string, bytes: Uint8Array): void {
  // Temporary names carry a dot, which keys cannot: they never collide with a blob.
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeNew(temporary, bytes);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/**
 * Creates the file (with its directories) exclusively and writes it durably. Another thread's or process's
 * delete may prune a directory between its creation and the open: then the directories are made again.
 */
function writeNew(path: string, bytes: Uint8Array): void {
  for (let round = 0; ; round++) {
    mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
    let fd: number;
    try {
      fd = openSync(path, 'wx', FILE_MODE);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT' && round < 3) continue;
      throw error;
    }
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw error;
    }
    closeSync(fd);
    return;
  }
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function get(path: string): Uint8Array | null {
  try {
    // A copy of its own, so that its buffer can be handed over whole.
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    if (isAbsent(error)) return null;
    throw error;
  }
}

/** Removes the file, then the directories it leaves empty, up to the root. */
function remove(root: string, path: string): void {
  try {
    rmSync(path);
  } catch (error) {
    if (isAbsent(error)) return;
    throw error;
  }
  for (let dir = dirname(path); dir !== root && dir.startsWith(`${root}${sep}`); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // Not empty (or already gone): the directories above are not empty either.
    }
  }
}

const port = parentPort;
if (port) {
  const { root } = workerData as BlobFileThreadData;
  port.on('message', (request: BlobFileRequest) => {
    try {
      if (request.op === 'put') {
        put(request.path, request.bytes);
        port.postMessage({ id: request.id } satisfies BlobFileAnswer);
      } else if (request.op === 'get') {
        const bytes = get(request.path);
        port.postMessage(
          { id: request.id, bytes } satisfies BlobFileAnswer,
          bytes ? [bytes.buffer as ArrayBuffer] : [],
        );
      } else {
        remove(root, request.path);
        port.postMessage({ id: request.id } satisfies BlobFileAnswer);
      }
    } catch (error) {
      port.postMessage({ id: request.id, error: threadError(error) } satisfies BlobFileAnswer);
    }
  });
}

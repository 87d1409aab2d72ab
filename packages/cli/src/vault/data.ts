import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VAULT_LIMITS } from '@personachain/vaults';
import { CliError, usageError } from '../errors.js';

/**
 * An item's plaintext: the file, or standard input when there is none (or it is `-`). Refused before
 * anything is encrypted when it is larger than an item may be.
 */
export async function readItemData(file: string | undefined): Promise<Uint8Array> {
  const limit = VAULT_LIMITS.maxItemBytes;
  let data: Uint8Array;
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) {
      throw usageError('give the item with --file <path>, or pipe it on standard input');
    }
    data = await readStream(process.stdin, limit);
  } else {
    try {
      data = new Uint8Array(await readFile(file));
    } catch (error) {
      throw usageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (data.length > limit) {
    throw usageError(`the item is ${data.length} bytes; a vault item holds at most ${limit} bytes`);
  }
  return data;
}

/** Reads a stream to its end, stopping early once it is over the limit (the caller reports it). */
async function readStream(stream: NodeJS.ReadableStream, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buffer);
    size += buffer.length;
    if (size > limit) break;
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Writes an item's plaintext to `out` (mode 0600, replaced atomically: an interrupted write leaves no
 * half-written secret under that name), or to standard output when there is no path.
 */
export async function writeItemData(out: string | undefined, data: Uint8Array): Promise<void> {
  if (out === undefined || out === '-') {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(data, (error) => (error ? reject(error) : resolve())),
    );
    return;
  }
  const temporary = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${out}: ${(error as Error).message}`);
  }
}

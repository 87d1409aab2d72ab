import { fromBase64, isNoteSafe, parseDecimal, toBase64 } from './encoding.js';
import { checkCount, LedgerError } from './errors.js';
import { HASH_SIZE } from './hash.js';

/** A C2SP tlog-checkpoint body: origin, tree size, root hash and optional extension lines. */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions: string[];
}

function checkLine(line: string, what: string): void {
  if (line.length === 0 || line.includes('\n') || !isNoteSafe(line)) {
    throw new LedgerError('invalid-argument', `${what} must be a non-empty line without control characters`);
  }
}

/** The checkpoint body text (note text), ending in "\n". */
export function formatCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, 'origin');
  checkCount(c.size, 'size');
  if (!(c.root instanceof Uint8Array) || c.root.length !== HASH_SIZE) {
    throw new LedgerError('invalid-argument', 'root must be 32 bytes');
  }
  for (const ext of c.extensions) checkLine(ext, 'extension line');
  return [c.origin, String(c.size), toBase64(c.root), ...c.extensions].map((line) => `${line}\n`).join('');
}

/** Strictly parses a checkpoint body (note text); throws LedgerError('malformed'). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n') || !isNoteSafe(text)) {
    throw new LedgerError(
      'malformed',
      'checkpoint must be newline-terminated text without control characters',
    );
  }
  const lines = text.slice(0, -1).split('\n');
  const [origin = '', sizeText = '', rootText = '', ...extensions] = lines;
  if (lines.length < 3) throw new LedgerError('malformed', 'checkpoint needs origin, size and root lines');
  if (origin === '') throw new LedgerError('malformed', 'checkpoint origin is empty');
  if (extensions.some((ext) => ext === ''))
    throw new LedgerError('malformed', 'checkpoint extension lines must be non-empty');
  const size = parseDecimal(sizeText, 'checkpoint size');
  const root = fromBase64(rootText, 'checkpoint root');
  if (root.length !== HASH_SIZE) throw new LedgerError('malformed', 'checkpoint root is not 32 bytes');
  return { origin, size, root, extensions };
}

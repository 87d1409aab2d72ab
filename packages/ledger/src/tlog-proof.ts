import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { fromBase64, parseDecimal, toBase64 } from './encoding.js';
import { checkCount, LedgerError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { type NoteVerifier, openNote, parseNote } from './note.js';
import { verifyInclusion } from './proofs.js';

// c2sp.org/tlog-proof: an offline inclusion receipt.
const HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  /** Opaque, unauthenticated application data. */
  extra?: Uint8Array;
  index: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  note: string;
}

export function formatTlogProof(p: TlogProof): string {
  checkCount(p.index, 'index');
  for (const h of p.proof)
    if (h.length !== HASH_SIZE) throw new LedgerError('invalid-argument', 'proof hashes must be 32 bytes');
  parseNote(p.note);
  const extra = p.extra === undefined ? '' : `extra ${toBase64(p.extra)}\n`;
  return `${HEADER}\n${extra}index ${p.index}\n${p.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${p.note}`;
}

/** Parses a tlog-proof without verifying it; throws LedgerError('malformed'). */
export function parseTlogProof(text: string): TlogProof {
  const lines: string[] = [];
  let at = 0;
  // Header lines run to the first empty line; the rest is the checkpoint note.
  for (;;) {
    const end = text.indexOf('\n', at);
    if (end < 0) throw new LedgerError('malformed', 'tlog-proof has no empty line before the checkpoint');
    const line = text.slice(at, end);
    at = end + 1;
    if (line === '') break;
    lines.push(line);
  }
  const note = text.slice(at);
  if (lines.shift() !== HEADER) throw new LedgerError('malformed', `tlog-proof must start with ${HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) extra = fromBase64((lines.shift() as string).slice(6), 'extra data');
  const indexLine = lines.shift();
  if (!indexLine?.startsWith('index ')) throw new LedgerError('malformed', 'tlog-proof needs an index line');
  const index = parseDecimal(indexLine.slice(6), 'index');
  const proof = lines.map((line) => {
    const hash = fromBase64(line, 'proof line');
    if (hash.length !== HASH_SIZE) throw new LedgerError('malformed', 'proof line is not a 32-byte hash');
    return hash;
  });
  parseNote(note);
  return extra === undefined ? { index, proof, note } : { extra, index, proof, note };
}

/**
 * Verifies a tlog-proof offline: the checkpoint note against `verifiers` (log key and any witness keys the
 * caller trusts; quorum policy is the caller's), then the inclusion of `leafHash` at the proof's index.
 */
export async function verifyTlogProof(
  text: string,
  leafHash: Uint8Array,
  verifiers: readonly NoteVerifier[],
): Promise<{
  checkpoint: Checkpoint;
  index: number;
  extra?: Uint8Array;
  verified: Array<{ name: string; keyId: number; timestamp?: number }>;
}> {
  const parsed = parseTlogProof(text);
  const opened = await openNote(parsed.note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  verifyInclusion(parsed.index, checkpoint.size, leafHash, parsed.proof, checkpoint.root);
  const result = { checkpoint, index: parsed.index, verified: opened.verified };
  return parsed.extra === undefined ? result : { ...result, extra: parsed.extra };
}

import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { fromBase64, parseDecimal, toBase64 } from './encoding.js';
import { checkCount, LedgerError } from './errors.js';
import { EMPTY_ROOT, equalBytes, HASH_SIZE } from './hash.js';
import { type NoteVerifier, openNote } from './note.js';
import { verifyConsistency } from './proofs.js';

// c2sp.org/tlog-witness add-checkpoint: request format and the witness's decision.

/** The client MUST NOT send more than 63 consistency proof lines. */
export const MAX_WITNESS_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note. */
  note: string;
}

/** Request body: "old <size>\n", one base64 proof hash per line, an empty line, then the signed checkpoint. */
export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  checkCount(req.oldSize, 'oldSize');
  if (req.proof.length > MAX_WITNESS_PROOF_LINES) {
    throw new LedgerError('invalid-argument', `at most ${MAX_WITNESS_PROOF_LINES} consistency proof lines`);
  }
  for (const h of req.proof)
    if (h.length !== HASH_SIZE) throw new LedgerError('invalid-argument', 'proof hashes must be 32 bytes');
  return `old ${req.oldSize}\n${req.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${req.note}`;
}

/** Parses an add-checkpoint body; throws LedgerError('malformed'). The note itself is not checked here. */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  if (typeof body !== 'string') throw new LedgerError('malformed', 'body must be text');
  const firstEnd = body.indexOf('\n');
  const first = firstEnd < 0 ? '' : body.slice(0, firstEnd);
  if (!first.startsWith('old ')) throw new LedgerError('malformed', 'body must start with "old <size>"');
  const oldSize = parseDecimal(first.slice(4), 'old size');
  const proof: Uint8Array[] = [];
  let at = firstEnd + 1;
  for (;;) {
    const end = body.indexOf('\n', at);
    if (end < 0) throw new LedgerError('malformed', 'missing empty line before the checkpoint');
    const line = body.slice(at, end);
    at = end + 1;
    if (line === '') break;
    if (proof.length === MAX_WITNESS_PROOF_LINES) {
      throw new LedgerError('malformed', `more than ${MAX_WITNESS_PROOF_LINES} consistency proof lines`);
    }
    const hash = fromBase64(line, 'proof line');
    if (hash.length !== HASH_SIZE) throw new LedgerError('malformed', 'proof line is not a 32-byte hash');
    proof.push(hash);
  }
  const note = body.slice(at);
  if (note === '') throw new LedgerError('malformed', 'missing checkpoint');
  return { oldSize, proof, note };
}

/** What a witness remembers per log: the latest checkpoint it cosigned. */
export interface WitnessState {
  size: number;
  root: Uint8Array;
}

export type AddCheckpointDecision =
  | { ok: true; checkpoint: Checkpoint; text: string }
  | { ok: false; status: 400 | 403 | 404 | 409 | 422; reason: string; body?: string; contentType?: string };

/**
 * The witness's add-checkpoint decision (c2sp.org/tlog-witness), pure: `state` is the latest cosigned
 * checkpoint of this origin (undefined if none), `logVerifiers` the log's trusted keys (undefined if the
 * origin is unknown). On ok the caller must persist {size, root} of `checkpoint` atomically with the check
 * (compare-and-swap on the old state) and then cosign `text`.
 */
export async function checkAddCheckpoint(
  state: WitnessState | undefined,
  req: AddCheckpointRequest,
  logVerifiers: readonly NoteVerifier[] | undefined,
): Promise<AddCheckpointDecision> {
  if (logVerifiers === undefined) return { ok: false, status: 404, reason: 'unknown log origin' };
  let text: string;
  try {
    ({ text } = await openNote(req.note, logVerifiers));
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    if (error.code === 'malformed') return { ok: false, status: 400, reason: error.message };
    return { ok: false, status: 403, reason: error.message };
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(text);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return { ok: false, status: 400, reason: error.message };
  }
  if (req.oldSize > checkpoint.size) {
    return {
      ok: false,
      status: 400,
      reason: `old size ${req.oldSize} is larger than checkpoint size ${checkpoint.size}`,
    };
  }
  const latest = state?.size ?? 0;
  if (req.oldSize !== latest) {
    return {
      ok: false,
      status: 409,
      reason: `old size ${req.oldSize} is not the latest cosigned size ${latest}`,
      body: `${latest}\n`,
      contentType: 'text/x.tlog.size',
    };
  }
  const rejected = (reason: string): AddCheckpointDecision => ({ ok: false, status: 422, reason });
  if (checkpoint.size === 0 && !equalBytes(checkpoint.root, EMPTY_ROOT)) {
    return rejected('an empty checkpoint must have the empty root');
  }
  if (req.oldSize === 0) {
    if (req.proof.length !== 0) return rejected('the proof must be empty when the old size is 0');
    return { ok: true, checkpoint, text };
  }
  const old = state as WitnessState;
  if (checkpoint.size === old.size) {
    if (!equalBytes(checkpoint.root, old.root))
      return rejected('same size as the latest checkpoint with a different root');
    if (req.proof.length !== 0) return rejected('the proof must be empty between equal sizes');
    return { ok: true, checkpoint, text };
  }
  try {
    verifyConsistency(old.size, checkpoint.size, req.proof, old.root, checkpoint.root);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return rejected(error.message);
  }
  return { ok: true, checkpoint, text };
}

import {
  type Checkpoint,
  LedgerError,
  type NoteVerifier,
  openNote,
  parseCheckpoint,
  proveConsistency,
  treeRoot,
  verifyConsistency,
} from '@personachain/ledger';
import { auditTree } from './ledger-audit.js';
import { equal, type LogSource, tileReader, VerificationError } from './ledger-source.js';

/** What the last successful run verified: the trusted starting point of the next one. */
export interface VerifiedState {
  origin: string;
  size: number;
  root: Uint8Array;
  /** The signed note, kept as evidence should the log later contradict it. */
  checkpoint: string;
}

export interface MonitorOptions {
  source: LogSource;
  /** The log's own key (type 0x01): its signature is required. */
  logKey: NoteVerifier;
  /** Witness cosignature keys (type 0x04): each one's cosignature is required. */
  witnesses: readonly NoteVerifier[];
  /** The state of the last run, if any. */
  previous: VerifiedState | undefined;
  /** Also check every tile against its parent and every entry against its leaf hash. */
  entries: boolean;
  /** Called as entries are audited (only with `entries`). */
  onProgress?: (entriesDone: number, total: number) => void;
}

export interface MonitorResult {
  state: VerifiedState;
  checkpoint: Checkpoint;
  witnesses: Array<{ name: string; keyId: number; timestamp: number }>;
  /** How the checkpoint relates to `previous`. */
  previous: { size: number; root: Uint8Array; relation: 'same' | 'consistent' } | null;
  /** Entries audited, when `entries` was set. */
  entriesAudited: number | null;
}

/**
 * Verifies the log's latest checkpoint: its signatures, that the tiles hash to its root, that it extends
 * what was verified before (`previous`), and with `entries` that every tile and entry is part of it.
 * Throws VerificationError on any contradiction; the caller saves `result.state` only after success.
 */
export async function monitorLog(options: MonitorOptions): Promise<MonitorResult> {
  const { source, previous } = options;
  const note = await source.checkpoint();
  const { checkpoint, witnesses } = await openCheckpoint(note, options.logKey, options.witnesses);
  const b64 = (root: Uint8Array) => Buffer.from(root).toString('base64');

  if (previous) {
    if (checkpoint.origin !== previous.origin) {
      throw new VerificationError('origin-changed', 'origin changed: this is not the log verified before', [
        `verified before: ${previous.origin}`,
        `now:             ${checkpoint.origin}`,
      ]);
    }
    if (checkpoint.size < previous.size) {
      throw new VerificationError(
        'rollback',
        `rollback: the log shrank from size ${previous.size} to ${checkpoint.size}`,
        [`a log only grows; size ${previous.size} with root ${b64(previous.root)} was verified before`],
      );
    }
    if (checkpoint.size === previous.size && !equal(checkpoint.root, previous.root)) {
      throw new VerificationError(
        'split-view',
        `split view: the log signed two different roots for size ${checkpoint.size}`,
        [`verified before: ${b64(previous.root)}`, `now:             ${b64(checkpoint.root)}`],
      );
    }
  }

  const reader = tileReader(source);
  const computed = await treeRoot(checkpoint.size, reader);
  if (!equal(computed, checkpoint.root)) {
    throw new VerificationError(
      'root-mismatch',
      `root mismatch: the tiles of size ${checkpoint.size} do not hash to the checkpoint's root`,
      [
        `checkpoint: ${b64(checkpoint.root)}`,
        `tiles:      ${b64(computed)}`,
        'the served tiles are not those of the signed tree: tampered tiles, or a checkpoint of other data',
      ],
    );
  }

  if (previous && previous.size > 0 && checkpoint.size > previous.size) {
    // The proof comes from the tiles just checked against the new root, not from the server's proof
    // endpoint: a log that serves tiles consistent with both roots cannot have forked.
    const proof = await proveConsistency(previous.size, checkpoint.size, reader);
    try {
      verifyConsistency(previous.size, checkpoint.size, proof, previous.root, checkpoint.root);
    } catch (error) {
      if (!(error instanceof LedgerError && error.code === 'invalid-proof')) throw error;
      throw new VerificationError(
        'split-view',
        `split view: the tree of size ${checkpoint.size} does not extend the tree of size ${previous.size} verified before`,
        [
          `verified before: size ${previous.size}, root ${b64(previous.root)}`,
          `consistency proof from the tiles: ${error.message}`,
        ],
      );
    }
  }

  const entriesAudited = options.entries
    ? await auditTree(checkpoint.size, source, reader, options.onProgress)
    : null;
  return {
    state: { origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root, checkpoint: note },
    checkpoint,
    witnesses,
    previous: previous
      ? {
          size: previous.size,
          root: previous.root,
          relation: previous.size === checkpoint.size ? 'same' : 'consistent',
        }
      : null,
    entriesAudited,
  };
}

/** Opens the note: the log's signature and every witness's cosignature must verify; others are ignored. */
async function openCheckpoint(
  note: string,
  logKey: NoteVerifier,
  witnessKeys: readonly NoteVerifier[],
): Promise<Pick<MonitorResult, 'checkpoint' | 'witnesses'>> {
  const signedBy = (key: NoteVerifier) => (v: { name: string; keyId: number }) =>
    v.name === key.name && v.keyId === key.keyId >>> 0;
  const notSignedByLog = () =>
    new VerificationError(
      'bad-signature',
      `bad signature: the checkpoint is not signed by ${keyName(logKey)}`,
      ['is --key the verifier key of this log?'],
    );
  let opened: Awaited<ReturnType<typeof openNote>>;
  try {
    opened = await openNote(note, [logKey, ...witnessKeys]);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    if (error.code === 'malformed') {
      throw new VerificationError(
        'malformed-checkpoint',
        `the checkpoint is not a signed note: ${error.message}`,
      );
    }
    if (error.code === 'bad-signature') {
      throw new VerificationError('bad-signature', `bad signature on the checkpoint: ${error.message}`);
    }
    if (error.code === 'no-verified-signature') throw notSignedByLog();
    throw error;
  }
  // A witness's cosignature alone opens the note; the log's own signature is what --key demands.
  if (!opened.verified.some(signedBy(logKey))) throw notSignedByLog();
  const witnesses = witnessKeys.map((key) => {
    const found = opened.verified.find(signedBy(key));
    if (found?.timestamp === undefined) {
      throw new VerificationError(
        'missing-cosignature',
        `the checkpoint has no cosignature from witness ${keyName(key)}`,
      );
    }
    return { name: found.name, keyId: found.keyId, timestamp: found.timestamp };
  });
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(opened.text);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    throw new VerificationError(
      'malformed-checkpoint',
      `the signed note is not a checkpoint: ${error.message}`,
    );
  }
  return { checkpoint, witnesses };
}

const keyName = (key: NoteVerifier) => `${key.name}+${(key.keyId >>> 0).toString(16).padStart(8, '0')}`;

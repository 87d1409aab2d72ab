import { fromBase64, isNoteSafe, isValidKeyName, toBase64 } from './encoding.js';
import { LedgerError } from './errors.js';

/** Go's golang.org/x/mod/sumdb/note rejects notes with more than 100 signatures; so do we. */
export const MAX_NOTE_SIGNATURES = 100;

const SIGNATURE_PREFIX = '\u2014 '; // em dash, space

/** Signs note text with one key. `sign` returns the signature blob that follows the 4-byte key ID. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: string): Promise<Uint8Array>;
}

/** Verifies one key's signatures. `timestampOf` is present for timestamped (cosignature) types. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: string, blob: Uint8Array): Promise<boolean>;
  timestampOf?(blob: Uint8Array): number;
}

/** One signature line of a note, not yet verified. */
export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key ID. */
  blob: Uint8Array;
  /** The line as it appears in the note, without the trailing newline. */
  line: string;
}

const pairKey = (name: string, keyId: number): string => `${name}\n${keyId}`;

function malformed(message: string): never {
  throw new LedgerError('malformed', message);
}

/**
 * Splits a signed note into its text and signature lines without verifying anything. The text runs to the
 * last empty line (signed-note §Format). Repeated identical lines, or two lines from the same
 * (name, key ID) with different signatures, are rejected: an honest signer never produces either.
 */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (typeof note !== 'string' || !isNoteSafe(note))
    malformed('note must be UTF-8 text without control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) malformed('note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n'))
    malformed('note must end with newline-terminated signature lines');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) malformed(`note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const seen = new Set<string>();
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) malformed('signature line must start with "— "');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) malformed('signature line has no signature');
    const name = rest.slice(0, space);
    const encoded = rest.slice(space + 1);
    if (!isValidKeyName(name)) malformed(`invalid key name in signature line: ${JSON.stringify(name)}`);
    const bytes = fromBase64(encoded, 'signature');
    if (bytes.length < 5) malformed('signature is shorter than a key ID and one byte');
    const keyId = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    const key = pairKey(name, keyId);
    if (seen.has(key)) malformed(`repeated signature from ${name}+${hex8(keyId)}`);
    seen.add(key);
    signatures.push({ name, keyId, blob: bytes.slice(4), line });
  }
  return { text, signatures };
}

export function hex8(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function checkText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n') || !isNoteSafe(text)) {
    throw new LedgerError(
      'invalid-argument',
      'note text must end in a newline and contain no control characters',
    );
  }
}

async function signatureLine(text: string, signer: NoteSigner): Promise<string> {
  if (!isValidKeyName(signer.name))
    throw new LedgerError('invalid-argument', `invalid signer name: ${signer.name}`);
  const blob = await signer.sign(text);
  const bytes = new Uint8Array(4 + blob.length);
  new DataView(bytes.buffer).setUint32(0, signer.keyId >>> 0);
  bytes.set(blob, 4);
  return `${SIGNATURE_PREFIX}${signer.name} ${toBase64(bytes)}`;
}

/** Signature lines ("— name base64\n" each) for `text`, e.g. the body of a tlog-witness response. */
export async function signatureLines(text: string, signers: readonly NoteSigner[]): Promise<string> {
  checkText(text);
  const lines: string[] = [];
  for (const signer of signers) lines.push(await signatureLine(text, signer));
  return lines.map((line) => `${line}\n`).join('');
}

/** Signs `text` (which must end in "\n") with every signer, in order; byte-identical to Go's note.Sign. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  if (signers.length === 0) throw new LedgerError('invalid-argument', 'a note needs at least one signer');
  if (signers.length > MAX_NOTE_SIGNATURES) throw new LedgerError('invalid-argument', 'too many signers');
  return `${text}\n${await signatureLines(text, signers)}`;
}

/**
 * Adds signatures to a signed note (a witness adding its cosignature). Existing lines from the same
 * (name, key ID) as a new signer are replaced, as Go's note.Sign does; the others are kept in order.
 * Nothing is verified: verify with openNote first if the existing signatures matter.
 */
export async function addNoteSignatures(note: string, signers: readonly NoteSigner[]): Promise<string> {
  const { text, signatures } = parseNote(note);
  const replaced = new Set(signers.map((s) => pairKey(s.name, s.keyId >>> 0)));
  const kept = signatures.filter((sig) => !replaced.has(pairKey(sig.name, sig.keyId)));
  if (kept.length + signers.length > MAX_NOTE_SIGNATURES) {
    throw new LedgerError('invalid-argument', `note would have more than ${MAX_NOTE_SIGNATURES} signatures`);
  }
  const added = await signatureLines(text, signers);
  return `${text}\n${kept.map((sig) => `${sig.line}\n`).join('')}${added}`;
}

/**
 * Opens a signed note: every signature from a known (name, key ID) must verify, unknown ones are ignored,
 * and at least one must verify. Throws LedgerError 'malformed', 'bad-signature' or 'no-verified-signature'.
 */
export async function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): Promise<{ text: string; verified: Array<{ name: string; keyId: number; timestamp?: number }> }> {
  const known = new Map<string, NoteVerifier>();
  for (const verifier of verifiers) {
    const key = pairKey(verifier.name, verifier.keyId >>> 0);
    if (known.has(key)) {
      throw new LedgerError(
        'invalid-argument',
        `two verifiers for ${verifier.name}+${hex8(verifier.keyId >>> 0)}`,
      );
    }
    known.set(key, verifier);
  }
  const { text, signatures } = parseNote(note);
  const verified: Array<{ name: string; keyId: number; timestamp?: number }> = [];
  for (const sig of signatures) {
    const verifier = known.get(pairKey(sig.name, sig.keyId));
    if (!verifier) continue;
    let ok: boolean;
    try {
      ok = await verifier.verify(text, sig.blob);
    } catch {
      ok = false;
    }
    if (!ok)
      throw new LedgerError('bad-signature', `signature from ${sig.name}+${hex8(sig.keyId)} does not verify`);
    const timestamp = verifier.timestampOf?.(sig.blob);
    verified.push(
      timestamp === undefined
        ? { name: sig.name, keyId: sig.keyId }
        : { name: sig.name, keyId: sig.keyId, timestamp },
    );
  }
  if (verified.length === 0) throw new LedgerError('no-verified-signature', 'no signature from a known key');
  return { text, verified };
}

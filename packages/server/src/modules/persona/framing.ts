import { canonicalJson, PersonaError } from '@personachain/credentials';

/** The `type` of a did:persona ledger entry; other entries of the log (audit records) have others. */
export const PERSONA_ENTRY_TYPE = 'did:persona/op';

/**
 * A did:persona ledger entry (docs/did-persona.md §6.1): the RFC 8785 canonical JSON of
 * `{ "at", "did", "op", "type" }`, where `op` is the signed operation itself (its canonical JSON is the
 * operation's bytes, byte for byte) and `at` the integration time in POSIX seconds, set by the server.
 */
export interface PersonaEntry {
  at: number;
  did: string;
  /** The operation's canonical bytes. */
  op: Uint8Array;
}

const MEMBERS = ['at', 'did', 'op', 'type'];

export function encodePersonaEntry(entry: PersonaEntry): Uint8Array {
  const op: unknown = JSON.parse(new TextDecoder().decode(entry.op));
  return canonicalJson({ at: entry.at, did: entry.did, op, type: PERSONA_ENTRY_TYPE });
}

/**
 * Parses a ledger entry as a did:persona entry, or undefined when it is another kind of entry. Throws
 * PersonaError('malformed') for an entry that claims the type but is not exactly canonical.
 */
export function decodePersonaEntry(bytes: Uint8Array): PersonaEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { type?: unknown }).type !== PERSONA_ENTRY_TYPE
  ) {
    return undefined;
  }
  const { at, did, op } = value as Record<string, unknown>;
  const members = Object.keys(value).sort();
  if (
    members.join() !== MEMBERS.join() ||
    !Number.isSafeInteger(at) ||
    (at as number) < 0 ||
    typeof did !== 'string' ||
    typeof op !== 'object' ||
    op === null ||
    Buffer.compare(canonicalJson(value), bytes) !== 0
  ) {
    throw new PersonaError('malformed', 'a did:persona ledger entry is not in its canonical framing');
  }
  return { at: at as number, did, op: canonicalJson(op) };
}

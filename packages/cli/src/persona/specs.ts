import {
  isDid,
  isPersonaDid,
  PERSONA_LIMITS,
  type PersonaService,
  VERIFICATION_RELATIONSHIPS,
  type VerificationRelationship,
} from '@personachain/credentials';
import type { SignatureAlgorithm } from '@personachain/crypto';
import { InvalidArgumentError } from 'commander';

/** Key types `--key`/`--add-key` can generate in the keyring (signature keys with a Multikey form). */
export const GENERATED_KEY_ALGORITHMS = [
  'Ed25519',
  'P-256',
  'P-384',
  'P-521',
  'secp256k1',
  'ML-DSA-44',
  'ML-DSA-65',
] as const satisfies readonly SignatureAlgorithm[];

const DEFAULT_RELATIONSHIPS: VerificationRelationship[] = ['authentication', 'assertionMethod'];

/** A verification method to add: generated in the keyring (`algorithm`) or given (`publicKeyMultibase`). */
export type KeySpec = { id: string; relationships: VerificationRelationship[] } & (
  | { algorithm: SignatureAlgorithm }
  | { publicKeyMultibase: string }
);

/** Commander collector for repeatable options. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/**
 * `<id>` or `id=<id>[,algorithm=<alg>|,publicKey=<multikey>][,relationships=<rel>+<rel>…]`: a fragment,
 * a key type to generate (default Ed25519) or a public key to list, and its relationships (default
 * authentication+assertionMethod).
 */
export function parseKeySpec(value: string): KeySpec {
  const fields = value.includes('=')
    ? keyValues(value, ['id', 'algorithm', 'publicKey', 'relationships'])
    : { id: value };
  const id = parseFragment(fields.id);
  const relationships =
    fields.relationships === undefined ? DEFAULT_RELATIONSHIPS : parseRelationships(fields.relationships);
  if (fields.publicKey !== undefined) {
    if (fields.algorithm !== undefined)
      throw new InvalidArgumentError('Give algorithm= or publicKey=, not both.');
    return { id, relationships, publicKeyMultibase: fields.publicKey };
  }
  const algorithm = fields.algorithm ?? 'Ed25519';
  if (!(GENERATED_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new InvalidArgumentError(`algorithm must be one of ${GENERATED_KEY_ALGORITHMS.join(', ')}.`);
  }
  return { id, relationships, algorithm: algorithm as SignatureAlgorithm };
}

/** `id=<fragment>,type=<type>,endpoint=<absolute URI>`. */
export function parseService(value: string): PersonaService {
  const { id, type, endpoint } = keyValues(value, ['id', 'type', 'endpoint']);
  if (id === undefined || type === undefined || endpoint === undefined) {
    throw new InvalidArgumentError('Expected id=<fragment>,type=<type>,endpoint=<URI>.');
  }
  return { id: parseFragment(id), type, serviceEndpoint: endpoint };
}

export function parsePersonaDid(value: string): string {
  if (!isPersonaDid(value)) {
    throw new InvalidArgumentError('Expected a did:persona DID (did:persona: and 32 characters a-z, 2-7).');
  }
  return value;
}

export function parseGuardianDid(value: string): string {
  if (!isDid(value)) throw new InvalidArgumentError('Expected a DID like did:key:z6Mk….');
  return value;
}

export function parseThreshold(value: string): number {
  if (!/^[1-9]\d*$/.test(value) || Number(value) > PERSONA_LIMITS.guardians) {
    throw new InvalidArgumentError(`Expected a number from 1 to ${PERSONA_LIMITS.guardians}.`);
  }
  return Number(value);
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** `3600`, `90m`, `36h`, `7d`, `2w` → seconds, within what did:persona allows (1 hour to 1 year). */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhdw]?)$/.exec(value);
  const seconds = match
    ? Number(match[1]) * UNIT_SECONDS[(match[2] || 's') as keyof typeof UNIT_SECONDS]
    : Number.NaN;
  if (!(seconds >= PERSONA_LIMITS.minDelaySeconds && seconds <= PERSONA_LIMITS.maxDelaySeconds)) {
    throw new InvalidArgumentError('Expected a duration from 1h to 365d, like 7d, 36h or 3600 (seconds).');
  }
  return seconds;
}

/** A verification method's or service's id: the fragment after `<did>#`. */
function parseFragment(value: string | undefined): string {
  if (value === undefined || !/^[A-Za-z0-9._~-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError(
      'Expected an id of 1 to 64 characters A-Z a-z 0-9 . _ ~ - (the part after #).',
    );
  }
  return value;
}

function parseRelationships(value: string): VerificationRelationship[] {
  const names = value.split('+');
  const unknown = names.filter((name) => !(VERIFICATION_RELATIONSHIPS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `relationships are ${VERIFICATION_RELATIONSHIPS.join('+')} (any of them).`,
    );
  }
  // did:persona lists them in this order, each once.
  return VERIFICATION_RELATIONSHIPS.filter((name) => names.includes(name));
}

/** `a=1,b=2`; a value may contain commas (a URI) as long as no known name follows one. */
function keyValues<K extends string>(value: string, names: readonly K[]): Partial<Record<K, string>> {
  const fields: Partial<Record<K, string>> = {};
  const parts = value.split(new RegExp(`,(?=(?:${names.join('|')})=)`));
  for (const part of parts) {
    const at = part.indexOf('=');
    const name = part.slice(0, at) as K;
    if (at < 1 || !names.includes(name)) {
      throw new InvalidArgumentError(`Expected ${names.map((n) => `${n}=…`).join(',')}; got "${part}".`);
    }
    if (fields[name] !== undefined) throw new InvalidArgumentError(`${name}= is given twice.`);
    fields[name] = part.slice(at + 1);
  }
  return fields;
}

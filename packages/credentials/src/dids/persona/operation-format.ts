import { decodePublicKeyMultibase, type KeyAlgorithm } from '@personachain/crypto';
import { base64urlnopad } from '@scure/base';
import { VERIFICATION_RELATIONSHIPS } from '../document.js';
import { isDid } from '../syntax.js';
import { canonicalJson, type JsonValue, parseCanonicalJson } from './canonical-json.js';
import { PersonaError } from './errors.js';
import { HASH_PATTERN, isPersonaDid, personaDidFromGenesis } from './identifiers.js';
import type {
  GuardianSignature,
  Guardians,
  PersonaOperation,
  PersonaService,
  PersonaVerificationMethod,
  RotationKey,
  RotationSignature,
} from './types.js';

/**
 * The exact shape of each operation type (docs/did-persona.md §3): every field required, no other
 * field allowed, and limits that keep an operation below MAX_OPERATION_BYTES.
 */
export const MAX_OPERATION_BYTES = 65_536;
export const LIMITS = {
  rotationKeys: 5,
  verificationMethods: 32,
  services: 32,
  alsoKnownAs: 16,
  guardians: 16,
  guardianSignatures: 16,
  uriLength: 2048,
  minDelaySeconds: 3600,
  maxDelaySeconds: 365 * 24 * 3600,
} as const;
const FRAGMENT = /^[A-Za-z0-9._~-]{1,64}$/;
const SIGNATURE_LENGTHS = { ed25519: 64, mlDsa65: 3309 } as const;
// The largest signature of a signature scheme in @personachain/crypto is SLH-DSA's 7,856 bytes.
const MAX_GUARDIAN_SIGNATURE_BYTES = 8192;

const FIELDS: Record<PersonaOperation['type'], readonly string[]> = {
  create: [
    'type',
    'prev',
    'rotationKeys',
    'verificationMethods',
    'services',
    'alsoKnownAs',
    'guardians',
    'sig',
  ],
  update: ['type', 'did', 'prev', 'verificationMethods', 'services', 'alsoKnownAs', 'sig'],
  rotate: ['type', 'did', 'prev', 'rotationKeys', 'guardians', 'sig'],
  deactivate: ['type', 'did', 'prev', 'sig'],
  recoveryRequest: ['type', 'did', 'prev', 'rotationKeys', 'guardianSigs'],
  recoveryCancel: ['type', 'did', 'prev', 'sig'],
  recover: ['type', 'did', 'prev', 'sig'],
};

function fail(message: string): never {
  throw new PersonaError('malformed', message);
}

function record(
  value: JsonValue | undefined,
  keys: readonly string[],
  what: string,
): Record<string, JsonValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  const present = Object.keys(value);
  const extra = present.filter((key) => !keys.includes(key));
  const missing = keys.filter((key) => !present.includes(key));
  if (extra.length > 0) fail(`${what} has unknown members: ${extra.join(', ')}`);
  if (missing.length > 0) fail(`${what} lacks ${missing.join(', ')}`);
  return value;
}

function list(value: JsonValue | undefined, max: number, what: string, min = 0): JsonValue[] {
  if (!Array.isArray(value)) fail(`${what} must be an array`);
  if (value.length < min || value.length > max) fail(`${what} must have ${min} to ${max} entries`);
  return value;
}

function text(value: JsonValue | undefined, what: string, max: number = LIMITS.uriLength): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    fail(`${what} must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

function unique(values: string[], what: string): void {
  if (new Set(values).size !== values.length) fail(`${what} has duplicates`);
}

function uri(value: JsonValue | undefined, what: string): string {
  const result = text(value, what);
  if (!URL.canParse(result)) fail(`${what} must be an absolute URI`);
  return result;
}

function multikey(value: JsonValue | undefined, what: string, expected?: KeyAlgorithm): string {
  const result = text(value, what, 4096);
  try {
    decodePublicKeyMultibase(result, expected);
  } catch (error) {
    throw new PersonaError(
      'malformed',
      `${what} is not a valid ${expected ?? ''} Multikey`.replace('  ', ' '),
      undefined,
      {
        cause: error,
      },
    );
  }
  return result;
}

/** Unpadded base64url that must round-trip (no stray trailing bits) and, if given, decode to `length` bytes. */
function signature(value: JsonValue | undefined, what: string, length?: number): string {
  const result = text(value, what, 16_384);
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(result);
  } catch {
    fail(`${what} must be unpadded base64url`);
  }
  if (base64urlnopad.encode(bytes) !== result) fail(`${what} is not canonical base64url`);
  if (length !== undefined && bytes.length !== length) fail(`${what} must be ${length} bytes`);
  if (bytes.length > MAX_GUARDIAN_SIGNATURE_BYTES) fail(`${what} is too long`);
  return result;
}

function rotationKeys(value: JsonValue | undefined, what: string): RotationKey[] {
  const keys = list(value, LIMITS.rotationKeys, what, 1).map((entry, i): RotationKey => {
    const where = `${what}[${i}]`;
    const hybrid = typeof entry === 'object' && entry !== null && 'mlDsa65' in entry;
    const fields = record(entry, hybrid ? ['ed25519', 'mlDsa65'] : ['ed25519'], where);
    const key: RotationKey = { ed25519: multikey(fields.ed25519, `${where}.ed25519`, 'Ed25519') };
    if (hybrid) key.mlDsa65 = multikey(fields.mlDsa65, `${where}.mlDsa65`, 'ML-DSA-65');
    return key;
  });
  // A signature names its key by the Ed25519 half, so that half must identify one key.
  unique(
    keys.map((key) => key.ed25519),
    `${what} (Ed25519 halves)`,
  );
  return keys;
}

function verificationMethods(value: JsonValue | undefined): PersonaVerificationMethod[] {
  return list(value, LIMITS.verificationMethods, 'verificationMethods').map((entry, i) => {
    const where = `verificationMethods[${i}]`;
    const fields = record(entry, ['id', 'publicKeyMultibase', 'relationships'], where);
    const id = text(fields.id, `${where}.id`, 64);
    if (!FRAGMENT.test(id)) fail(`${where}.id must be 1-64 of A-Z a-z 0-9 . _ ~ -`);
    const relationships = list(
      fields.relationships,
      VERIFICATION_RELATIONSHIPS.length,
      `${where}.relationships`,
      1,
    );
    const positions = relationships.map((r) => VERIFICATION_RELATIONSHIPS.indexOf(r as never));
    // One order (VERIFICATION_RELATIONSHIPS') so one state has one encoding.
    if (positions.some((p, j) => p < 0 || (j > 0 && p <= (positions[j - 1] as number)))) {
      fail(`${where}.relationships must be distinct ${VERIFICATION_RELATIONSHIPS.join(', ')}, in that order`);
    }
    return {
      id,
      publicKeyMultibase: multikey(fields.publicKeyMultibase, `${where}.publicKeyMultibase`),
      relationships: relationships as PersonaVerificationMethod['relationships'],
    };
  });
}

function services(value: JsonValue | undefined): PersonaService[] {
  return list(value, LIMITS.services, 'services').map((entry, i) => {
    const where = `services[${i}]`;
    const fields = record(entry, ['id', 'type', 'serviceEndpoint'], where);
    const id = text(fields.id, `${where}.id`, 64);
    if (!FRAGMENT.test(id)) fail(`${where}.id must be 1-64 of A-Z a-z 0-9 . _ ~ -`);
    return {
      id,
      type: text(fields.type, `${where}.type`, 128),
      serviceEndpoint: uri(fields.serviceEndpoint, `${where}.serviceEndpoint`),
    };
  });
}

function guardians(value: JsonValue | undefined): Guardians | null {
  if (value === null) return null;
  const fields = record(value, ['dids', 'threshold', 'delaySeconds'], 'guardians');
  const dids = list(fields.dids, LIMITS.guardians, 'guardians.dids', 1).map((did, i) => {
    if (!isDid(did)) fail(`guardians.dids[${i}] must be a DID`);
    return did;
  });
  unique(dids, 'guardians.dids');
  const { threshold, delaySeconds } = fields;
  if (typeof threshold !== 'number' || threshold < 1 || threshold > dids.length) {
    fail('guardians.threshold must be an integer from 1 to the number of guardians');
  }
  if (
    typeof delaySeconds !== 'number' ||
    delaySeconds < LIMITS.minDelaySeconds ||
    delaySeconds > LIMITS.maxDelaySeconds
  ) {
    fail(
      `guardians.delaySeconds must be an integer from ${LIMITS.minDelaySeconds} to ${LIMITS.maxDelaySeconds}`,
    );
  }
  return { dids, threshold, delaySeconds };
}

function rotationSignature(value: JsonValue | undefined): RotationSignature {
  const hybrid = typeof value === 'object' && value !== null && 'mlDsa65' in value;
  const fields = record(value, hybrid ? ['key', 'ed25519', 'mlDsa65'] : ['key', 'ed25519'], 'sig');
  const sig: RotationSignature = {
    key: multikey(fields.key, 'sig.key', 'Ed25519'),
    ed25519: signature(fields.ed25519, 'sig.ed25519', SIGNATURE_LENGTHS.ed25519),
  };
  if (hybrid) sig.mlDsa65 = signature(fields.mlDsa65, 'sig.mlDsa65', SIGNATURE_LENGTHS.mlDsa65);
  return sig;
}

function guardianSignatures(value: JsonValue | undefined): GuardianSignature[] {
  return list(value, LIMITS.guardianSignatures, 'guardianSigs', 1).map((entry, i) => {
    const where = `guardianSigs[${i}]`;
    const fields = record(entry, ['did', 'key', 'sig'], where);
    if (!isDid(fields.did)) fail(`${where}.did must be a DID`);
    return {
      did: fields.did,
      key: multikey(fields.key, `${where}.key`),
      sig: signature(fields.sig, `${where}.sig`),
    };
  });
}

/** Checks a parsed operation's shape and returns it typed; throws PersonaError('malformed'). */
export function validateOperation(value: JsonValue): PersonaOperation {
  const type = typeof value === 'object' && value !== null && !Array.isArray(value) ? value.type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) fail('unknown operation type');
  const fields = record(value, FIELDS[type as PersonaOperation['type']], `a ${type} operation`);
  const chain = () => {
    if (!isPersonaDid(fields.did)) fail('did must be a did:persona DID');
    if (typeof fields.prev !== 'string' || !HASH_PATTERN.test(fields.prev))
      fail('prev must be an operation hash');
    return { did: fields.did, prev: fields.prev };
  };
  const documentFields = () => ({
    verificationMethods: verificationMethods(fields.verificationMethods),
    services: services(fields.services),
    alsoKnownAs: list(fields.alsoKnownAs, LIMITS.alsoKnownAs, 'alsoKnownAs').map((v, i) =>
      uri(v, `alsoKnownAs[${i}]`),
    ),
  });
  switch (type) {
    case 'create': {
      if (fields.prev !== null) fail('a create operation has prev null');
      const fragments = documentFields();
      unique(
        [...fragments.verificationMethods, ...fragments.services].map((e) => e.id),
        'verification method and service ids',
      );
      return {
        type,
        prev: null,
        rotationKeys: rotationKeys(fields.rotationKeys, 'rotationKeys'),
        ...fragments,
        guardians: guardians(fields.guardians),
        sig: rotationSignature(fields.sig),
      };
    }
    case 'update': {
      const fragments = documentFields();
      unique(
        [...fragments.verificationMethods, ...fragments.services].map((e) => e.id),
        'verification method and service ids',
      );
      return { type, ...chain(), ...fragments, sig: rotationSignature(fields.sig) };
    }
    case 'rotate':
      return {
        type,
        ...chain(),
        rotationKeys: rotationKeys(fields.rotationKeys, 'rotationKeys'),
        guardians: guardians(fields.guardians),
        sig: rotationSignature(fields.sig),
      };
    case 'recoveryRequest':
      return {
        type,
        ...chain(),
        rotationKeys: rotationKeys(fields.rotationKeys, 'rotationKeys'),
        guardianSigs: guardianSignatures(fields.guardianSigs),
      };
    default:
      return {
        type: type as 'deactivate' | 'recoveryCancel' | 'recover',
        ...chain(),
        sig: rotationSignature(fields.sig),
      };
  }
}

/** The canonical bytes of a signed operation: what goes into the ledger and what its hash is over. */
export function encodeOperation(operation: PersonaOperation): Uint8Array {
  const bytes = canonicalJson(operation);
  if (bytes.length > MAX_OPERATION_BYTES) fail(`the operation is larger than ${MAX_OPERATION_BYTES} bytes`);
  return bytes;
}

/** Parses ledger entry bytes into an operation; refuses non-canonical bytes and malformed operations. */
export function decodeOperation(bytes: Uint8Array): PersonaOperation {
  if (bytes.length > MAX_OPERATION_BYTES) fail(`the operation is larger than ${MAX_OPERATION_BYTES} bytes`);
  return validateOperation(parseCanonicalJson(bytes));
}

/**
 * The DID a ledger entry belongs to (derived for a genesis, named by any other operation), for indexing
 * entries by DID. Says nothing about validity: only verifyHistory does.
 */
export async function personaOperationDid(bytes: Uint8Array): Promise<string> {
  const operation = decodeOperation(bytes);
  return operation.type === 'create' ? personaDidFromGenesis(bytes) : operation.did;
}

import { ed25519 } from '@noble/curves/ed25519.js';
import {
  BoundedCache,
  decodePublicKeyMultibase,
  encodePublicKeyMultibase,
  type KeyAlgorithm,
} from '@personachain/crypto';
import { base58 } from '@scure/base';
import { deepFreeze } from '../deep-freeze.js';
import {
  DID_CONTEXT_V1,
  type DidDocument,
  MULTIKEY_CONTEXT_V1,
  multikeyVerificationMethod,
} from './document.js';
import { DidError } from './errors.js';
import type { DidMethod, DidMethodResolveOptions } from './method.js';
import { parseDid } from './syntax.js';

/**
 * did:key (W3C-CCG did:key Method v0.7): `did:key:` + Multikey (`z` + base58btc(multicodec ‖ raw key)),
 * expanded into a DID document by the spec's Document Creation Algorithm.
 */

/**
 * The key types did:key documents are produced for, with the spec's public key lengths. P-521 is not in the
 * v0.7 key-length table; it follows the multicodec table (p521-pub 0x1202, a compressed point: 67 bytes) as
 * the other NIST curves do, which is also the form of the P-521 DIDs in w3c-ccg/did-method-key's
 * test-vectors/nist-curves.json (`did:key:z2J9…`).
 */
const DID_KEY_TYPES = new Map<number, { algorithm: KeyAlgorithm; length: number }>([
  [0xed, { algorithm: 'Ed25519', length: 32 }],
  [0x1200, { algorithm: 'P-256', length: 33 }],
  [0x1201, { algorithm: 'P-384', length: 49 }],
  [0x1202, { algorithm: 'P-521', length: 67 }],
  [0xe7, { algorithm: 'secp256k1', length: 33 }],
  [0xeb, { algorithm: 'BLS12-381-G2', length: 96 }],
]);

export const DID_KEY_ALGORITHMS: readonly KeyAlgorithm[] = [...DID_KEY_TYPES.values()].map(
  (t) => t.algorithm,
);

const BASE58BTC_MULTIBASE = /^z[1-9A-HJ-NP-Za-km-z]+$/;
// The largest supported key (BLS12-381 G2, 96 bytes + 2-byte prefix) is ~135 base58 characters.
const MAX_MULTIBASE_LENGTH = 256;

/**
 * publicKeyFormat names the spec knows. Only `Multikey` is produced; the rest are recognised so that a
 * request for them gets the spec's `invalidPublicKeyType` (when experimental types are off) or
 * `unsupportedPublicKeyType`, not a generic error.
 */
const KNOWN_PUBLIC_KEY_FORMATS = new Set([
  'Multikey',
  'JsonWebKey',
  'JsonWebKey2020',
  'Ed25519VerificationKey2018',
  'Ed25519VerificationKey2020',
  'X25519KeyAgreementKey2019',
  'X25519KeyAgreementKey2020',
]);
/** Allowed when `enableExperimentalPublicKeyTypes` is false: signature method algorithm, step 7. */
const NON_EXPERIMENTAL_FORMATS = new Set(['Multikey', 'JsonWebKey', 'Ed25519VerificationKey2020']);

export interface DidKeyOptions {
  /** Default `Multikey`, the only format produced. */
  publicKeyFormat?: string;
  /** Default false, as the spec recommends. */
  enableExperimentalPublicKeyTypes?: boolean;
  /** Derive the X25519 keyAgreement key of an Ed25519 did:key. Default true. */
  enableEncryptionKeyDerivation?: boolean;
}

/** The did:key DID of a public key (Ed25519, P-256, P-384, P-521, secp256k1 or BLS12-381-G2). */
export function createDidKey(algorithm: KeyAlgorithm, publicKey: Uint8Array): string {
  if (!DID_KEY_ALGORITHMS.includes(algorithm)) {
    throw new DidError('unsupportedPublicKeyType', `did:key is not supported for ${algorithm} keys here`);
  }
  return `did:key:${encodePublicKeyMultibase(algorithm, publicKey)}`;
}

/** Decodes the key of a did:key DID, with the spec's error for each way it can be wrong. */
export function decodeDidKey(did: string): {
  algorithm: KeyAlgorithm;
  publicKey: Uint8Array;
  multibase: string;
} {
  const { method, methodSpecificId } = parseDid(did);
  if (method !== 'key') throw new DidError('invalidDid', `${did} is not a did:key DID`);
  const parts = methodSpecificId.split(':');
  // did:key:<mb-value>, or did:key:<version>:<mb-value> where version is a positive integer.
  if (parts.length > 2)
    throw new DidError('invalidDid', 'a did:key DID has at most a version and a multibase value');
  const multibase = parts[parts.length - 1] as string;
  if (parts.length === 2 && !/^[1-9][0-9]*$/.test(parts[0] as string)) {
    throw new DidError('invalidDid', `the did:key version "${parts[0]}" is not a positive integer`);
  }
  if (!multibase.startsWith('z')) {
    throw new DidError('invalidDid', 'the did:key multibase value must start with "z" (base58btc)');
  }
  if (!BASE58BTC_MULTIBASE.test(multibase) || multibase.length > MAX_MULTIBASE_LENGTH) {
    throw new DidError('invalidDid', 'the did:key multibase value is not base58btc of a supported key');
  }
  const bytes = base58.decode(multibase.slice(1));
  const header = readVarint(bytes);
  const keyType = header && DID_KEY_TYPES.get(header.code);
  if (!header || !keyType) {
    throw new DidError('invalidDid', 'the did:key multicodec header is not a supported public key type');
  }
  if (bytes.length - header.length !== keyType.length) {
    throw new DidError(
      'invalidPublicKeyLength',
      `a did:key ${keyType.algorithm} key is ${keyType.length} bytes, not ${bytes.length - header.length}`,
    );
  }
  try {
    const { publicKey } = decodePublicKeyMultibase(multibase, keyType.algorithm);
    return { algorithm: keyType.algorithm, publicKey, multibase };
  } catch (error) {
    throw new DidError(
      'invalidPublicKey',
      `the did:key value is not a valid ${keyType.algorithm} public key`,
      {
        cause: error,
      },
    );
  }
}

/** A minimal unsigned varint of up to 3 bytes (every supported code is below 2^21), or undefined. */
function readVarint(bytes: Uint8Array): { code: number; length: number } | undefined {
  let code = 0;
  for (let index = 0; index < 3 && index < bytes.length; index++) {
    const byte = bytes[index] as number;
    code |= (byte & 0x7f) << (7 * index);
    if ((byte & 0x80) === 0) return index > 0 && byte === 0 ? undefined : { code, length: index + 1 };
  }
  return undefined;
}

function checkPublicKeyFormat(options: DidKeyOptions): void {
  const format = options.publicKeyFormat ?? 'Multikey';
  if (typeof format !== 'string' || !KNOWN_PUBLIC_KEY_FORMATS.has(format)) {
    throw new DidError('unsupportedPublicKeyType', `publicKeyFormat ${JSON.stringify(format)} is not known`);
  }
  if (options.enableExperimentalPublicKeyTypes !== true && !NON_EXPERIMENTAL_FORMATS.has(format)) {
    throw new DidError(
      'invalidPublicKeyType',
      `publicKeyFormat ${format} needs enableExperimentalPublicKeyTypes (allowed without it: Multikey, JsonWebKey, Ed25519VerificationKey2020)`,
    );
  }
  if (format !== 'Multikey') {
    throw new DidError(
      'unsupportedPublicKeyType',
      `this resolver expresses did:key keys as Multikey, not ${format}`,
    );
  }
}

/**
 * The DID document of a did:key DID. For Ed25519 it also carries the X25519 key derived by the
 * birational map of RFC 7748 §4.1 (the spec's "Derive Encryption Key Algorithm"), embedded in
 * keyAgreement as in the spec's "Ed25519 with X25519" example.
 */
export function didKeyDocument(did: string, options: DidKeyOptions = {}): DidDocument {
  const { algorithm, publicKey, multibase } = decodeDidKey(did);
  checkPublicKeyFormat(options);
  const method = multikeyVerificationMethod(did, multibase);
  const document: DidDocument = {
    '@context': [DID_CONTEXT_V1, MULTIKEY_CONTEXT_V1],
    id: did,
    verificationMethod: [method],
    authentication: [method.id],
    assertionMethod: [method.id],
    capabilityDelegation: [method.id],
    capabilityInvocation: [method.id],
  };
  if (algorithm === 'Ed25519' && options.enableEncryptionKeyDerivation !== false) {
    const x25519 = encodePublicKeyMultibase('X25519', ed25519.utils.toMontgomery(publicKey));
    document.keyAgreement = [multikeyVerificationMethod(did, x25519)];
  }
  return document;
}

/** No did:key option set (the resolver hands every method its `fetch`, `signal` and the like). */
function isDefaultResolution(options: DidMethodResolveOptions): boolean {
  return (
    options.publicKeyFormat === undefined &&
    options.enableExperimentalPublicKeyTypes === undefined &&
    options.enableEncryptionKeyDerivation === undefined
  );
}

function booleanOption(options: DidMethodResolveOptions, name: string): boolean | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  // Options arriving from an HTTP query string are strings.
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new DidError('invalidOptions', `${name} must be true or false`);
}

/**
 * Documents resolved with the default options. A did:key document is a pure function of the DID, but
 * building one decodes and validates the key (for Ed25519 also the X25519 derivation), which costs more
 * than the signature check of a credential it verifies; frozen because callers share them.
 */
const defaultDocuments = new BoundedCache<string, DidDocument>(4096);

/** The did:key method for the resolver. */
export const didKeyMethod: DidMethod = {
  name: 'key',
  async resolve(did, options) {
    if (isDefaultResolution(options)) {
      const cached = defaultDocuments.get(did);
      if (cached) return { didDocument: cached };
      return { didDocument: defaultDocuments.set(did, deepFreeze(didKeyDocument(did))) };
    }
    const publicKeyFormat = options.publicKeyFormat;
    if (publicKeyFormat !== undefined && typeof publicKeyFormat !== 'string') {
      throw new DidError('invalidOptions', 'publicKeyFormat must be a string');
    }
    const keyOptions: DidKeyOptions = {};
    if (publicKeyFormat !== undefined) keyOptions.publicKeyFormat = publicKeyFormat;
    const experimental = booleanOption(options, 'enableExperimentalPublicKeyTypes');
    if (experimental !== undefined) keyOptions.enableExperimentalPublicKeyTypes = experimental;
    const derivation = booleanOption(options, 'enableEncryptionKeyDerivation');
    if (derivation !== undefined) keyOptions.enableEncryptionKeyDerivation = derivation;
    return { didDocument: didKeyDocument(did, keyOptions) };
  },
};

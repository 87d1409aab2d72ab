import { encodePublicKeyMultibase, type KeyAlgorithm } from '@personachain/crypto';
import { DidError } from './errors.js';
import { parseDid, parseDidUrl } from './syntax.js';

/** JSON-LD contexts of DID documents with Multikey verification methods (what did:key documents use). */
export const DID_CONTEXT_V1 = 'https://www.w3.org/ns/did/v1';
export const MULTIKEY_CONTEXT_V1 = 'https://w3id.org/security/multikey/v1';

export interface VerificationMethod {
  id: string;
  type: string;
  controller: string;
  publicKeyMultibase?: string;
  publicKeyJwk?: Record<string, unknown>;
  [property: string]: unknown;
}

export const VERIFICATION_RELATIONSHIPS = [
  'authentication',
  'assertionMethod',
  'keyAgreement',
  'capabilityInvocation',
  'capabilityDelegation',
] as const;
export type VerificationRelationship = (typeof VERIFICATION_RELATIONSHIPS)[number];

/** A DID document (DID Core §5); the core properties typed, anything else kept. */
export interface DidDocument {
  '@context'?: string | Array<string | Record<string, unknown>>;
  id: string;
  controller?: string | string[];
  alsoKnownAs?: string[];
  verificationMethod?: VerificationMethod[];
  authentication?: Array<string | VerificationMethod>;
  assertionMethod?: Array<string | VerificationMethod>;
  keyAgreement?: Array<string | VerificationMethod>;
  capabilityInvocation?: Array<string | VerificationMethod>;
  capabilityDelegation?: Array<string | VerificationMethod>;
  service?: Array<{
    id: string;
    type: string | string[];
    serviceEndpoint: unknown;
    [property: string]: unknown;
  }>;
  [property: string]: unknown;
}

/** Key-agreement algorithms; every other key algorithm is a signature algorithm here. */
const KEY_AGREEMENT_ALGORITHMS: ReadonlySet<KeyAlgorithm> = new Set(['X25519', 'ML-KEM-768', 'ML-KEM-1024']);

export interface DidDocumentKey {
  algorithm: KeyAlgorithm;
  publicKey: Uint8Array;
  /** The verification method id is `${did}#${fragment}`; default: the key's publicKeyMultibase. */
  fragment?: string;
  /**
   * Default: keyAgreement for X25519 and ML-KEM keys; authentication, assertionMethod,
   * capabilityInvocation and capabilityDelegation for signature keys.
   */
  relationships?: VerificationRelationship[];
}

export interface BuildDidDocumentOptions {
  keys: DidDocumentKey[];
  service?: DidDocument['service'];
  alsoKnownAs?: string[];
  controller?: string | string[];
}

function defaultRelationships(algorithm: KeyAlgorithm): VerificationRelationship[] {
  return KEY_AGREEMENT_ALGORITHMS.has(algorithm)
    ? ['keyAgreement']
    : ['authentication', 'assertionMethod', 'capabilityInvocation', 'capabilityDelegation'];
}

/** A Multikey verification method (W3C Controlled Identifiers §2.2.2). */
export function multikeyVerificationMethod(
  controller: string,
  publicKeyMultibase: string,
  fragment: string = publicKeyMultibase,
): VerificationMethod {
  return { id: `${controller}#${fragment}`, type: 'Multikey', controller, publicKeyMultibase };
}

/**
 * A DID document for `did` with one Multikey verification method per key, referenced by id from each
 * of its verification relationships; for hosting did:web documents of the platform's issuers.
 */
export function buildDidDocument(did: string, options: BuildDidDocumentOptions): DidDocument {
  parseDid(did);
  const document: DidDocument = { '@context': [DID_CONTEXT_V1, MULTIKEY_CONTEXT_V1], id: did };
  if (options.controller !== undefined) document.controller = options.controller;
  if (options.alsoKnownAs !== undefined) document.alsoKnownAs = options.alsoKnownAs;
  const methods: VerificationMethod[] = [];
  const relationships = new Map<VerificationRelationship, string[]>();
  for (const key of options.keys) {
    const method = multikeyVerificationMethod(
      did,
      encodePublicKeyMultibase(key.algorithm, key.publicKey),
      key.fragment,
    );
    parseDidUrl(method.id);
    if (methods.some((existing) => existing.id === method.id)) {
      throw new DidError('invalidDidDocument', `two verification methods have the id ${method.id}`);
    }
    methods.push(method);
    for (const relationship of key.relationships ?? defaultRelationships(key.algorithm)) {
      relationships.set(relationship, [...(relationships.get(relationship) ?? []), method.id]);
    }
  }
  if (methods.length > 0) document.verificationMethod = methods;
  for (const relationship of VERIFICATION_RELATIONSHIPS) {
    const ids = relationships.get(relationship);
    if (ids) document[relationship] = ids;
  }
  if (options.service !== undefined) document.service = options.service;
  return document;
}

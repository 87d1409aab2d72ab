import { constantTimeEqual } from '@personachain/crypto';
import { CREDENTIALS_V1_CONTEXT, DATA_INTEGRITY_V2_CONTEXT } from '../contexts/index.js';
import { CredentialError } from '../errors.js';
import { isBbsSigner } from './bbs-signer.js';
import type { DocumentLoader } from './document-loader.js';
import { assertWellFormedJsonLd, toCredentialError } from './jsonld-errors.js';
import type { DataIntegritySigner } from './signer.js';
import { type CryptosuiteName, isCryptosuiteName } from './suites.js';
import type { Violation } from './validation.js';
import type { JsonObject } from './values.js';
import { isObject } from './values.js';
import { loadVerificationMethod, type ResolvedVerificationMethod } from './verification-method.js';

/**
 * What issuing a credential and signing a presentation share: a deep copy of the input (the caller's object
 * is never changed), the data-integrity context added to a VC 1.1 `@context` (v1 defines no
 * `DataIntegrityProof`; v2 includes it), data-model and JSON-LD checks, and a signer whose verification
 * method resolves to a key of the signer's algorithm.
 */
export async function prepareForSigning(input: {
  document: unknown;
  kind: 'credential' | 'presentation';
  suite: CryptosuiteName;
  signer: DataIntegritySigner;
  documentLoader: DocumentLoader;
  validate: (document: unknown) => Violation[];
}): Promise<{ document: JsonObject; method: ResolvedVerificationMethod }> {
  const { kind, suite, signer, documentLoader, validate } = input;
  if (!isCryptosuiteName(suite)) {
    throw new CredentialError('unsupported-cryptosuite', `Unsupported cryptosuite "${String(suite)}".`);
  }
  if (!isObject(input.document)) {
    throw new CredentialError(`invalid-${kind}`, `The ${kind} must be a JSON object.`);
  }
  const document = structuredClone(input.document);
  const context = document['@context'];
  if (
    Array.isArray(context) &&
    context[0] === CREDENTIALS_V1_CONTEXT &&
    !context.includes(DATA_INTEGRITY_V2_CONTEXT)
  ) {
    document['@context'] = [...context, DATA_INTEGRITY_V2_CONTEXT];
  }
  const violations = validate(document);
  const first = violations[0];
  if (first !== undefined) {
    throw new CredentialError(
      `invalid-${kind}`,
      `Invalid ${kind}: ${first.path || '/'}: ${first.message}${violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''}`,
      { details: { violations } },
    );
  }
  await assertWellFormedJsonLd(document, documentLoader);
  let method: ResolvedVerificationMethod;
  try {
    method = await loadVerificationMethod(signer.id, documentLoader);
  } catch (cause) {
    throw new CredentialError(
      'invalid-signer',
      `The signer's verification method is unusable: ${messageOf(cause)}`,
      {
        cause,
      },
    );
  }
  if (method.algorithm !== signer.algorithm) {
    throw new CredentialError(
      'invalid-signer',
      `The signer is ${signer.algorithm} but its verification method "${signer.id}" holds a ${method.algorithm} key.`,
    );
  }
  // A BBS signer writes its public key into the base proof, where holders derive from it: it must be the
  // verification method's key, or every derived proof would fail to verify.
  if (isBbsSigner(signer) && !(method.publicKey && constantTimeEqual(method.publicKey, signer.publicKey))) {
    throw new CredentialError(
      'invalid-signer',
      `The BBS signer's public key is not the key of its verification method "${signer.id}".`,
    );
  }
  return { document, method };
}

/** Runs a digitalbazaar signing call, turning its JSON-LD and loader errors into `CredentialError`s. */
export async function runSigning<T>(sign: () => Promise<T>): Promise<T> {
  try {
    return await sign();
  } catch (error) {
    throw toCredentialError(error);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

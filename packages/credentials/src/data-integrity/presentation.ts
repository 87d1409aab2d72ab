import * as vc from '@digitalbazaar/vc';
import { CREDENTIALS_V1_CONTEXT, CREDENTIALS_V2_CONTEXT } from '../contexts/index.js';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import { proofDate } from './issue.js';
import { prepareForSigning, runSigning } from './secure.js';
import type { DataIntegritySigner } from './signer.js';
import { type CryptosuiteName, isSelectiveDisclosureSuite, signingSuite } from './suites.js';
import { validatePresentation } from './validation.js';
import { asArray, isAbsoluteUrl, type JsonObject } from './values.js';

export interface CreatePresentationInput {
  verifiableCredential?: JsonObject | JsonObject[];
  id?: string;
  holder?: string;
  /** VC Data Model version of the presentation's context; 2 unless given. */
  version?: 1 | 2;
}

/** An unsigned presentation of the given credentials. */
export function createPresentation(input: CreatePresentationInput = {}): JsonObject {
  const { verifiableCredential, id, holder, version = 2 } = input;
  if (id !== undefined && !isAbsoluteUrl(id))
    throw new CredentialError('invalid-presentation', '"id" must be a URL.');
  if (holder !== undefined && !isAbsoluteUrl(holder)) {
    throw new CredentialError('invalid-presentation', '"holder" must be a URL.');
  }
  const presentation: JsonObject = {
    '@context': [version === 1 ? CREDENTIALS_V1_CONTEXT : CREDENTIALS_V2_CONTEXT],
    type: ['VerifiablePresentation'],
  };
  if (id !== undefined) presentation.id = id;
  if (holder !== undefined) presentation.holder = holder;
  const credentials = asArray(verifiableCredential);
  if (credentials.length > 0) {
    presentation.verifiableCredential = Array.isArray(verifiableCredential)
      ? credentials
      : verifiableCredential;
  }
  return presentation;
}

export interface SignPresentationInput {
  presentation: unknown;
  suite: CryptosuiteName;
  signer: DataIntegritySigner;
  /** The verifier's challenge (required: it is what stops a replayed presentation). */
  challenge: string;
  domain?: string;
  documentLoader: DocumentLoader;
  options?: { created?: Date | string };
}

/** Adds an `authentication` proof with `challenge` (and `domain`) to a presentation; the input is not changed. */
export async function signPresentation(input: SignPresentationInput): Promise<JsonObject> {
  const { suite, signer, challenge, domain, documentLoader, options = {} } = input;
  if (typeof challenge !== 'string' || challenge.length === 0) {
    throw new CredentialError('invalid-argument', 'A presentation proof needs a non-empty "challenge".');
  }
  if (domain !== undefined && (typeof domain !== 'string' || domain.length === 0)) {
    throw new CredentialError('invalid-argument', '"domain" must be a non-empty string.');
  }
  if (isSelectiveDisclosureSuite(suite)) {
    // Their base proofs verify only once derived; a holder's own presentation proof has nothing to disclose.
    throw new CredentialError(
      'unsupported-cryptosuite',
      `${suite} secures credentials for selective disclosure, not presentations.`,
    );
  }
  const created = proofDate(options.created);
  const { document: presentation } = await prepareForSigning({
    document: input.presentation,
    kind: 'presentation',
    suite,
    signer,
    documentLoader,
    validate: validatePresentation,
  });
  const dataIntegrityProof = signingSuite(suite, signer, created);
  return runSigning(() =>
    vc.signPresentation({
      presentation,
      suite: dataIntegrityProof,
      documentLoader,
      challenge,
      ...(domain === undefined ? {} : { domain }),
    }),
  );
}

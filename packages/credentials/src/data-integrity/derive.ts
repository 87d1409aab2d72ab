import * as vc from '@digitalbazaar/vc';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import { toCredentialError } from './jsonld-errors.js';
import { messageOf } from './secure.js';
import { assertPointers, proofValueKind } from './selective-disclosure.js';
import { derivingSuite, isSelectiveDisclosureSuite, type SelectiveDisclosureSuite } from './suites.js';
import { validateCredential } from './validation.js';
import { asArray, isObject, type JsonObject } from './values.js';

export interface DeriveCredentialInput {
  /** A credential with an `ecdsa-sd-2023` or `bbs-2023` base proof (as issued). */
  credential: unknown;
  /** JSON pointers (RFC 6901) into the credential to disclose besides the issuer's mandatory ones. */
  selectivePointers?: string[];
  documentLoader: DocumentLoader;
  /** bbs-2023 only: bytes bound into the BBS proof (e.g. a verifier's nonce); empty if not given. */
  presentationHeader?: Uint8Array;
}

/**
 * The holder's side of selective disclosure: from a credential with a base proof, the credential that
 * discloses only the issuer's mandatory statements and those `selectivePointers` select, with a derived
 * proof a verifier can check (`verifyCredential`). Statements not selected are absent from the result.
 * Errors (`CredentialError`): `invalid-credential` (data model), `invalid-proof` (no single ecdsa-sd-2023 /
 * bbs-2023 base proof, or one that does not parse), `invalid-pointer` (malformed or selecting nothing),
 * `invalid-argument` (nothing to disclose; a presentation header for ecdsa-sd-2023; a selection that leaves
 * out what a credential needs, such as the issuer), `unknown-context`, `malformed-jsonld`.
 */
export async function deriveCredential(input: DeriveCredentialInput): Promise<JsonObject> {
  const { credential, selectivePointers = [], documentLoader, presentationHeader } = input;
  const violations = validateCredential(credential);
  if (violations.length > 0 || !isObject(credential)) {
    const first = violations[0];
    throw new CredentialError(
      'invalid-credential',
      `Invalid credential: ${first ? `${first.path || '/'}: ${first.message}` : 'not an object'}`,
      { details: { violations } },
    );
  }
  const suite = baseProofSuite(credential);
  if (presentationHeader !== undefined) {
    if (suite !== 'bbs-2023') {
      throw new CredentialError(
        'invalid-argument',
        `A presentation header is a bbs-2023 feature, not ${suite}.`,
      );
    }
    if (!(presentationHeader instanceof Uint8Array)) {
      throw new CredentialError('invalid-argument', 'The presentation header must be bytes (a Uint8Array).');
    }
  }
  const { proof: _, ...unsecured } = credential;
  assertPointers(unsecured, selectivePointers, 'selective pointer');

  let derived: JsonObject;
  try {
    derived = await vc.derive({
      verifiableCredential: structuredClone(credential),
      suite: derivingSuite(suite, selectivePointers, presentationHeader),
      documentLoader,
    });
  } catch (error) {
    throw deriveError(error);
  }
  const missing = validateCredential(derived);
  const first = missing[0];
  if (first !== undefined) {
    throw new CredentialError(
      'invalid-argument',
      `The disclosed credential would not be a valid credential (${first.path || '/'}: ${first.message}); the selection must keep what a credential requires, such as "/issuer" and "/credentialSubject".`,
      { details: { violations: missing } },
    );
  }
  return derived;
}

/** The suite of the credential's one selective-disclosure base proof. */
function baseProofSuite(credential: JsonObject): SelectiveDisclosureSuite {
  const bases: SelectiveDisclosureSuite[] = [];
  for (const proof of asArray(credential.proof)) {
    if (!isObject(proof) || !isSelectiveDisclosureSuite(proof.cryptosuite)) continue;
    const kind = proofValueKind(proof.cryptosuite, proof.proofValue);
    if (kind === 'derived') {
      throw new CredentialError(
        'invalid-proof',
        `The ${proof.cryptosuite} proof is already a derived proof; derive from the issuer's base proof.`,
      );
    }
    if (kind === 'base') bases.push(proof.cryptosuite);
  }
  const [suite, ...others] = bases;
  if (suite === undefined) {
    throw new CredentialError('invalid-proof', 'The credential has no ecdsa-sd-2023 or bbs-2023 base proof.');
  }
  if (others.length > 0) {
    throw new CredentialError(
      'invalid-proof',
      'The credential has several base proofs; only one can be derived from.',
    );
  }
  return suite;
}

function deriveError(error: unknown): unknown {
  const converted = toCredentialError(error);
  if (converted instanceof CredentialError) return converted;
  const message = messageOf(converted);
  if (message === 'Nothing selected for disclosure.') {
    return new CredentialError(
      'invalid-argument',
      'Nothing to disclose: the base proof has no mandatory pointers and no selective pointers were given.',
    );
  }
  // The library reads pointers against the compacted document; rare shapes (a one-element array compacted
  // to a value) can still miss there.
  if (/^JSON pointer ".*" does not match document\.$/.test(message)) {
    return new CredentialError('invalid-pointer', message, { cause: error });
  }
  const cause = (converted as { cause?: unknown }).cause;
  return new CredentialError(
    'invalid-proof',
    `Deriving failed: ${message}${cause === undefined ? '' : ` (${messageOf(cause)})`}`,
    { cause: error },
  );
}

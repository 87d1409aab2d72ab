import type { DocumentLoader } from './document-loader.js';
import { assertWellFormedJsonLd } from './jsonld-errors.js';
import { problemFrom, type VerificationProblem, verifyProofs } from './proof-verification.js';
import {
  dataModelVersion,
  isEnvelopedCredential,
  type Violation,
  validateCredential,
  validatePresentation,
} from './validation.js';
import { asArray, isObject, type JsonObject } from './values.js';

/** The checks a verification ran, in order (the VC-API `checks`). */
export type VerificationCheck = 'data-model' | 'json-ld' | 'proof' | 'validity-period' | 'credentials';

export interface VerificationResult {
  verified: boolean;
  errors: VerificationProblem[];
  checks: VerificationCheck[];
}

export interface VerifyPresentationResult extends VerificationResult {
  credentialResults: VerificationResult[];
}

export interface VerifyCredentialInput {
  credential: unknown;
  documentLoader: DocumentLoader;
  /** The time validity is judged at; now if not given. */
  now?: Date;
  /** bbs-2023: the presentation header the holder was asked to bind into the derived proof. */
  presentationHeader?: Uint8Array;
  /** When given, every proof must carry this `challenge` (VC-API verify `options.challenge`). */
  challenge?: string;
  /** When given, every proof's `domain` must be (or contain) it (VC-API verify `options.domain`). */
  domain?: string;
  /**
   * The proof purpose every proof must have (VC-API verify `options.expectedProofPurpose`); by default a
   * credential's proofs must be `assertionMethod` proofs.
   */
  expectedProofPurpose?: 'assertionMethod' | 'authentication';
}

/**
 * Verifies a Data Integrity secured credential: data model, JSON-LD (offline, safe mode), every proof
 * (cryptosuite, key type, signature, the key listed under `assertionMethod` by its controller, the controller
 * being the issuer), and the validity period. Never throws for a bad credential: the reasons are in `errors`.
 * Credential status is not checked here.
 */
export async function verifyCredential(input: VerifyCredentialInput): Promise<VerificationResult> {
  const {
    credential,
    documentLoader,
    now = new Date(),
    presentationHeader,
    challenge,
    domain,
    expectedProofPurpose = 'assertionMethod',
  } = input;
  const { checks, errors: documentErrors } = await checkCredentialDocument(credential, documentLoader);
  if (documentErrors.length > 0 || !isObject(credential))
    return { verified: false, errors: documentErrors, checks };

  checks.push('proof');
  const errors = await verifyProofs(credential, {
    documentLoader,
    now,
    purpose: expectedProofPurpose,
    controller: idOf(credential.issuer),
    presentationHeader,
    ...(challenge === undefined ? {} : { challenge }),
    domain,
  });

  checks.push('validity-period');
  errors.push(...validityProblems(credential, now));
  return { verified: errors.length === 0, errors, checks };
}

export interface VerifyPresentationInput {
  presentation: unknown;
  /** The challenge the verifier issued; the proof's `challenge` must equal it. */
  challenge: string;
  /** When given, the proof's `domain` must equal it (or, as an array, contain it). */
  domain?: string;
  documentLoader: DocumentLoader;
  now?: Date;
  /** Accept a presentation without a proof (its credentials are still verified). Default false. */
  allowUnsigned?: boolean;
  /**
   * Verifies an embedded EnvelopedVerifiableCredential (its securing mechanism, e.g. VC-JOSE-COSE, is not
   * Data Integrity). Without it such credentials fail with `unverifiable-envelope`.
   */
  verifyEnvelopedCredential?: (envelope: JsonObject) => Promise<VerificationResult>;
}

/**
 * Verifies a presentation: its data model, its `authentication` proof with the expected challenge and
 * domain, and every embedded credential (each result in `credentialResults`, in order): Data Integrity
 * credentials on their own proofs, self-asserted ones (no proof of their own, in a signed presentation) under
 * the presentation's proof, enveloped ones through `verifyEnvelopedCredential`.
 */
export async function verifyPresentation(input: VerifyPresentationInput): Promise<VerifyPresentationResult> {
  const { presentation, challenge, domain, documentLoader, now = new Date(), allowUnsigned = false } = input;
  const { verifyEnvelopedCredential = unverifiableEnvelope } = input;
  const checks: VerificationCheck[] = ['data-model'];
  const structural = violationsToProblems(validatePresentation(presentation), 'invalid-presentation');
  if (structural.length > 0 || !isObject(presentation)) {
    return { verified: false, errors: structural, checks, credentialResults: [] };
  }
  checks.push('json-ld');
  const jsonLdProblem = await checkJsonLd(presentation, documentLoader);
  if (jsonLdProblem !== undefined) {
    return { verified: false, errors: [jsonLdProblem], checks, credentialResults: [] };
  }
  const errors: VerificationProblem[] = [];
  const credentials = asArray(presentation.verifiableCredential);
  const holder = idOf(presentation.holder);
  const signed = presentation.proof !== undefined;
  const isSelfAsserted = (credential: unknown) =>
    signed && isObject(credential) && credential.proof === undefined;
  if (!(allowUnsigned && !signed)) {
    checks.push('proof');
    errors.push(
      ...(await verifyProofs(presentation, {
        documentLoader,
        now,
        purpose: 'authentication',
        challenge,
        domain,
        // Self-asserted credentials are secured by this proof alone: it must be the holder's.
        ...(credentials.some(isSelfAsserted) && holder !== undefined
          ? { controller: holder, controllerRole: 'holder' as const }
          : {}),
      })),
    );
  }
  checks.push('credentials');
  const credentialResults = await Promise.all(
    credentials.map((credential) => {
      if (isEnvelopedCredential(credential)) return verifyEnvelopedCredential(credential as JsonObject);
      if (isSelfAsserted(credential)) {
        return verifySelfAssertedCredential(credential as JsonObject, holder, documentLoader, now);
      }
      return verifyCredential({ credential, documentLoader, now });
    }),
  );
  credentialResults.forEach((result, i) => {
    if (!result.verified) {
      const path = Array.isArray(presentation.verifiableCredential)
        ? `/verifiableCredential/${i}`
        : '/verifiableCredential';
      const reasons = result.errors.map((e) => e.code).join(', ');
      errors.push({
        code: 'invalid-credential-in-presentation',
        message: `Credential ${path} did not verify: ${reasons}.`,
        path,
      });
    }
  });
  return { verified: errors.length === 0, errors, checks, credentialResults };
}

/**
 * A credential without a proof inside a signed presentation: a self-asserted credential, secured by the
 * presentation's proof (VCDM 2.0 §4.13.4). The presentation MUST name a holder, the credential's issuer MUST
 * be that holder (the presentation proof is then checked to be the holder's), and the credential must still
 * be a sound credential within its validity period.
 */
async function verifySelfAssertedCredential(
  credential: JsonObject,
  holder: string | undefined,
  documentLoader: DocumentLoader,
  now: Date,
): Promise<VerificationResult> {
  const { checks, errors } = await checkCredentialDocument(credential, documentLoader);
  if (errors.length > 0) return { verified: false, errors, checks };
  const issuer = idOf(credential.issuer);
  if (holder === undefined) {
    errors.push({
      code: 'holder-required',
      message: `A credential secured only by the presentation's proof (self-asserted by "${issuer}") needs the presentation's "holder".`,
    });
  } else if (issuer !== holder) {
    errors.push({
      code: 'holder-mismatch',
      message: `The self-asserted credential's issuer "${issuer}" is not the presentation's holder "${holder}".`,
      path: '/issuer',
    });
  }
  checks.push('validity-period');
  errors.push(...validityProblems(credential, now));
  return { verified: errors.length === 0, errors, checks };
}

async function unverifiableEnvelope(): Promise<VerificationResult> {
  const message = 'An enveloped credential needs its securing mechanism to verify it; none was given.';
  return { verified: false, errors: [{ code: 'unverifiable-envelope', message }], checks: ['data-model'] };
}

/** The data-model checks of a credential, then (when they pass) its JSON-LD checks; `checks` says which ran. */
async function checkCredentialDocument(
  credential: unknown,
  documentLoader: DocumentLoader,
): Promise<{ checks: VerificationCheck[]; errors: VerificationProblem[] }> {
  const structural = violationsToProblems(validateCredential(credential), 'invalid-credential');
  if (structural.length > 0 || !isObject(credential)) return { checks: ['data-model'], errors: structural };
  const jsonLdProblem = await checkJsonLd(credential, documentLoader);
  return { checks: ['data-model', 'json-ld'], errors: jsonLdProblem === undefined ? [] : [jsonLdProblem] };
}

function idOf(value: unknown): string | undefined {
  const id = isObject(value) ? value.id : value;
  return typeof id === 'string' ? id : undefined;
}

function violationsToProblems(
  violations: Violation[],
  code: 'invalid-credential' | 'invalid-presentation',
): VerificationProblem[] {
  return violations.map(({ path, message }) => ({ code, message, path }));
}

async function checkJsonLd(
  document: JsonObject,
  loader: DocumentLoader,
): Promise<VerificationProblem | undefined> {
  try {
    await assertWellFormedJsonLd(document, loader);
    return undefined;
  } catch (error) {
    return problemFrom(error, 'malformed-jsonld');
  }
}

function validityProblems(credential: JsonObject, now: Date): VerificationProblem[] {
  const v1 = dataModelVersion(credential) === 1;
  const from = v1 ? credential.issuanceDate : credential.validFrom;
  const until = v1 ? credential.expirationDate : credential.validUntil;
  const problems: VerificationProblem[] = [];
  if (typeof from === 'string' && Date.parse(from) > now.getTime()) {
    const property = v1 ? 'issuanceDate' : 'validFrom';
    problems.push({
      code: 'not-yet-valid',
      message: `The credential is not valid before ${from}.`,
      path: `/${property}`,
    });
  }
  if (typeof until === 'string' && Date.parse(until) < now.getTime()) {
    const property = v1 ? 'expirationDate' : 'validUntil';
    problems.push({ code: 'expired', message: `The credential expired at ${until}.`, path: `/${property}` });
  }
  return problems;
}

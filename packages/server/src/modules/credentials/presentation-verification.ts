import {
  CredentialError,
  type DocumentLoader,
  parseVpCoseDataUrl,
  type ResolveKey,
  type VerificationResult,
  VP_COSE_DATA_URL,
  VP_JWT_DATA_URL,
  VP_SD_JWT_DATA_URL,
  validateEnvelope,
  verifyPresentation,
  verifyVpCoseHolder,
  verifyVpJwtHolder,
  verifyVpSdJwtHolder,
} from '@personachain/credentials';
import type { SignatureVerifier } from '@personachain/crypto';
import { asArray, hasType, isObject, type JsonObject } from './json.js';

/** Why a presentation did not verify: the library's codes, `holder-mismatch` and the VC-JOSE-COSE ones. */
export interface Reason {
  code: string;
  message: string;
  path?: string;
}

/** What the verifier expects of the presentation's proof (VC-API verify `options`). */
export interface ExpectedProof {
  challenge?: string | undefined;
  domain?: string | undefined;
}

export interface PresentationOutcome {
  verified: boolean;
  checks: VerificationResult['checks'];
  errors: Reason[];
  /** Each embedded credential's verification, in the presentation's order. */
  credentialResults: VerificationResult[];
}

export interface PresentationVerifierOptions {
  documentLoader: DocumentLoader;
  /** The key of a VC-JOSE-COSE presentation's holder: a verification method its DID lists under `authentication`. */
  resolveKey: ResolveKey;
  /** Checks the holders' signatures (VerificationThreads); without it, on this thread. */
  signatureVerifier?: SignatureVerifier | undefined;
  /** A credential's verification with its status: Data Integrity or an EnvelopedVerifiableCredential. */
  checkCredential(credential: unknown): Promise<VerificationResult>;
  /** Adds its status to a Data Integrity credential the presentation verification already verified. */
  withStatus(result: VerificationResult, credential: unknown): Promise<VerificationResult>;
}

/** The VC-JOSE-COSE presentations verified here, by data: URL prefix: the holder's part of each verifier. */
const ENVELOPED_PRESENTATIONS: readonly {
  prefix: string;
  verifyHolder(
    id: string,
    options: Parameters<typeof verifyVpJwtHolder>[1],
  ): Promise<{ envelopes: JsonObject[] }>;
}[] = [
  {
    prefix: VP_JWT_DATA_URL,
    verifyHolder: (id, options) => verifyVpJwtHolder(id.slice(VP_JWT_DATA_URL.length), options),
  },
  {
    prefix: VP_SD_JWT_DATA_URL,
    verifyHolder: (id, options) => verifyVpSdJwtHolder(id.slice(VP_SD_JWT_DATA_URL.length), options),
  },
  {
    prefix: VP_COSE_DATA_URL,
    verifyHolder: (id, options) => verifyVpCoseHolder(parseVpCoseDataUrl(id), options),
  },
];
/** The presentation's nonce and aud carry the challenge and domain: their failures under the Data Integrity names. */
const JOSE_REASONS: Record<string, string> = {
  'nonce-mismatch': 'challenge-mismatch',
  'audience-mismatch': 'domain-mismatch',
};

/**
 * Verifies presentations: Data Integrity signed ones, unsigned ones when the verifier expects no challenge or
 * domain, and vp+jwt, vp+sd-jwt or vp+cose (EnvelopedVerifiablePresentation). Embedded credentials may be Data
 * Integrity secured or enveloped (vc+jwt, vc+sd-jwt, vc+cose); each is verified with its status, and any that fails fails the presentation.
 */
export class PresentationVerifier {
  constructor(private readonly options: PresentationVerifierOptions) {}

  verify(presentation: unknown, expected: ExpectedProof): Promise<PresentationOutcome> {
    return hasType(presentation, 'EnvelopedVerifiablePresentation')
      ? this.verifyEnveloped(presentation, expected)
      : this.verifyDataIntegrity(presentation, expected);
  }

  private async verifyDataIntegrity(
    presentation: unknown,
    { challenge, domain }: ExpectedProof,
  ): Promise<PresentationOutcome> {
    const result = await verifyPresentation({
      presentation,
      // Data Integrity checks a proof's challenge only against one the verifier expects: without one, the
      // library compares the proof's challenge with itself (an absent one included).
      challenge: challenge ?? (proofChallenge(presentation) as string),
      ...(domain === undefined ? {} : { domain }),
      documentLoader: this.options.documentLoader,
      allowUnsigned: challenge === undefined && domain === undefined,
    });
    if (!result.checks.includes('credentials')) return result;
    const { verifiableCredential } = presentation as JsonObject;
    // The library verifies every entry as a Data Integrity credential; enveloped ones are verified here.
    const credentialResults = await Promise.all(
      asArray(verifiableCredential).map((entry, i) =>
        hasType(entry, 'EnvelopedVerifiableCredential')
          ? this.options.checkCredential(entry)
          : this.options.withStatus(result.credentialResults[i] as VerificationResult, entry),
      ),
    );
    const own = [
      ...result.errors.filter((error) => error.code !== 'invalid-credential-in-presentation'),
      ...holderProblems(presentation as JsonObject),
    ];
    return outcome(result.checks, own, credentialResults, Array.isArray(verifiableCredential));
  }

  private async verifyEnveloped(
    envelope: JsonObject,
    { challenge, domain }: ExpectedProof,
  ): Promise<PresentationOutcome> {
    const checks: VerificationResult['checks'] = ['data-model', 'proof'];
    const violations = validateEnvelope(envelope, 'presentation');
    if (violations.length > 0) {
      const reasons = violations.map(({ path, message }) => ({
        code: 'invalid-presentation',
        message,
        path,
      }));
      return outcome(checks, reasons, [], true);
    }
    const { id } = envelope;
    const format =
      typeof id === 'string'
        ? ENVELOPED_PRESENTATIONS.find(({ prefix }) => id.startsWith(prefix))
        : undefined;
    if (typeof id !== 'string' || format === undefined) {
      const prefixes = ENVELOPED_PRESENTATIONS.map(({ prefix }) => `"${prefix}"`).join(', ');
      const message = `An enveloped presentation's id must be a data: URL starting with one of ${prefixes}.`;
      return outcome(checks, [{ code: 'invalid-presentation', message, path: '/id' }], [], true);
    }
    let envelopes: JsonObject[];
    try {
      ({ envelopes } = await format.verifyHolder(id, {
        resolveKey: this.options.resolveKey,
        signatureVerifier: this.options.signatureVerifier,
        ...(challenge === undefined ? {} : { nonce: challenge }),
        ...(domain === undefined ? {} : { audience: domain }),
      }));
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      const code = JOSE_REASONS[error.code] ?? error.code;
      return outcome(checks, [{ code, message: error.message, path: '/id' }], [], true);
    }
    const credentialResults = await Promise.all(
      envelopes.map((entry) => this.options.checkCredential(entry)),
    );
    return outcome([...checks, 'credentials'], [], credentialResults, true);
  }
}

/** The presentation's verdict: its own reasons plus one per credential that did not verify. */
function outcome(
  checks: VerificationResult['checks'],
  own: Reason[],
  results: VerificationResult[],
  listed: boolean,
): PresentationOutcome {
  const errors = [...own];
  // Only what the response shows of each credential (not its status entries).
  const credentialResults = results.map(({ verified, checks, errors }) => ({ verified, checks, errors }));
  credentialResults.forEach(({ verified, errors: reasons }, i) => {
    if (verified) return;
    const path = listed ? `/verifiableCredential/${i}` : '/verifiableCredential';
    const codes = reasons.map((reason) => reason.code).join(', ');
    errors.push({
      code: 'invalid-credential-in-presentation',
      message: `Credential ${path} did not verify: ${codes}.`,
      path,
    });
  });
  return { verified: errors.length === 0, checks, errors, credentialResults };
}

/**
 * A presentation that names its holder must be signed by it: each proof's verification method is a URL of
 * the holder's DID (that the DID lists the key under `authentication` is the library's check).
 */
function holderProblems(presentation: JsonObject): Reason[] {
  const holder = isObject(presentation.holder) ? presentation.holder.id : presentation.holder;
  if (typeof holder !== 'string') return [];
  return asArray(presentation.proof).flatMap((proof, i) => {
    const method = isObject(proof) ? proof.verificationMethod : undefined;
    const id = isObject(method) ? method.id : method;
    if (typeof id !== 'string' || id.split('#')[0] === holder) return [];
    const path = `/proof${Array.isArray(presentation.proof) ? `/${i}` : ''}/verificationMethod`;
    const message = `The proof is signed with "${id}", not with a key of the holder "${holder}".`;
    return [{ code: 'holder-mismatch', message, path }];
  });
}

/** The challenge of a presentation's single proof, if it has one. */
function proofChallenge(presentation: unknown): string | undefined {
  const proof = isObject(presentation) ? presentation.proof : undefined;
  return isObject(proof) && typeof proof.challenge === 'string' ? proof.challenge : undefined;
}

import { type Cryptosuite, DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { constantTimeEqual } from '@personachain/crypto';
import { base58 } from '@scure/base';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import { toCredentialError } from './jsonld-errors.js';
import { messageOf } from './secure.js';
import { proofValueKind } from './selective-disclosure.js';
import type { DataIntegrityAlgorithm } from './signer.js';
import {
  type CryptosuiteName,
  isCryptosuiteName,
  isSelectiveDisclosureSuite,
  suiteKeyAlgorithms,
  verifyingCryptosuite,
} from './suites.js';
import { asArray, isAbsoluteUrl, isDateTimeStamp, isObject, type JsonObject } from './values.js';
import { assertAuthorized, loadVerificationMethod } from './verification-method.js';

/** Why a credential or presentation did not verify. */
export type VerificationErrorCode =
  | 'invalid-credential'
  | 'invalid-presentation'
  | 'unknown-context'
  | 'malformed-jsonld'
  | 'missing-proof'
  | 'invalid-proof'
  | 'unsupported-cryptosuite'
  | 'verification-method-not-found'
  | 'invalid-verification-method'
  | 'wrong-key-type'
  | 'unauthorized-verification-method'
  | 'issuer-mismatch'
  | 'holder-required'
  | 'holder-mismatch'
  | 'unverifiable-envelope'
  | 'invalid-signature'
  | 'proof-expired'
  | 'challenge-mismatch'
  | 'domain-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'invalid-credential-in-presentation'
  | 'derived-proof-required'
  | 'presentation-header-mismatch';

export interface VerificationProblem {
  code: VerificationErrorCode;
  message: string;
  /** JSON path of the offending value, when there is one. */
  path?: string;
}

/** Error codes that are verification reasons in their own right (others map to a fallback reason). */
const VERIFICATION_CODES = new Set<string>([
  'unknown-context',
  'malformed-jsonld',
  'unsupported-cryptosuite',
  'verification-method-not-found',
  'invalid-verification-method',
  'wrong-key-type',
  'unauthorized-verification-method',
  'issuer-mismatch',
]);

/** A problem from a thrown error: a `CredentialError` keeps its code when it is a verification reason. */
export function problemFrom(error: unknown, fallback: VerificationErrorCode): VerificationProblem {
  const converted = toCredentialError(error);
  if (converted instanceof CredentialError && VERIFICATION_CODES.has(converted.code)) {
    return { code: converted.code as VerificationErrorCode, message: converted.message };
  }
  return { code: fallback, message: messageOf(converted) };
}

/** What a proof must satisfy besides its signature. */
export interface ProofExpectations {
  documentLoader: DocumentLoader;
  now: Date;
  purpose: 'assertionMethod' | 'authentication';
  /** Who must control the key: the credential's issuer, or a presentation's holder. */
  controller?: string | undefined;
  /** What `controller` is, for the error: `issuer-mismatch` or `holder-mismatch`. Default issuer. */
  controllerRole?: 'issuer' | 'holder';
  challenge?: string;
  domain?: string | undefined;
  /** bbs-2023: the presentation header a derived proof must carry. */
  presentationHeader?: Uint8Array | undefined;
}

/** Verifies every proof of the proof set; all must verify. */
export async function verifyProofs(
  document: JsonObject,
  expected: ProofExpectations,
): Promise<VerificationProblem[]> {
  const proofs = asArray(document.proof);
  if (document.proof === null || proofs.length === 0) {
    return [{ code: 'missing-proof', message: 'The document has no proof.', path: '/proof' }];
  }
  const { proof: _, ...unsecured } = document;
  const results = await Promise.all(
    proofs.map(async (proof, i) => {
      const path = Array.isArray(document.proof) ? `/proof/${i}` : '/proof';
      const signed = signedDocument(unsecured, proof, proofs);
      const problems =
        'problem' in signed
          ? [signed.problem]
          : await verifyOneProof(signed.document, proof, proofs, expected);
      return problems.map((problem) => ({ ...problem, path: problem.path ?? path }));
    }),
  );
  return results.flat();
}

/**
 * The document a proof signs (Data Integrity "Verify Proof Sets and Chains"): the unsecured document, and for
 * a proof in a chain (`previousProof`: a proof id or a list of them) together with the proofs it names, as a
 * list in `proof`. Every named proof must be in the proof set.
 */
function signedDocument(
  unsecured: JsonObject,
  proof: unknown,
  proofSet: unknown[],
): { document: JsonObject } | { problem: VerificationProblem } {
  if (!isObject(proof) || proof.previousProof === undefined) return { document: unsecured };
  const ids = asArray(proof.previousProof);
  if (ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
    return {
      problem: { code: 'invalid-proof', message: '"previousProof" must be a proof id or a list of them.' },
    };
  }
  const previous = ids.map((id) => proofSet.find((other) => isObject(other) && other.id === id));
  const missing = ids.filter((_, i) => previous[i] === undefined);
  if (missing.length > 0) {
    return {
      problem: {
        code: 'invalid-proof',
        message: `"previousProof" names ${missing.map((id) => `"${id}"`).join(', ')}, which the proof set does not hold.`,
      },
    };
  }
  return { document: { ...unsecured, proof: previous } };
}

async function verifyOneProof(
  signed: JsonObject,
  proof: unknown,
  proofSet: unknown[],
  expected: ProofExpectations,
): Promise<VerificationProblem[]> {
  const { documentLoader, now, purpose } = expected;
  const invalid = (message: string): VerificationProblem[] => [{ code: 'invalid-proof', message }];
  if (!isObject(proof)) return invalid('A proof must be an object.');
  if (proof.type !== 'DataIntegrityProof') {
    return invalid(`Unsupported proof type ${JSON.stringify(proof.type)}; expected "DataIntegrityProof".`);
  }
  if (proof.id !== undefined && !isAbsoluteUrl(proof.id)) return invalid('A proof "id" must be a URL.');
  const { cryptosuite } = proof;
  if (!isCryptosuiteName(cryptosuite)) {
    return [
      { code: 'unsupported-cryptosuite', message: `Unsupported cryptosuite ${JSON.stringify(cryptosuite)}.` },
    ];
  }
  const methodId = isObject(proof.verificationMethod)
    ? proof.verificationMethod.id
    : proof.verificationMethod;
  if (!isAbsoluteUrl(methodId)) return invalid('The proof has no "verificationMethod" URL.');
  if (proof.proofPurpose !== purpose) {
    return invalid(`The proof purpose is ${JSON.stringify(proof.proofPurpose)}; expected "${purpose}".`);
  }
  const proofValueProblems = checkProofValue(cryptosuite, proof.proofValue);
  if (proofValueProblems.length > 0) return proofValueProblems;
  if (proof.created !== undefined && !isDateTimeStamp(proof.created)) {
    return invalid('"created" must be an XML Schema dateTimeStamp.');
  }
  if (proof.expires !== undefined) {
    if (!isDateTimeStamp(proof.expires)) return invalid('"expires" must be an XML Schema dateTimeStamp.');
    if (Date.parse(proof.expires) < now.getTime()) {
      return [{ code: 'proof-expired', message: `The proof expired at ${proof.expires}.` }];
    }
  }
  const purposeProblems = checkChallengeAndDomain(proof, expected);
  if (purposeProblems.length > 0) return purposeProblems;

  let method: Awaited<ReturnType<typeof loadVerificationMethod>>;
  try {
    method = await loadVerificationMethod(methodId, documentLoader);
  } catch (error) {
    return [problemFrom(error, 'verification-method-not-found')];
  }
  if (!suiteKeyAlgorithms(cryptosuite).includes(method.algorithm)) {
    return [
      {
        code: 'wrong-key-type',
        message: `${cryptosuite} needs a ${suiteKeyAlgorithms(cryptosuite).join(' or ')} key; "${methodId}" is ${method.algorithm}.`,
      },
    ];
  }
  const lengthProblem = checkSignatureLength(cryptosuite, method.algorithm, proof.proofValue as string);
  if (lengthProblem !== undefined) return [lengthProblem];
  // The suites may rewrite the document they are given (eddsa-jcs-2022 replaces its @context): pass a copy.
  const suiteObject = verifyingCryptosuite(cryptosuite);
  const result = await new DataIntegrityProof({ cryptosuite: suiteObject }).verifyProof({
    proof,
    proofSet: proofSet.filter(isObject),
    document: { ...signed },
    documentLoader,
  });
  if (!result.verified) {
    const converted = toCredentialError(result.error);
    if (converted instanceof CredentialError) return [problemFrom(converted, 'invalid-proof')];
    const message = messageOf(converted);
    // DataIntegrityProof reports a signature that does not verify (tampered data, other key) this way.
    if (message === 'Invalid signature.') {
      return [
        { code: 'invalid-signature', message: 'The signature does not match the document and the key.' },
      ];
    }
    // ecdsa-sd-2023 / bbs-2023: the disclosed statements are more or fewer than the proof signs (a statement
    // added to or removed from the derived credential).
    if (/^(Signature count|Number of disclosed messages) \(\d+\) does not/.test(message)) {
      return [
        { code: 'invalid-signature', message: `The disclosed statements do not match the proof: ${message}` },
      ];
    }
    const cause = (converted as { cause?: unknown }).cause;
    return invalid(cause === undefined ? message : `${message} (${messageOf(cause)})`);
  }
  const headerProblem = checkPresentationHeader(suiteObject, expected.presentationHeader);
  if (headerProblem !== undefined) return [headerProblem];
  try {
    await assertAuthorized(method, purpose, documentLoader);
  } catch (error) {
    return [problemFrom(error, 'unauthorized-verification-method')];
  }
  if (expected.controller !== undefined && method.controller !== expected.controller) {
    const role = expected.controllerRole ?? 'issuer';
    return [
      {
        code: `${role}-mismatch`,
        message: `The signing key "${method.id}" is controlled by "${method.controller}", not by the ${role} "${expected.controller}".`,
      },
    ];
  }
  return [];
}

/**
 * The proof value's encoding: base58-btc multibase for eddsa-rdfc-2022, eddsa-jcs-2022 and ecdsa-rdfc-2019;
 * base64url-no-pad multibase CBOR for ecdsa-sd-2023 and bbs-2023, which verifiers accept only as a derived
 * proof (vc-di-ecdsa and vc-di-bbs "Verify Derived Proof": the proof value must carry the derived-proof header).
 */
function checkProofValue(cryptosuite: CryptosuiteName, proofValue: unknown): VerificationProblem[] {
  if (!isSelectiveDisclosureSuite(cryptosuite)) {
    if (typeof proofValue === 'string' && /^z[1-9A-HJ-NP-Za-km-z]+$/.test(proofValue)) return [];
    return [{ code: 'invalid-proof', message: 'The proof has no base58-btc multibase "proofValue".' }];
  }
  if (typeof proofValue !== 'string' || !/^u[A-Za-z0-9_-]+$/.test(proofValue)) {
    return [{ code: 'invalid-proof', message: 'The proof has no base64url multibase "proofValue".' }];
  }
  const kind = proofValueKind(cryptosuite, proofValue);
  if (kind === 'base') {
    return [
      {
        code: 'derived-proof-required',
        message: `This is a ${cryptosuite} base proof, which only its holder uses: verifiers check derived proofs (deriveCredential).`,
      },
    ];
  }
  if (kind === undefined) {
    return [{ code: 'invalid-proof', message: `The "proofValue" is not a ${cryptosuite} derived proof.` }];
  }
  return [];
}

/** Raw signature lengths of the suites whose proof value is the bare signature (Ed25519; ECDSA r||s). */
const SIGNATURE_LENGTHS: Partial<Record<DataIntegrityAlgorithm, number>> = {
  Ed25519: 64,
  'P-256': 64,
  'P-384': 96,
};

/**
 * eddsa-rdfc-2022, eddsa-jcs-2022 and ecdsa-rdfc-2019 proof values decode to exactly one signature of the key's
 * algorithm (vc-di-eddsa "Verify Proof": an error MUST be raised for any other length; vc-di-ecdsa likewise).
 */
function checkSignatureLength(
  cryptosuite: CryptosuiteName,
  algorithm: DataIntegrityAlgorithm,
  proofValue: string,
): VerificationProblem | undefined {
  const expected = SIGNATURE_LENGTHS[algorithm];
  if (isSelectiveDisclosureSuite(cryptosuite) || expected === undefined) return undefined;
  const length = base58.decode(proofValue.slice(1)).length;
  if (length === expected) return undefined;
  return {
    code: 'invalid-proof',
    message: `The "proofValue" decodes to ${length} bytes; a ${algorithm} signature has ${expected}.`,
  };
}

/**
 * When the verifier expects a presentation header, the proof must be a bbs-2023 derived proof carrying exactly
 * that header (the library records the one it read); other proofs cannot be bound to one.
 */
function checkPresentationHeader(
  suiteObject: Cryptosuite,
  expected: Uint8Array | undefined,
): VerificationProblem | undefined {
  if (expected === undefined) return undefined;
  const { results } = suiteObject as Cryptosuite & {
    results?: { lastParsedProof: { presentationHeader: Uint8Array } | null };
  };
  const actual = suiteObject.name === 'bbs-2023' ? results?.lastParsedProof?.presentationHeader : undefined;
  if (actual === undefined || !constantTimeEqual(actual, expected)) {
    return {
      code: 'presentation-header-mismatch',
      message:
        actual === undefined
          ? `A ${suiteObject.name} proof carries no presentation header; only bbs-2023 derived proofs do.`
          : 'The proof presentation header is not the expected one.',
    };
  }
  return undefined;
}

/**
 * A presentation proof must carry the verifier's challenge; any proof must carry the challenge and domain a
 * verifier asks for (Data Integrity "Verify Proof": a non-null `options.challenge` / `options.domain` must
 * equal the proof's).
 */
function checkChallengeAndDomain(proof: JsonObject, expected: ProofExpectations): VerificationProblem[] {
  const problems: VerificationProblem[] = [];
  if (
    (expected.purpose === 'authentication' || expected.challenge !== undefined) &&
    proof.challenge !== expected.challenge
  ) {
    problems.push({ code: 'challenge-mismatch', message: 'The proof challenge is not the expected one.' });
  }
  if (expected.domain !== undefined) {
    const domains = asArray(proof.domain);
    if (!domains.includes(expected.domain)) {
      problems.push({ code: 'domain-mismatch', message: `The proof domain is not "${expected.domain}".` });
    }
  }
  return problems;
}

/** `validFrom`/`validUntil` (VC 2.0) or `issuanceDate`/`expirationDate` (VC 1.1) against `now`. */

import * as vc from '@digitalbazaar/vc';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import { prepareForSigning, runSigning } from './secure.js';
import { assertPointers } from './selective-disclosure.js';
import type { DataIntegritySigner } from './signer.js';
import { type CryptosuiteName, isSelectiveDisclosureSuite, signingSuite } from './suites.js';
import { validateCredential } from './validation.js';
import { isObject, type JsonObject } from './values.js';

export interface IssueCredentialOptions {
  /** The proof's `created` time; now if not given. bbs-2023 base proofs carry none (the library drops it). */
  created?: Date | string;
  /**
   * ecdsa-sd-2023 and bbs-2023: JSON pointers (RFC 6901) to what every derived credential must disclose,
   * e.g. `['/issuer', '/validFrom', '/validUntil']`. Each must select a value of the credential.
   */
  mandatoryPointers?: string[];
}

export interface IssueCredentialInput {
  credential: unknown;
  suite: CryptosuiteName;
  signer: DataIntegritySigner;
  documentLoader: DocumentLoader;
  options?: IssueCredentialOptions;
}

/**
 * Secures a credential (VC 2.0, or VC 1.1 with `issuanceDate`) with a Data Integrity proof of `suite`.
 * The input is checked first and never modified; failures are `CredentialError`s: `invalid-credential`
 * (with `details.violations`), `unknown-context`, `malformed-jsonld`, `unsupported-cryptosuite`,
 * `invalid-signer`, `issuer-mismatch` (the signer's key is not controlled by `issuer`), `signing-failed`;
 * `invalid-pointer` for a mandatory pointer that is malformed or selects nothing, `invalid-argument` for
 * mandatory pointers given to a suite without selective disclosure.
 * For ecdsa-sd-2023 and bbs-2023 the proof is a base proof: only the holder's derived credentials verify.
 */
export async function issueCredential(input: IssueCredentialInput): Promise<JsonObject> {
  const { suite, signer, documentLoader, options = {} } = input;
  const created = proofDate(options.created);
  const { document: credential, method } = await prepareForSigning({
    document: input.credential,
    kind: 'credential',
    suite,
    signer,
    documentLoader,
    validate: validateCredential,
  });
  const issuer = isObject(credential.issuer) ? credential.issuer.id : credential.issuer;
  if (method.controller !== issuer) {
    throw new CredentialError(
      'issuer-mismatch',
      `The issuer "${String(issuer)}" does not control the signing key "${signer.id}" (its controller is "${method.controller}").`,
    );
  }
  const { mandatoryPointers } = options;
  if (mandatoryPointers !== undefined) {
    if (!isSelectiveDisclosureSuite(suite)) {
      throw new CredentialError(
        'invalid-argument',
        `${suite} has no mandatory pointers (no selective disclosure).`,
      );
    }
    assertPointers(credential, mandatoryPointers, 'mandatory pointer');
  }
  const dataIntegrityProof = signingSuite(suite, signer, created, mandatoryPointers);
  return runSigning(() => vc.issue({ credential, suite: dataIntegrityProof, documentLoader }));
}

export function proofDate(value: Date | string | undefined): Date {
  const date = value === undefined ? new Date() : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new CredentialError('invalid-argument', `"created" is not a valid date: ${String(value)}.`);
  }
  return date;
}

import * as vc from '@digitalbazaar/vc';
import { CredentialError } from '../errors.js';
import type { DocumentLoader } from './document-loader.js';
import { prepareForSigning, runSigning } from './secure.js';
import type { DataIntegritySigner } from './signer.js';
import { type CryptosuiteName, signingSuite } from './suites.js';
import { validateCredential } from './validation.js';
import { isObject, type JsonObject } from './values.js';

export interface IssueCredentialOptions {
  /** The proof's `created` time; now if not given. */
  created?: Date | string;
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
 * `invalid-signer`, `issuer-mismatch` (the signer's key is not controlled by `issuer`), `signing-failed`.
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
  const dataIntegrityProof = signingSuite(suite, signer, created);
  return runSigning(() => vc.issue({ credential, suite: dataIntegrityProof, documentLoader }));
}

export function proofDate(value: Date | string | undefined): Date {
  const date = value === undefined ? new Date() : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new CredentialError('invalid-argument', `"created" is not a valid date: ${String(value)}.`);
  }
  return date;
}

import {
  addStatusEntries,
  assertionKeyResolver,
  CredentialError,
  createStatusChecker,
  DID_LD_JSON,
  type DocumentLoader,
  didKeyResolver,
  type IssueCredentialOptions,
  keyStoreJwsSigner,
  type ResolveKey,
  type StatusChecker,
  type VerificationResult,
  type Violation,
  validateCredential,
  validateEnvelope,
  verifyCredential,
} from '@personachain/credentials';
import type { KeyStore, SignatureVerifier } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import type { DidService } from '../dids/service.js';
import {
  type EnvelopingSuite,
  type IssuerKey,
  type IssuerRecord,
  type IssuersService,
  isEnvelopingSuite,
  isSelectiveDisclosureSuite,
  keyForSuite,
  NO_STATUS_LIST_SUITE,
  type StatusPurpose,
  type Suite,
  statusListSuite,
} from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import { type StatusService, sha256 } from '../status/service.js';
import type { TenancyService } from '../tenancy/service.js';
import type { ProofExpectations } from './credential-thread-protocol.js';
import type { CredentialThreads } from './credential-threads.js';
import { platformDocumentLoader } from './document-loader.js';
import { ENVELOPE_DATA_URLS, envelopeCredential, openEnvelope } from './enveloped-credentials.js';
import { asArray, hasType, type JsonObject } from './json.js';
import { issueWithKeyStore, type KeyStoreIssuance } from './keystore-issuance.js';
import {
  type ExpectedProof,
  type PresentationOutcome,
  PresentationVerifier,
} from './presentation-verification.js';
import { badOption, rejected } from './rejection.js';
import type { DATA_INTEGRITY_SUITES } from './schemas.js';
import { issueSdJwtWithKeyStore, type SdJwtVcContent, sdJwtKey } from './sd-jwt-issuance.js';

export interface IssueOptions {
  cryptosuite?: (typeof DATA_INTEGRITY_SUITES)[number];
  format?: EnvelopeFormat;
  created?: string;
  credentialStatus?: { type: 'BitstringStatusListEntry'; statusPurpose: StatusPurpose };
  mandatoryPointers?: string[];
  selectivePointers?: string[];
}

/** The VC-JOSE-COSE media types `options.format` names, and the issuer suite of each. */
const FORMAT_SUITES = {
  'application/vc+jwt': 'vc+jwt',
  'application/vc+sd-jwt': 'vc+sd-jwt',
  'application/vc+cose': 'vc+cose',
} as const satisfies Record<string, EnvelopingSuite>;
export type EnvelopeFormat = keyof typeof FORMAT_SUITES;

/**
 * The status of a Bitstring Status List entry of a verified credential (VC-API verify answer): `status`
 * whether it is set (value ≠ 0), the value of its `statusSize` bits, and the message the entry's
 * `statusMessage` gives that value (multi-bit entries always have one).
 */
export interface CredentialStatusResult {
  path: string;
  statusPurpose: string;
  statusListCredential: string;
  statusListIndex: string;
  status: boolean;
  statusSize: number;
  statusValue: number;
  statusMessage?: string;
}

/** A verification with the status of the credential's entries. */
type CheckedResult = VerificationResult & { credentialStatus?: CredentialStatusResult[] };

/** Attempts at issuing with status entries when concurrent issuances keep taking the chosen indexes. */
const ALLOCATION_ATTEMPTS = 5;

/**
 * The VC-API: issuing with a project's issuers (keys stay in the KeyStore) and verifying credentials and
 * presentations. DIDs resolve through the DID service, which answers the platform's own did:web issuers
 * from the database; JSON-LD contexts come only from the bundled set.
 */
export class CredentialsService {
  private readonly documentLoader: DocumentLoader;
  private readonly checkStatus: StatusChecker;
  private readonly presentations: PresentationVerifier;

  constructor(
    private readonly issuers: IssuersService,
    private readonly tenancy: TenancyService,
    private readonly dids: DidService,
    private readonly keys: KeyStore,
    private readonly audit: AuditService,
    private readonly status: StatusService,
    /** Issues and verifies Data Integrity credentials on worker threads; without it, on this thread. */
    private readonly threads?: CredentialThreads,
    /** Checks VC-JOSE-COSE signatures (VerificationThreads); without it, on this thread. */
    private readonly signatureVerifier?: SignatureVerifier,
  ) {
    this.documentLoader = platformDocumentLoader(dids);
    this.checkStatus = createStatusChecker({
      documentLoader: this.documentLoader,
      loadStatusListCredential: status.loadStatusListCredential,
    });
    this.presentations = new PresentationVerifier({
      documentLoader: this.documentLoader,
      resolveKey: didKeyResolver((did) => dids.resolve(did, DID_LD_JSON), 'authentication'),
      signatureVerifier,
      checkCredential: (credential) => this.checkCredential(credential),
      withStatus: (result, credential) => this.withStatus(result, credential),
    });
  }

  async issue(
    principal: Principal,
    issuerId: string,
    input: { credential: object; options?: IssueOptions | undefined },
  ): Promise<{ verifiableCredential: JsonObject }> {
    const issuer = await this.issuers.authorizeIssuer(principal, issuerId, 'credentials:issue');
    const { verifiableCredential } = await this.issueWith(issuer, input, principal.keyId);
    return { verifiableCredential };
  }

  /**
   * For modules that authorized the issuance themselves (OpenID4VCI: a wallet redeeming a project's
   * offer): issues as `issuer` like `issue`, audited with `actor`, and answers the hash that identifies
   * the credential in the status module (to revoke it later).
   */
  issueAsIssuer(
    issuer: IssuerRecord,
    input: { credential: object; options?: IssueOptions | undefined },
    actor: string,
  ): Promise<{ verifiableCredential: JsonObject; credentialHash: string }> {
    return this.issueWith(issuer, input, actor);
  }

  /** For modules that authorized the issuance themselves: an SD-JWT VC, audited with `actor`. */
  async issueSdJwtAsIssuer(
    issuer: IssuerRecord,
    content: SdJwtVcContent,
    actor: string,
  ): Promise<{ sdJwt: string; credentialHash: string }> {
    const key = sdJwtKey(issuer);
    if (!key) throw new Problem('validation-error', `Issuer ${issuer.id} has no key that signs JWS.`);
    const issued = await issueSdJwtWithKeyStore(this.keys, issuer, key, content);
    await this.audit.recordAlone({
      type: 'credential.issued',
      orgId: issuer.orgId || null,
      projectId: issuer.projectId,
      actor,
      subject: issuer.id,
      details: {
        credentialHash: issued.credentialHash,
        hashOf: 'sd-jwt',
        types: [content.vct],
        suite: 'dc+sd-jwt',
      },
    });
    return issued;
  }

  private async issueWith(
    issuer: IssuerRecord,
    input: { credential: object; options?: IssueOptions | undefined },
    actor: string,
  ): Promise<{ verifiableCredential: JsonObject; credentialHash: string }> {
    const options = input.options ?? {};
    const suite = chooseSuite(issuer, options);
    // Every suite of an issuer has a key: checked when the issuer was created.
    const key = keyForSuite(issuer.keys, suite) as IssuerKey;
    const credential = input.credential as JsonObject;
    checkIssuer(credential, issuer.did);
    const purposes = statusPurposes(issuer, options, credential);
    const secure = (document: JsonObject) =>
      this.secure(document, suite, key, options).catch((error: unknown) => {
        throw rejected(error, 'credential-rejected', '#/credential', options.selectivePointers);
      });
    const event = (verifiableCredential: JsonObject) => {
      const id = credential.id;
      const credentialHash = sha256(typeof id === 'string' ? id : JSON.stringify(verifiableCredential));
      return {
        credentialHash,
        event: {
          type: 'credential.issued' as const,
          // Empty for an issuer looked up without a caller: the audit module finds the project's.
          orgId: issuer.orgId || null,
          projectId: issuer.projectId,
          actor,
          subject: issuer.id,
          // Never the subject's data: a hash that identifies the credential, its types and how it was secured.
          details: {
            credentialHash,
            hashOf: typeof id === 'string' ? 'id' : 'credential',
            types: (credential.type as unknown[]).filter((type): type is string => typeof type === 'string'),
            suite,
            ...(purposes.length > 0 ? { statusPurposes: purposes } : {}),
          },
        },
      };
    };
    if (purposes.length === 0) {
      const verifiableCredential = await secure(credential);
      const { credentialHash, event: issued } = event(verifiableCredential);
      await this.audit.recordAlone(issued);
      return { verifiableCredential, credentialHash };
    }
    // The indexes are recorded with the audit entry once signed; a concurrent issuance that took one of
    // them in the meantime makes this one allocate and sign again.
    for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
      const allocations = await this.status.allocate(issuer, purposes);
      const entries = allocations.map((allocation) => allocation.entry);
      const verifiableCredential = await secure(addStatusEntries(credential, entries));
      const { credentialHash, event: issued } = event(verifiableCredential);
      if (await this.status.recordIssued(issuer, allocations, credentialHash, issued))
        return { verifiableCredential, credentialHash };
    }
    throw new Problem('conflict', 'Concurrent issuances kept taking the status list indexes; retry.');
  }

  /** Data Integrity or VC-JOSE-COSE, with the issuer's key for the suite. */
  private async secure(
    credential: JsonObject,
    suite: Suite,
    key: IssuerKey,
    options: IssueOptions,
  ): Promise<JsonObject> {
    if (isEnvelopingSuite(suite)) return this.issueEnveloped(credential, suite, key, options);
    const issuance: KeyStoreIssuance = {
      credential,
      suite,
      keyId: key.keyId,
      verificationMethod: key.verificationMethod,
      options: proofOptions(suite, options),
    };
    return this.threads
      ? this.threads.issueCredential(issuance)
      : issueWithKeyStore(issuance, this.keys, this.documentLoader);
  }

  async verifyCredential(
    principal: Principal,
    projectId: string,
    input: { verifiableCredential: unknown; options?: ProofExpectations & { checks?: string[] } },
  ): Promise<{
    verified: true;
    checks: VerificationResult['checks'];
    credentialStatus?: CredentialStatusResult[];
  }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:verify');
    const { challenge, domain, expectedProofPurpose } = input.options ?? {};
    const checked = await this.checkCredential(input.verifiableCredential, {
      ...(challenge === undefined ? {} : { challenge }),
      ...(domain === undefined ? {} : { domain }),
      ...(expectedProofPurpose === undefined ? {} : { expectedProofPurpose }),
    });
    if (!checked.verified) {
      const extra = checked.credentialStatus ? { credentialStatus: checked.credentialStatus } : {};
      throw notVerified('The credential did not verify', checked, extra);
    }
    return {
      verified: true,
      checks: checked.checks,
      ...(checked.credentialStatus ? { credentialStatus: checked.credentialStatus } : {}),
    };
  }

  /**
   * Adds the `status` check when the credential (its data model being sound) has Bitstring Status List
   * entries: a set revocation or suspension entry (any value but 0) fails it (`revoked`, `suspended`), as
   * does an entry that cannot be checked (the status-list codes); other purposes (`message`, `refresh`, …)
   * are reported with their value and message. Entries of other types are not checked.
   */
  private async withStatus(result: VerificationResult, credential: unknown): Promise<CheckedResult> {
    if (result.errors.some((error) => error.code === 'invalid-credential')) return result;
    const statuses = await this.checkStatus(credential);
    if (statuses.length === 0) return result;
    const errors = [...result.errors];
    const credentialStatus: CredentialStatusResult[] = [];
    for (const entry of statuses) {
      if ('error' in entry) {
        const problem = { code: entry.error.code, message: entry.error.message, path: entry.path };
        errors.push(problem as VerificationResult['errors'][number]);
        continue;
      }
      credentialStatus.push({
        path: entry.path,
        statusPurpose: entry.purpose,
        statusListCredential: entry.statusListCredential,
        statusListIndex: String(entry.statusListIndex),
        status: entry.status,
        statusSize: entry.statusSize,
        statusValue: entry.value,
        ...(entry.message === undefined ? {} : { statusMessage: entry.message }),
      });
      const reason = entry.status ? STATUS_REASONS[entry.purpose] : undefined;
      if (reason) errors.push({ ...reason, path: entry.path } as VerificationResult['errors'][number]);
    }
    return {
      verified: errors.length === 0,
      checks: [...result.checks, 'status'] as VerificationResult['checks'],
      errors,
      credentialStatus,
    };
  }

  async verifyPresentation(
    principal: Principal,
    projectId: string,
    input: { verifiablePresentation: unknown; options: ExpectedProof },
  ): Promise<{
    verified: true;
    checks: VerificationResult['checks'];
    credentialResults: VerificationResult[];
  }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:verify');
    const checked = await this.presentations.verify(input.verifiablePresentation, input.options);
    const { checks, credentialResults } = checked;
    if (!checked.verified) {
      throw notVerified('The presentation did not verify', checked, { credentialResults });
    }
    return { verified: true, checks, credentialResults };
  }

  /**
   * For modules that authorized their caller themselves (an end user's wallet): the credential it secures
   * (an enveloped one's payload) if it verifies with its status, else a `not-verified` problem.
   */
  async verifiedCredential(credential: unknown): Promise<JsonObject> {
    const { checked, payload } = await this.checkCredentialAndPayload(credential);
    if (!checked.verified) throw notVerified('The credential did not verify', checked);
    return payload as JsonObject;
  }

  /** For modules that authorized their caller themselves (DID Auth of an end user). */
  checkPresentation(presentation: unknown, expected: ExpectedProof): Promise<PresentationOutcome> {
    return this.presentations.verify(presentation, expected);
  }

  /** A credential's verification with its status: Data Integrity, or enveloped (vc+jwt). */
  private async checkCredential(
    credential: unknown,
    expected: ProofExpectations = {},
  ): Promise<CheckedResult> {
    return (await this.checkCredentialAndPayload(credential, expected)).checked;
  }

  private async checkCredentialAndPayload(
    credential: unknown,
    expected: ProofExpectations = {},
  ): Promise<{ checked: CheckedResult; payload: unknown }> {
    const { result, payload } = hasType(credential, 'EnvelopedVerifiableCredential')
      ? await this.verifyEnveloped(credential, expected)
      : {
          result: await (this.threads
            ? this.threads.verifyCredential(credential, expected)
            : verifyCredential({ credential, documentLoader: this.documentLoader, ...expected })),
          payload: credential,
        };
    return { checked: await this.withStatus(result, payload), payload };
  }

  /**
   * VC-JOSE-COSE: the same data-model checks as Data Integrity and only bundled contexts (nothing is
   * fetched, so an unknown context is refused here too), then secured in the suite's media type as an
   * EnvelopedVerifiableCredential.
   */
  private async issueEnveloped(
    credential: JsonObject,
    suite: EnvelopingSuite,
    key: IssuerKey,
    options: IssueOptions,
  ): Promise<JsonObject> {
    const violations = validateCredential(credential);
    if (violations.length > 0) {
      throw new CredentialError('invalid-credential', `Invalid credential: ${summary(violations)}`, {
        details: { violations },
      });
    }
    for (const context of asArray(credential['@context'])) {
      if (typeof context === 'string') await this.documentLoader(context);
    }
    const signer = await keyStoreJwsSigner(this.keys, key.keyId, key.verificationMethod);
    return envelopeCredential({ credential, suite, signer, selectivePointers: options.selectivePointers });
  }

  /** The verification and, when the envelope verified, its credential (whose status is checked next). */
  private async verifyEnveloped(
    envelope: JsonObject,
    expected: ProofExpectations,
  ): Promise<{ result: VerificationResult; payload?: unknown }> {
    const checks: VerificationResult['checks'] = ['data-model', 'proof', 'validity-period'];
    if (expected.challenge !== undefined || expected.domain !== undefined) {
      const message = 'An enveloped credential carries no challenge or domain: verify it without them.';
      const code = expected.challenge !== undefined ? 'challenge-mismatch' : 'domain-mismatch';
      return { result: { verified: false, checks, errors: [{ code, message }] } };
    }
    const violations = validateEnvelope(envelope, 'credential');
    if (violations.length > 0) {
      const errors = violations.map(({ path, message }) => ({
        code: 'invalid-credential' as const,
        message,
        path,
      }));
      return { result: { verified: false, checks, errors } };
    }
    const id = envelope.id;
    try {
      const opened =
        typeof id === 'string' ? await openEnvelope(id, this.resolveKey, this.signatureVerifier) : undefined;
      if (opened === undefined) {
        const message = `An enveloped credential's id must be a data: URL starting with ${ENVELOPE_DATA_URLS.join(', ')}.`;
        return {
          result: { verified: false, checks, errors: [{ code: 'invalid-credential', message, path: '/id' }] },
        };
      }
      return { result: { verified: true, checks, errors: [] }, payload: opened };
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      // The JOSE codes (malformed, invalid-signature, expired, …) are reasons of their own.
      const problem = { code: error.code, message: error.message } as VerificationResult['errors'][number];
      return { result: { verified: false, checks, errors: [problem] } };
    }
  }

  /** The public JWK of an enveloped credential's `kid`, from the issuer's DID document (locally for our own issuers). */
  private readonly resolveKey: ResolveKey = assertionKeyResolver((did) =>
    this.dids.resolve(did, DID_LD_JSON),
  );
}

/** Why a set status bit fails verification, per purpose; other purposes (refresh, …) only report it. */
const STATUS_REASONS: Record<string, { code: string; message: string }> = {
  revocation: { code: 'revoked', message: 'The credential has been revoked.' },
  suspension: { code: 'suspended', message: 'The credential is suspended.' },
};

/**
 * The status purposes a credential gets entries for: `options.credentialStatus`, else the issuer's
 * `statusPurposes`; none when the credential brings its own `credentialStatus` (kept as given).
 */
function statusPurposes(
  issuer: IssuerRecord,
  options: IssueOptions,
  credential: JsonObject,
): StatusPurpose[] {
  if (credential.credentialStatus !== undefined) return [];
  const purposes = options.credentialStatus
    ? [options.credentialStatus.statusPurpose]
    : issuer.statusPurposes;
  if (purposes.length > 0 && statusListSuite(issuer.suites) === undefined) {
    throw badOption('#/options/credentialStatus', `needs an issuer that ${NO_STATUS_LIST_SUITE}`);
  }
  return purposes;
}

/**
 * The proof options of a Data Integrity suite: `created`, and for the selective-disclosure suites the
 * mandatory pointers (the library checks each selects a value). The other suites disclose everything, so
 * any pointer is satisfied and they ignore them.
 */
function proofOptions(suite: Exclude<Suite, EnvelopingSuite>, options: IssueOptions): IssueCredentialOptions {
  const { created, mandatoryPointers } = options;
  return {
    ...(created === undefined ? {} : { created }),
    ...(isSelectiveDisclosureSuite(suite) && mandatoryPointers !== undefined ? { mandatoryPointers } : {}),
  };
}

/** The suite asked for (which the issuer must have), or the issuer's first. */
function chooseSuite(issuer: IssuerRecord, options: IssueOptions): Suite {
  if (options.cryptosuite !== undefined && options.format !== undefined) {
    throw badOption('#/options/format', 'cannot be combined with options.cryptosuite');
  }
  if (options.selectivePointers !== undefined && options.format !== 'application/vc+sd-jwt') {
    throw badOption('#/options/selectivePointers', 'only applies to options.format application/vc+sd-jwt');
  }
  const wanted: Suite | undefined =
    options.format === undefined ? options.cryptosuite : FORMAT_SUITES[options.format];
  if (wanted === undefined) return issuer.suites[0] as Suite;
  if (!issuer.suites.includes(wanted)) {
    const pointer = options.format === undefined ? '#/options/cryptosuite' : '#/options/format';
    throw badOption(pointer, `is not one of this issuer's suites (${issuer.suites.join(', ')})`);
  }
  return wanted;
}

/**
 * A credential to issue must name this issuer's DID as `issuer` (a string or an object's `id`). A missing
 * issuer is refused rather than filled in, as the VC-API issuer conformance suite requires.
 */
function checkIssuer(credential: JsonObject, did: string): void {
  const { issuer } = credential;
  if (issuer === undefined) {
    throw new Problem('credential-rejected', `The credential has no issuer; set it to ${did}.`, {
      errors: [{ in: 'body', pointer: '#/credential/issuer', detail: `is required: ${did}` }],
      extensions: { code: 'invalid-credential' },
    });
  }
  const named =
    typeof issuer === 'object' && issuer !== null && !Array.isArray(issuer)
      ? (issuer as JsonObject).id
      : issuer;
  if (typeof named === 'string' && named !== did) {
    const pointer = typeof issuer === 'string' ? '#/credential/issuer' : '#/credential/issuer/id';
    throw new Problem(
      'credential-rejected',
      `The credential's issuer "${named}" is not this issuer (${did}).`,
      {
        errors: [{ in: 'body', pointer, detail: `must be ${did}` }],
        extensions: { code: 'issuer-mismatch' },
      },
    );
  }
}

function notVerified(
  detail: string,
  result: Pick<VerificationResult, 'checks'> & { errors: Array<{ code: string }> },
  extra: Record<string, unknown> = {},
): Problem {
  const reasons = [...new Set(result.errors.map((error) => error.code))].join(', ');
  return new Problem('not-verified', `${detail}: ${reasons}.`, {
    extensions: { verified: false, checks: result.checks, errors: result.errors, ...extra },
  });
}

function summary(violations: Violation[]): string {
  const [first] = violations as [Violation];
  return `${first.path || '/'}: ${first.message}${violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''}`;
}

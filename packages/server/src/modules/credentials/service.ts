import {
  addStatusEntries,
  assertionKeyResolver,
  CredentialError,
  createKeyStoreSigner,
  createStatusChecker,
  DID_LD_JSON,
  type DocumentLoader,
  issueCredential,
  issueVcJwt,
  keyStoreJwsSigner,
  type ResolveKey,
  type StatusChecker,
  type VerificationResult,
  type Violation,
  validateCredential,
  verifyCredential,
  verifyPresentation,
  verifyVcJwt,
} from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import type { DidService } from '../dids/service.js';
import {
  type IssuerKey,
  type IssuerRecord,
  type IssuersService,
  keyForSuite,
  type StatusPurpose,
  type Suite,
} from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import { type StatusService, sha256 } from '../status/service.js';
import type { TenancyService } from '../tenancy/service.js';
import { platformDocumentLoader } from './document-loader.js';
import type { DATA_INTEGRITY_SUITES } from './schemas.js';

type JsonObject = Record<string, unknown>;

export interface IssueOptions {
  cryptosuite?: (typeof DATA_INTEGRITY_SUITES)[number];
  format?: 'application/vc+jwt';
  created?: string;
  credentialStatus?: { type: 'BitstringStatusListEntry'; statusPurpose: StatusPurpose };
  mandatoryPointers?: string[];
}

/** The status of a Bitstring Status List entry of a verified credential (VC-API verify answer). */
export interface CredentialStatusResult {
  path: string;
  statusPurpose: string;
  statusListCredential: string;
  statusListIndex: string;
  status: boolean;
}

/** A verification with the status of the credential's entries. */
type CheckedResult = VerificationResult & { credentialStatus?: CredentialStatusResult[] };

/** Attempts at issuing with status entries when concurrent issuances keep taking the chosen indexes. */
const ALLOCATION_ATTEMPTS = 5;

const CREDENTIALS_V2 = 'https://www.w3.org/ns/credentials/v2';
const VC_JWT_DATA_URL = 'data:application/vc+jwt,';
/** Codes that mean the platform failed, not the request: these stay 500s. */
const SERVER_FAULTS = new Set(['signing-failed', 'invalid-signature']);

/**
 * The VC-API: issuing with a project's issuers (keys stay in the KeyStore) and verifying credentials and
 * presentations. DIDs resolve through the DID service, which answers the platform's own did:web issuers
 * from the database; JSON-LD contexts come only from the bundled set.
 */
export class CredentialsService {
  private readonly documentLoader: DocumentLoader;
  private readonly checkStatus: StatusChecker;

  constructor(
    private readonly issuers: IssuersService,
    private readonly tenancy: TenancyService,
    private readonly dids: DidService,
    private readonly keys: KeyStore,
    private readonly audit: AuditService,
    private readonly status: StatusService,
  ) {
    this.documentLoader = platformDocumentLoader(dids);
    this.checkStatus = createStatusChecker({
      documentLoader: this.documentLoader,
      loadStatusListCredential: status.loadStatusListCredential,
    });
  }

  async issue(
    principal: Principal,
    issuerId: string,
    input: { credential: object; options?: IssueOptions | undefined },
  ): Promise<{ verifiableCredential: JsonObject }> {
    const issuer = await this.issuers.authorizeIssuer(principal, issuerId, 'credentials:issue');
    const options = input.options ?? {};
    const suite = chooseSuite(issuer, options);
    // Every suite of an issuer has a key: checked when the issuer was created.
    const key = keyForSuite(issuer.keys, suite) as IssuerKey;
    const credential = withIssuer(input.credential as JsonObject, issuer.did);
    const purposes = statusPurposes(issuer, options, credential);
    const secure = (document: JsonObject) =>
      this.secure(document, suite, key, options).catch((error: unknown) => {
        throw rejected(error);
      });
    const event = (verifiableCredential: JsonObject) => {
      const id = credential.id;
      const credentialHash = sha256(typeof id === 'string' ? id : JSON.stringify(verifiableCredential));
      return {
        credentialHash,
        event: {
          type: 'credential.issued' as const,
          orgId: issuer.orgId,
          projectId: issuer.projectId,
          actor: principal.keyId,
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
      await this.audit.recordAlone(event(verifiableCredential).event);
      return { verifiableCredential };
    }
    // The indexes are recorded with the audit entry once signed; a concurrent issuance that took one of
    // them in the meantime makes this one allocate and sign again.
    for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
      const allocations = await this.status.allocate(issuer, purposes);
      const entries = allocations.map((allocation) => allocation.entry);
      const verifiableCredential = await secure(addStatusEntries(credential, entries));
      const { credentialHash, event: issued } = event(verifiableCredential);
      if (await this.status.recordIssued(issuer, allocations, credentialHash, issued))
        return { verifiableCredential };
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
    if (suite === 'vc+jwt') return this.issueVcJwt(credential, key);
    return issueCredential({
      credential,
      suite,
      signer: await createKeyStoreSigner({
        keyStore: this.keys,
        keyId: key.keyId,
        verificationMethod: key.verificationMethod,
      }),
      documentLoader: this.documentLoader,
      options: options.created === undefined ? {} : { created: options.created },
    });
  }

  async verifyCredential(
    principal: Principal,
    projectId: string,
    input: { verifiableCredential: unknown },
  ): Promise<{
    verified: true;
    checks: VerificationResult['checks'];
    credentialStatus?: CredentialStatusResult[];
  }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:verify');
    const credential = input.verifiableCredential;
    const { result, payload } = isEnveloped(credential)
      ? await this.verifyEnveloped(credential)
      : {
          result: await verifyCredential({ credential, documentLoader: this.documentLoader }),
          payload: credential,
        };
    const checked = await this.withStatus(result, payload);
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
   * entries: a set revocation or suspension bit fails it (`revoked`, `suspended`), as does an entry that
   * cannot be checked (the status-list codes). Entries of other types are not checked.
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
    input: { verifiablePresentation: unknown; options: { challenge: string; domain?: string | undefined } },
  ): Promise<{
    verified: true;
    checks: VerificationResult['checks'];
    credentialResults: VerificationResult[];
  }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:verify');
    const { challenge, domain } = input.options;
    const result = await verifyPresentation({
      presentation: input.verifiablePresentation,
      challenge,
      ...(domain === undefined ? {} : { domain }),
      documentLoader: this.documentLoader,
    });
    // The embedded credentials' status, in the order the library verified them.
    const presentation = input.verifiablePresentation;
    const embedded = (
      typeof presentation === 'object' && presentation !== null ? presentation : {}
    ) as JsonObject;
    const list = Array.isArray(embedded.verifiableCredential);
    const credentials = asArray(embedded.verifiableCredential);
    const errors = [...result.errors];
    const credentialResults = await Promise.all(
      result.credentialResults.map(async (credentialResult, i) => {
        const { verified, checks, errors: reasons } = await this.withStatus(credentialResult, credentials[i]);
        if (credentialResult.verified && !verified) {
          const path = list ? `/verifiableCredential/${i}` : '/verifiableCredential';
          const codes = reasons.map((reason) => reason.code).join(', ');
          errors.push({
            code: 'invalid-credential-in-presentation',
            message: `Credential ${path} did not verify: ${codes}.`,
            path,
          });
        }
        return { verified, checks, errors: reasons };
      }),
    );
    const checked = { ...result, verified: errors.length === 0, errors };
    if (!checked.verified) {
      throw notVerified('The presentation did not verify', checked, { credentialResults });
    }
    return { verified: true, checks: result.checks, credentialResults };
  }

  /**
   * VC-JOSE-COSE: the same data-model checks as Data Integrity and only bundled contexts (nothing is
   * fetched, so an unknown context is refused here too), then the JWS as an EnvelopedVerifiableCredential.
   */
  private async issueVcJwt(credential: JsonObject, key: IssuerKey): Promise<JsonObject> {
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
    const jws = await issueVcJwt({ credential, signer });
    return {
      '@context': CREDENTIALS_V2,
      type: 'EnvelopedVerifiableCredential',
      id: `${VC_JWT_DATA_URL}${jws}`,
    };
  }

  /** The verification and, when the JWS verified, its credential (whose status is checked next). */
  private async verifyEnveloped(
    envelope: JsonObject,
  ): Promise<{ result: VerificationResult; payload?: unknown }> {
    const checks: VerificationResult['checks'] = ['data-model', 'proof', 'validity-period'];
    const id = envelope.id;
    if (typeof id !== 'string' || !id.startsWith(VC_JWT_DATA_URL)) {
      const message = `An enveloped credential's id must be a "${VC_JWT_DATA_URL}<JWS>" URL.`;
      return {
        result: { verified: false, checks, errors: [{ code: 'invalid-credential', message, path: '/id' }] },
      };
    }
    try {
      const { credential } = await verifyVcJwt(id.slice(VC_JWT_DATA_URL.length), {
        resolveKey: this.resolveKey,
      });
      return { result: { verified: true, checks, errors: [] }, payload: credential };
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      // The JOSE codes (malformed, invalid-signature, expired, …) are reasons of their own.
      const problem = { code: error.code, message: error.message } as VerificationResult['errors'][number];
      return { result: { verified: false, checks, errors: [problem] } };
    }
  }

  /** The public JWK of a vc+jwt's `kid`, from the issuer's DID document (locally for our own issuers). */
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
  if (purposes.length > 0 && !issuer.suites.some((suite) => suite !== 'vc+jwt')) {
    throw badOption(
      '#/options/credentialStatus',
      'needs an issuer with a Data Integrity suite to sign its lists',
    );
  }
  return purposes;
}

/** The suite asked for (which the issuer must have), or the issuer's first. */
function chooseSuite(issuer: IssuerRecord, options: IssueOptions): Suite {
  if (options.cryptosuite !== undefined && options.format !== undefined) {
    throw badOption('#/options/format', 'cannot be combined with options.cryptosuite');
  }
  const wanted: Suite | undefined = options.format === 'application/vc+jwt' ? 'vc+jwt' : options.cryptosuite;
  if (wanted === undefined) return issuer.suites[0] as Suite;
  if (!issuer.suites.includes(wanted)) {
    const pointer = options.format === undefined ? '#/options/cryptosuite' : '#/options/format';
    throw badOption(pointer, `is not one of this issuer's suites (${issuer.suites.join(', ')})`);
  }
  return wanted;
}

function badOption(pointer: string, detail: string): Problem {
  return new Problem('validation-error', `The request is not valid: body ${pointer.slice(1)} ${detail}`, {
    errors: [{ in: 'body', pointer, detail }],
  });
}

/** The credential with `issuer` set to the issuer's DID; a different issuer is refused. */
function withIssuer(credential: JsonObject, did: string): JsonObject {
  const { issuer } = credential;
  if (issuer === undefined) return { ...credential, issuer: did };
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
  return credential;
}

/** A library error as a 400 naming its code and, for data-model violations, the failing fields. */
function rejected(error: unknown): unknown {
  if (!(error instanceof CredentialError) || SERVER_FAULTS.has(error.code)) return error;
  const violations = (error.details?.violations as Violation[] | undefined) ?? [];
  return new Problem('credential-rejected', error.message, {
    errors: violations.map(({ path, message }) => ({
      in: 'body',
      pointer: `#/credential${path}`,
      detail: message,
    })),
    extensions: { code: error.code },
  });
}

function notVerified(
  detail: string,
  result: VerificationResult,
  extra: Record<string, unknown> = {},
): Problem {
  const reasons = [...new Set(result.errors.map((error) => error.code))].join(', ');
  return new Problem('not-verified', `${detail}: ${reasons}.`, {
    extensions: { verified: false, checks: result.checks, errors: result.errors, ...extra },
  });
}

function isEnveloped(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return asArray((value as JsonObject).type).includes('EnvelopedVerifiableCredential');
}

function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function summary(violations: Violation[]): string {
  const [first] = violations as [Violation];
  return `${first.path || '/'}: ${first.message}${violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''}`;
}

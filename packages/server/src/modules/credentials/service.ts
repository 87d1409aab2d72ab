import { hash } from 'node:crypto';
import {
  CredentialError,
  createDocumentLoader,
  createKeyStoreSigner,
  DID_LD_JSON,
  type DocumentLoader,
  findVerificationMethod,
  issueCredential,
  issueVcJwt,
  keyStoreJwsSigner,
  type ResolveKey,
  type VerificationResult,
  type Violation,
  validateCredential,
  verifyCredential,
  verifyPresentation,
  verifyVcJwt,
} from '@personachain/credentials';
import { decodePublicKeyMultibase, exportJwk, type KeyStore } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import type { DidService } from '../dids/service.js';
import {
  type IssuerKey,
  type IssuerRecord,
  type IssuersService,
  keyForSuite,
  type Suite,
} from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { DATA_INTEGRITY_SUITES } from './schemas.js';

type JsonObject = Record<string, unknown>;
type PublicJwk = NonNullable<Awaited<ReturnType<ResolveKey>>>;

export interface IssueOptions {
  cryptosuite?: (typeof DATA_INTEGRITY_SUITES)[number];
  format?: 'application/vc+jwt';
  created?: string;
  mandatoryPointers?: string[];
}

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

  constructor(
    private readonly issuers: IssuersService,
    private readonly tenancy: TenancyService,
    private readonly dids: DidService,
    private readonly keys: KeyStore,
    private readonly audit: AuditService,
  ) {
    this.documentLoader = createDocumentLoader({ resolveDidUrl: (url) => this.resolveDidUrl(url) });
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
    let verifiableCredential: JsonObject;
    try {
      verifiableCredential =
        suite === 'vc+jwt'
          ? await this.issueVcJwt(credential, key)
          : await issueCredential({
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
    } catch (error) {
      throw rejected(error);
    }
    const id = credential.id;
    await this.audit.recordAlone({
      type: 'credential.issued',
      orgId: issuer.orgId,
      projectId: issuer.projectId,
      actor: principal.keyId,
      subject: issuer.id,
      // Never the subject's data: a hash that identifies the credential, its types and how it was secured.
      details: {
        credentialHash: sha256(typeof id === 'string' ? id : JSON.stringify(verifiableCredential)),
        hashOf: typeof id === 'string' ? 'id' : 'credential',
        types: (credential.type as unknown[]).filter((type): type is string => typeof type === 'string'),
        suite,
      },
    });
    return { verifiableCredential };
  }

  async verifyCredential(
    principal: Principal,
    projectId: string,
    input: { verifiableCredential: unknown },
  ): Promise<{ verified: true; checks: VerificationResult['checks'] }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:verify');
    const credential = input.verifiableCredential;
    const result = isEnveloped(credential)
      ? await this.verifyEnveloped(credential)
      : await verifyCredential({ credential, documentLoader: this.documentLoader });
    if (!result.verified) throw notVerified('The credential did not verify', result);
    return { verified: true, checks: result.checks };
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
    const credentialResults = result.credentialResults.map(({ verified, checks, errors }) => ({
      verified,
      checks,
      errors,
    }));
    if (!result.verified) {
      throw notVerified('The presentation did not verify', result, { credentialResults });
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

  private async verifyEnveloped(envelope: JsonObject): Promise<VerificationResult> {
    const checks: VerificationResult['checks'] = ['data-model', 'proof', 'validity-period'];
    const id = envelope.id;
    if (typeof id !== 'string' || !id.startsWith(VC_JWT_DATA_URL)) {
      const message = `An enveloped credential's id must be a "${VC_JWT_DATA_URL}<JWS>" URL.`;
      return { verified: false, checks, errors: [{ code: 'invalid-credential', message, path: '/id' }] };
    }
    try {
      await verifyVcJwt(id.slice(VC_JWT_DATA_URL.length), { resolveKey: this.resolveKey });
      return { verified: true, checks, errors: [] };
    } catch (error) {
      if (!(error instanceof CredentialError)) throw error;
      // The JOSE codes (malformed, invalid-signature, expired, …) are reasons of their own.
      const problem = { code: error.code, message: error.message } as VerificationResult['errors'][number];
      return { verified: false, checks, errors: [problem] };
    }
  }

  /**
   * The public JWK of a vc+jwt's `kid`: a verification method of the issuer's DID (relative ids are read
   * against it) that the DID document lists under `assertionMethod`.
   */
  private readonly resolveKey: ResolveKey = async (kid, issuer) => {
    if (kid === undefined || issuer === undefined) return undefined;
    const url = kid.startsWith('#') ? `${issuer}${kid}` : kid;
    if (!url.startsWith(`${issuer}#`)) {
      throw new CredentialError('issuer-mismatch', `The key "${url}" is not one of the issuer "${issuer}".`);
    }
    const { didDocument, didResolutionMetadata } = await this.dids.resolve(issuer, DID_LD_JSON);
    if (!didDocument) {
      throw new CredentialError(
        'unknown-key',
        `The issuer "${issuer}" could not be resolved (${didResolutionMetadata.error}): ${didResolutionMetadata.errorMessage}.`,
      );
    }
    const method = findVerificationMethod(didDocument, url);
    if (!method) return undefined;
    const listed = (didDocument.assertionMethod ?? []).some((entry) => {
      const entryId = typeof entry === 'string' ? entry : entry.id;
      return (entryId.startsWith('#') ? `${issuer}${entryId}` : entryId) === url;
    });
    if (!listed) {
      throw new CredentialError(
        'unauthorized-verification-method',
        `"${url}" is not listed under "assertionMethod" by "${issuer}".`,
      );
    }
    if (method.publicKeyJwk !== undefined) return method.publicKeyJwk as PublicJwk;
    if (typeof method.publicKeyMultibase !== 'string') return undefined;
    const { algorithm, publicKey } = decodePublicKeyMultibase(method.publicKeyMultibase);
    return exportJwk(algorithm, publicKey) as PublicJwk;
  };

  /** DIDs and DID URLs for the JSON-LD document loader; a failure keeps the resolver's reason. */
  private async resolveDidUrl(url: string): Promise<Record<string, unknown>> {
    const { contentStream, dereferencingMetadata } = await this.dids.dereference(url);
    if (contentStream === null) {
      throw new CredentialError(
        'document-not-found',
        `"${url}" could not be resolved (${dereferencingMetadata.error}): ${dereferencingMetadata.errorMessage}.`,
        { details: { url, error: dereferencingMetadata.error } },
      );
    }
    return contentStream;
  }
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

function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

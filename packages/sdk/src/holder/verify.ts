import {
  assertionKeyResolver,
  CredentialError,
  DID_LD_JSON,
  parseVcCoseDataUrl,
  type ResolveKey,
  type ValidityOptions,
  VC_COSE_DATA_URL,
  VC_SD_JWT_DATA_URL,
  type VerificationResult,
  verifyCredential,
  verifyVcCose,
  verifyVcJwt,
  verifyVcSdJwt,
} from '@personachain/credentials';
import { holderDocumentLoader, holderResolver, type OfflineOptions } from './loader.js';

export interface VerifyOfflineOptions extends OfflineOptions {
  /** The time validity is judged at (default: now). */
  now?: Date;
}

export type { VerificationResult } from '@personachain/credentials';

const VC_JWT_DATA_URL = 'data:application/vc+jwt,';

/** Verifies one VC-JOSE-COSE secured credential with the issuer's keys; throws a CredentialError. */
type VerifySecured = (options: ValidityOptions & { resolveKey: ResolveKey }) => Promise<unknown>;

/**
 * Verifies a credential without the server: a Data Integrity credential (every suite of
 * `@personachain/credentials`), or a VC-JOSE-COSE one — vc+jwt, vc+sd-jwt or vc+cose as the
 * `EnvelopedVerifiableCredential` the API issues, or a vc+jwt / vc+sd-jwt as its compact string. Keys come from
 * the issuer's DID (did:key locally, did:web through `fetch`) and must be listed under `assertionMethod`. Never
 * throws for a bad credential: the reasons are in `errors`.
 */
export async function verifyCredentialOffline(
  credential: unknown,
  options: VerifyOfflineOptions = {},
): Promise<VerificationResult> {
  const resolver = holderResolver(options);
  const secured = securedOf(credential);
  if (secured === undefined) {
    return verifyCredential({
      credential,
      documentLoader: holderDocumentLoader(resolver),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  const checks: VerificationResult['checks'] = ['data-model', 'proof', 'validity-period'];
  try {
    await secured({
      resolveKey: assertionKeyResolver((did) => resolver.resolve(did, { accept: DID_LD_JSON })),
      ...(options.now === undefined ? {} : { now: options.now.getTime() }),
    });
    return { verified: true, checks, errors: [] };
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    const problem = { code: error.code, message: error.message } as VerificationResult['errors'][number];
    return { verified: false, checks, errors: [problem] };
  }
}

/**
 * The verifier of a VC-JOSE-COSE credential: an enveloped one by its data: URL's media type, a compact string as
 * an SD-JWT when it has a `~`, else a JWS. Undefined for anything else (a Data Integrity credential).
 */
function securedOf(credential: unknown): VerifySecured | undefined {
  if (typeof credential === 'string') {
    return credential.includes('~')
      ? (options) => verifyVcSdJwt(credential, options)
      : (options) => verifyVcJwt(credential, options);
  }
  if (typeof credential !== 'object' || credential === null) return undefined;
  const { id } = credential as Record<string, unknown>;
  if (typeof id !== 'string') return undefined;
  if (id.startsWith(VC_JWT_DATA_URL))
    return (options) => verifyVcJwt(id.slice(VC_JWT_DATA_URL.length), options);
  if (id.startsWith(VC_SD_JWT_DATA_URL)) {
    return (options) => verifyVcSdJwt(id.slice(VC_SD_JWT_DATA_URL.length), options);
  }
  if (id.toLowerCase().startsWith(VC_COSE_DATA_URL)) {
    return async (options) => verifyVcCose(parseVcCoseDataUrl(id), options);
  }
  return undefined;
}

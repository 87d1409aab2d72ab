import {
  assertionKeyResolver,
  CredentialError,
  DID_LD_JSON,
  type VerificationResult,
  verifyCredential,
  verifyVcJwt,
} from '@personachain/credentials';
import { holderDocumentLoader, holderResolver, type OfflineOptions } from './loader.js';

export interface VerifyOfflineOptions extends OfflineOptions {
  /** The time validity is judged at (default: now). */
  now?: Date;
}

export type { VerificationResult } from '@personachain/credentials';

const VC_JWT_DATA_URL = 'data:application/vc+jwt,';

/**
 * Verifies a credential without the server: a Data Integrity credential (every suite of
 * `@personachain/credentials`), or a VC-JWT — as the `EnvelopedVerifiableCredential` the API issues or as the
 * compact JWS. Keys come from the issuer's DID (did:key locally, did:web through `fetch`) and must be listed
 * under `assertionMethod`. Never throws for a bad credential: the reasons are in `errors`.
 */
export async function verifyCredentialOffline(
  credential: unknown,
  options: VerifyOfflineOptions = {},
): Promise<VerificationResult> {
  const resolver = holderResolver(options);
  const jws = vcJwtOf(credential);
  if (jws === undefined) {
    return verifyCredential({
      credential,
      documentLoader: holderDocumentLoader(resolver),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  const checks: VerificationResult['checks'] = ['data-model', 'proof', 'validity-period'];
  try {
    await verifyVcJwt(jws, {
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

/** The JWS of a VC-JWT (enveloped or compact), undefined for anything else. */
function vcJwtOf(credential: unknown): string | undefined {
  if (typeof credential === 'string') return credential;
  if (typeof credential !== 'object' || credential === null) return undefined;
  const { id } = credential as Record<string, unknown>;
  return typeof id === 'string' && id.startsWith(VC_JWT_DATA_URL)
    ? id.slice(VC_JWT_DATA_URL.length)
    : undefined;
}

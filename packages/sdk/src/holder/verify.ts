import {
  CredentialError,
  DID_LD_JSON,
  type DidResolver,
  findVerificationMethod,
  type ResolveKey,
  type VerificationResult,
  verifyCredential,
  verifyVcJwt,
} from '@personachain/credentials';
import { decodePublicKeyMultibase, exportJwk } from '@personachain/crypto';
import { holderDocumentLoader, holderResolver, type OfflineOptions } from './loader.js';

export interface VerifyOfflineOptions extends OfflineOptions {
  /** The time validity is judged at (default: now). */
  now?: Date;
}

export type { VerificationResult } from '@personachain/credentials';

const VC_JWT_DATA_URL = 'data:application/vc+jwt,';
type PublicJwk = NonNullable<Awaited<ReturnType<ResolveKey>>>;

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
      resolveKey: assertionKeyResolver(resolver),
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

/** A VC-JWT `kid` → the public JWK of that method of the issuer's DID, listed under `assertionMethod`. */
function assertionKeyResolver(resolver: DidResolver): ResolveKey {
  return async (kid, issuer) => {
    if (kid === undefined || issuer === undefined) return undefined;
    const url = kid.startsWith('#') ? `${issuer}${kid}` : kid;
    if (!url.startsWith(`${issuer}#`)) {
      throw new CredentialError('issuer-mismatch', `The key "${url}" is not one of the issuer "${issuer}".`);
    }
    const { didDocument, didResolutionMetadata } = await resolver.resolve(issuer, { accept: DID_LD_JSON });
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
}

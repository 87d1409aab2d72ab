import { decodePublicKeyMultibase, exportJwk } from '@personachain/crypto';
import type { JWK } from 'jose';
import type { DidResolutionResult } from '../dids/resolver.js';
import { findVerificationMethod } from '../dids/resolver.js';
import { CredentialError } from '../errors.js';
import type { ResolveKey } from './key-resolution.js';

/**
 * A ResolveKey over DIDs: a JWS `kid` names a verification method of the issuer's DID (relative ids are
 * read against it) that the DID document lists under `assertionMethod`; its key comes back as a public JWK
 * (from `publicKeyJwk`, or converted from a Multikey). `resolveDid` is the caller's resolver.
 */
export function assertionKeyResolver(resolveDid: (did: string) => Promise<DidResolutionResult>): ResolveKey {
  return async (kid, issuer) => {
    if (kid === undefined || issuer === undefined) return undefined;
    const url = kid.startsWith('#') ? `${issuer}${kid}` : kid;
    if (!url.startsWith(`${issuer}#`)) {
      throw new CredentialError('issuer-mismatch', `The key "${url}" is not one of the issuer "${issuer}".`);
    }
    const { didDocument, didResolutionMetadata } = await resolveDid(issuer);
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
    if (method.publicKeyJwk !== undefined) return method.publicKeyJwk as JWK;
    if (typeof method.publicKeyMultibase !== 'string') return undefined;
    const { algorithm, publicKey } = decodePublicKeyMultibase(method.publicKeyMultibase);
    return exportJwk(algorithm, publicKey) as JWK;
  };
}

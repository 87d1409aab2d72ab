import { BoundedCache, decodePublicKeyMultibase, exportJwk } from '@personachain/crypto';
import type { JWK } from 'jose';
import type { DidResolutionResult } from '../dids/resolver.js';
import { findVerificationMethod } from '../dids/resolver.js';
import { CredentialError } from '../errors.js';
import type { ResolveKey } from './key-resolution.js';

/**
 * The public JWK of each Multikey seen. The same object every time, frozen: jose remembers the key it
 * imported per JWK object, so a verifier neither converts nor imports an issuer's key twice.
 */
const multikeyJwks = new BoundedCache<string, JWK>(4096);

/** The verification relationship a JWS key must be listed under: credentials and presentations. */
export type JwsKeyRelationship = 'assertionMethod' | 'authentication';

/**
 * A ResolveKey over DIDs: a JWS `kid` names a verification method of the signer's DID (relative ids are
 * read against it) that the DID document lists under `relationship` (`assertionMethod` for a credential's
 * issuer, `authentication` for a presentation's holder); its key comes back as a public JWK (from
 * `publicKeyJwk`, or converted from a Multikey). `resolveDid` is the caller's resolver.
 */
export function didKeyResolver(
  resolveDid: (did: string) => Promise<DidResolutionResult>,
  relationship: JwsKeyRelationship,
): ResolveKey {
  return async (kid, issuer) => {
    if (kid === undefined || issuer === undefined) return undefined;
    const url = kid.startsWith('#') ? `${issuer}${kid}` : kid;
    if (!url.startsWith(`${issuer}#`)) {
      throw new CredentialError('issuer-mismatch', `The key "${url}" is not one of the signer "${issuer}".`);
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
    const listed = (didDocument[relationship] ?? []).some((entry) => {
      const entryId = typeof entry === 'string' ? entry : entry.id;
      return (entryId.startsWith('#') ? `${issuer}${entryId}` : entryId) === url;
    });
    if (!listed) {
      throw new CredentialError(
        'unauthorized-verification-method',
        `"${url}" is not listed under "${relationship}" by "${issuer}".`,
      );
    }
    if (method.publicKeyJwk !== undefined) return method.publicKeyJwk as JWK;
    if (typeof method.publicKeyMultibase !== 'string') return undefined;
    return multikeyJwk(method.publicKeyMultibase);
  };
}

/** The keys of credential issuers: `assertionMethod`. */
export function assertionKeyResolver(resolveDid: (did: string) => Promise<DidResolutionResult>): ResolveKey {
  return didKeyResolver(resolveDid, 'assertionMethod');
}

function multikeyJwk(multibase: string): JWK {
  const cached = multikeyJwks.get(multibase);
  if (cached) return cached;
  const { algorithm, publicKey } = decodePublicKeyMultibase(multibase);
  return multikeyJwks.set(multibase, Object.freeze(exportJwk(algorithm, publicKey) as JWK));
}

import { hash } from 'node:crypto';
import { issueSdJwtVc, keyStoreJwsSigner } from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import type { JWK } from 'jose';
import { type IssuerKey, type IssuerRecord, keyForSuite } from '../issuers/service.js';

/** What an SD-JWT VC says: its type and flat claims, for a holder key. */
export interface SdJwtVcContent {
  /** The credential type URL (`vct`). */
  vct: string;
  /** Flat claims, each issued selectively disclosable. */
  claims: Record<string, string | number | boolean>;
  /** The holder's public key, bound as `cnf.jwk`: presentations need a KB-JWT signed with it. */
  holderKey: JWK;
  /** The holder's DID when the key was proven by DID, as a (disclosable) `sub`. */
  subject?: string | undefined;
  issuedAt: number;
  expiresAt: number;
}

/** The issuer's key that signs JWS (Ed25519, P-256, P-384 or P-521), if it has one. */
export function sdJwtKey(issuer: IssuerRecord): IssuerKey | undefined {
  return keyForSuite(issuer.keys, 'vc+jwt');
}

/**
 * Issues an SD-JWT VC (`typ: dc+sd-jwt`) with the issuer's KeyStore key: `iss` is the issuer's DID and the
 * header `kid` its verification method, so verifiers find the key by resolving the DID. Every claim (and
 * `sub`) is selectively disclosable; `iss`, `vct`, `iat`, `exp` and `cnf` never are (SD-JWT VC §3.2.2.2).
 * The hash identifies the credential in audit records: SHA-256 of its issuer-signed JWT.
 */
export async function issueSdJwtWithKeyStore(
  keys: KeyStore,
  issuer: IssuerRecord,
  key: IssuerKey,
  content: SdJwtVcContent,
): Promise<{ sdJwt: string; credentialHash: string }> {
  const claims = {
    iss: issuer.did,
    vct: content.vct,
    ...(content.subject === undefined ? {} : { sub: content.subject }),
    ...content.claims,
  };
  const disclosable = Object.keys(claims)
    .filter((name) => name !== 'iss' && name !== 'vct')
    .map((name) => [name]);
  const sdJwt = await issueSdJwtVc({
    claims,
    signer: await keyStoreJwsSigner(keys, key.keyId, key.verificationMethod),
    disclosable,
    holderKey: content.holderKey,
    issuedAt: content.issuedAt,
    expiresAt: content.expiresAt,
  });
  const issuerJwt = sdJwt.slice(0, sdJwt.indexOf('~'));
  return { sdJwt, credentialHash: hash('sha256', issuerJwt, 'hex') };
}

import { decodeProtectedHeader, importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { OAuthError, Oauth2ErrorCodes } from './oauth-error.js';

/** `typ` of an OpenID4VCI key proof (OpenID4VCI 1.0 Appendix F.1). */
export const PROOF_TYP = 'openid4vci-proof+jwt';
/** Proof algorithms the issuer accepts, as its metadata says. */
export const PROOF_ALGS = ['EdDSA', 'ES256'] as const;
/** How far a proof's `iat` may be from the issuer's clock, either way. */
export const PROOF_MAX_SKEW_SECONDS = 300;

/** The key a proof was signed with: the holder key a credential is bound to. */
export interface ProofKey {
  /** Public members only (`kty`, `crv`, `x`, `y`). */
  jwk: JWK;
  /** The DID of the `kid`, when the proof named its key by DID URL; null for a `jwk` proof. */
  did: string | null;
}

export interface VerifiedProof {
  key: ProofKey;
  /** The c_nonce the proof carries; checked (and consumed) by the caller. */
  nonce: string;
}

export interface ProofExpectations {
  /** The credential issuer identifier: the proof's `aud`. */
  audience: string;
  now: Date;
  /** The public JWK of a DID URL's verification method (undefined when the DID has no such key). */
  resolveDidKey: (didUrl: string) => Promise<JWK | undefined>;
}

/**
 * Checks a `jwt` proof of possession (OpenID4VCI 1.0 Appendix F.1 and F.4): typ, an accepted alg, exactly
 * one of `kid` (a DID URL) or `jwk` (x5c and trust chains are not supported), the signature with that key,
 * `aud` = the credential issuer, `iat` within PROOF_MAX_SKEW_SECONDS, and a `nonce`. Everything wrong is
 * `invalid_proof`, except a missing nonce (`invalid_nonce`, so the wallet fetches one and retries).
 */
export async function verifyProof(jwt: string, expected: ProofExpectations): Promise<VerifiedProof> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw invalidProof('the proof is not a compact JWS');
  }
  if (header.typ !== PROOF_TYP) throw invalidProof(`the proof's typ must be ${PROOF_TYP}`);
  const alg = header.alg;
  if (!PROOF_ALGS.includes(alg as (typeof PROOF_ALGS)[number])) {
    throw invalidProof(`the proof's alg must be one of ${PROOF_ALGS.join(', ')}`);
  }
  if (header.x5c !== undefined || header.trust_chain !== undefined) {
    throw invalidProof('x5c and trust_chain proofs are not supported: use kid (a DID URL) or jwk');
  }
  if ((header.kid === undefined) === (header.jwk === undefined)) {
    throw invalidProof('the proof must name its key with exactly one of kid and jwk');
  }
  const key =
    header.jwk !== undefined ? ownKey(header.jwk, alg as string) : await didKey(header.kid, expected);
  let payload: JWTPayload;
  try {
    const verified = await jwtVerify(jwt, await importJWK(key.jwk, alg), {
      typ: PROOF_TYP,
      algorithms: [alg as string],
      audience: expected.audience,
      currentDate: expected.now,
    });
    payload = verified.payload;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') throw invalidProof('the proof has expired (exp)');
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      const claim = (error as { claim?: string }).claim;
      throw invalidProof(
        claim === 'aud'
          ? `the proof's aud must be the credential issuer ${expected.audience}`
          : `the proof's ${claim ?? 'claims'} did not validate`,
      );
    }
    throw invalidProof('the proof signature does not verify with its key');
  }
  const nowSeconds = expected.now.getTime() / 1000;
  if (typeof payload.iat !== 'number' || Math.abs(nowSeconds - payload.iat) > PROOF_MAX_SKEW_SECONDS) {
    throw invalidProof(`the proof's iat must be within ${PROOF_MAX_SKEW_SECONDS} s of the issuer's clock`);
  }
  if (typeof payload.nonce !== 'string' || payload.nonce.length === 0) {
    throw new OAuthError(Oauth2ErrorCodes.InvalidNonce, 'the proof has no nonce: get a c_nonce first');
  }
  return { key, nonce: payload.nonce };
}

/** A `jwk` header: a public Ed25519 or P-256 key that matches the alg. */
function ownKey(jwk: JWK, alg: string): ProofKey {
  if (jwk.d !== undefined) throw invalidProof('the proof jwk must be a public key');
  const ed25519 = jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string';
  const p256 =
    jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string';
  if (!(alg === 'EdDSA' ? ed25519 : p256)) {
    throw invalidProof(`the proof jwk is not a ${alg === 'EdDSA' ? 'Ed25519' : 'P-256'} public key`);
  }
  return { jwk: publicMembers(jwk), did: null };
}

/** A `kid` header: a DID URL whose verification method (authentication) holds the key. */
async function didKey(kid: string | undefined, expected: ProofExpectations): Promise<ProofKey> {
  const hash = kid?.indexOf('#') ?? -1;
  if (kid === undefined || !kid.startsWith('did:') || hash < 0) {
    throw invalidProof('the proof kid must be a DID URL with a fragment (did:…#…)');
  }
  let jwk: JWK | undefined;
  try {
    jwk = await expected.resolveDidKey(kid);
  } catch (error) {
    throw invalidProof(`the proof kid ${kid} could not be resolved: ${(error as Error).message}`);
  }
  if (!jwk) throw invalidProof(`the DID has no verification method ${kid}`);
  return { jwk: publicMembers(jwk), did: kid.slice(0, hash) };
}

function publicMembers(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, ...(y === undefined ? {} : { y }) } as JWK;
}

function invalidProof(description: string): OAuthError {
  return new OAuthError(Oauth2ErrorCodes.InvalidProof, description);
}

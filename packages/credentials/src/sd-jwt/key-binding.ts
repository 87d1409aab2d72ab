import { base64url, type JWK } from 'jose';
import { CredentialError } from '../errors.js';
import type { JsonObject } from '../jose/compact.js';
import type { JwsSigner } from '../jose/signer.js';

/** What a verifier asks of a Key Binding JWT (RFC 9901 §4.3): its nonce and audience, and a maximum age. */
export interface KeyBindingRequirement {
  nonce: string;
  audience: string;
  /** Seconds since the KB-JWT's `iat`; 300 by default. */
  maxAgeSeconds?: number;
}

/** The holder's key an SD-JWT binds (`cnf.jwk`), which must sign its KB-JWT. */
export function holderKey(payload: JsonObject): JWK {
  const cnf = payload.cnf;
  const jwk = typeof cnf === 'object' && cnf !== null ? (cnf as JsonObject).jwk : undefined;
  if (typeof jwk !== 'object' || jwk === null) {
    throw new CredentialError(
      'key-binding-invalid',
      'the credential has no cnf.jwk to check the KB-JWT against',
    );
  }
  return jwk as JWK;
}

/** The KB-JWT's audience and `iat` window (its nonce and sd_hash are checked with its signature). */
export function checkKeyBindingClaims(
  kb: { payload: JsonObject },
  required: KeyBindingRequirement,
  now: number,
  skewSeconds: number,
): void {
  if (kb.payload.aud !== required.audience) {
    throw new CredentialError('audience-mismatch', 'the KB-JWT is not addressed to this verifier (aud)');
  }
  const iat = kb.payload.iat;
  const nowSeconds = now / 1000;
  if (typeof iat !== 'number' || iat - skewSeconds > nowSeconds) {
    throw new CredentialError('key-binding-invalid', 'the KB-JWT iat is missing or in the future');
  }
  if (nowSeconds - iat > (required.maxAgeSeconds ?? 300) + skewSeconds) {
    throw new CredentialError('key-binding-invalid', 'the KB-JWT is too old');
  }
}

const encoder = new TextEncoder();

/** A JwsSigner as the `@sd-jwt` libraries' signer callback (base64url signature of the signing input). */
export function librarySigner(signer: JwsSigner) {
  return async (data: string) => base64url.encode(await signer.sign(encoder.encode(data)));
}

/** A holder's Key Binding JWT to append to a presentation: signed with the `cnf` key, for one verifier. */
export interface HolderKeyBinding {
  signer: JwsSigner;
  nonce: string;
  audience: string;
  /** `iat` in seconds; defaults to now. */
  issuedAt?: number;
}

/** The `@sd-jwt` instance options (KB signer) and `present` options (KB payload) for `kb`, if any. */
export function keyBindingOptions(kb: HolderKeyBinding | undefined) {
  if (kb === undefined) return { instance: {}, present: {} };
  return {
    instance: { kbSigner: librarySigner(kb.signer), kbSignAlg: kb.signer.alg },
    present: {
      kb: {
        payload: { iat: kb.issuedAt ?? Math.floor(Date.now() / 1000), aud: kb.audience, nonce: kb.nonce },
      },
    },
  };
}

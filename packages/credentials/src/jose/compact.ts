import { fromBase64Url, toBase64Url } from '@personachain/crypto';
import { type CryptoKey, compactVerify, importJWK, type JWK } from 'jose';
import { CredentialError } from '../errors.js';
import { isJoseVerificationAlgorithm, type JoseVerificationAlgorithm } from './algorithms.js';
import type { JwsSigner } from './signer.js';

export type JsonObject = Record<string, unknown>;

export interface DecodedJws {
  header: JsonObject & { alg: JoseVerificationAlgorithm };
  payload: JsonObject;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Compact JWS (RFC 7515 §7.1) over a JSON payload; `alg` and `kid` come from the signer. */
export async function signCompactJws(
  header: JsonObject,
  payload: JsonObject,
  signer: JwsSigner,
): Promise<string> {
  const protectedHeader = { ...header, alg: signer.alg, kid: signer.kid };
  const signingInput = `${encodeJson(protectedHeader)}.${encodeJson(payload)}`;
  const signature = await signer.sign(encoder.encode(signingInput));
  return `${signingInput}.${toBase64Url(signature)}`;
}

const encodeJson = (value: JsonObject) => toBase64Url(encoder.encode(JSON.stringify(value)));

function decodeJsonObject(segment: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(fromBase64Url(segment)));
  } catch (cause) {
    throw new CredentialError('malformed', `JWS ${what} is not base64url-encoded UTF-8 JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialError('malformed', `JWS ${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Parses a compact JWS without trusting it: three segments, JSON header and payload, and an `alg` we
 * accept (so `none` and HMAC never reach key resolution). The signature is checked by
 * verifyCompactJwsSignature.
 */
export function decodeCompactJws(jws: unknown): DecodedJws {
  if (typeof jws !== 'string') throw new CredentialError('malformed', 'a compact JWS must be a string');
  const parts = jws.split('.');
  if (parts.length !== 3) throw new CredentialError('malformed', 'a compact JWS has exactly three segments');
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = decodeJsonObject(headerSegment, 'protected header');
  if (!isJoseVerificationAlgorithm(header.alg)) {
    throw new CredentialError('unsupported-alg', `JWS alg ${JSON.stringify(header.alg)} is not accepted`);
  }
  // jose would reject an unknown `crit` too, but as a signature failure; none is defined for these media types.
  if (header.crit !== undefined) {
    throw new CredentialError('malformed', 'critical header parameters (crit) are not supported');
  }
  if (signatureSegment.length === 0)
    throw new CredentialError('invalid-signature', 'the JWS has no signature');
  return { header: header as DecodedJws['header'], payload: decodeJsonObject(payloadSegment, 'payload') };
}

// Importing a JWK costs more than verifying an Ed25519 signature; resolvers that return the same JWK
// object (a cached DID document) import it once.
const importedKeys = new WeakMap<JWK, Map<string, CryptoKey>>();

function sameAlgorithm(a: string, b: string): boolean {
  const normal = (alg: string) => (alg === 'Ed25519' ? 'EdDSA' : alg);
  return normal(a) === normal(b);
}

async function importVerificationKey(jwk: JWK, alg: JoseVerificationAlgorithm): Promise<CryptoKey> {
  if (typeof jwk.alg === 'string' && !sameAlgorithm(jwk.alg, alg)) {
    throw new CredentialError('invalid-key', `the key is for ${jwk.alg}, the JWS uses ${alg}`);
  }
  if (jwk.d !== undefined) throw new CredentialError('invalid-key', 'a verification key must be public');
  const cached = importedKeys.get(jwk)?.get(alg);
  if (cached) return cached;
  let key: CryptoKey;
  try {
    const imported = await importJWK(jwk, alg);
    if (imported instanceof Uint8Array) throw new TypeError('symmetric keys are not accepted');
    key = imported;
  } catch (cause) {
    if (cause instanceof CredentialError) throw cause;
    throw new CredentialError('invalid-key', `the resolved key cannot verify ${alg}`, { cause });
  }
  const perAlg = importedKeys.get(jwk) ?? new Map<string, CryptoKey>();
  perAlg.set(alg, key);
  importedKeys.set(jwk, perAlg);
  return key;
}

/**
 * Verifies the JWS signature with jose against a public JWK, allowing only `alg`. jose checks through
 * WebCrypto, which runs on libuv's thread pool: about 24 µs of the event loop per Ed25519 signature
 * against about 60 µs for libsodium called synchronously, so a busy server verifies more per second.
 */
export async function verifyCompactJwsSignature(
  jws: string,
  jwk: JWK,
  alg: JoseVerificationAlgorithm,
): Promise<void> {
  const key = await importVerificationKey(jwk, alg);
  try {
    await compactVerify(jws, key, { algorithms: [alg] });
  } catch (cause) {
    throw new CredentialError('invalid-signature', 'the JWS signature does not verify', { cause });
  }
}

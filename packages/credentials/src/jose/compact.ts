import { fromBase64Url, toBase64Url } from '@personachain/crypto';
import type { JWK } from 'jose';
import { CredentialError } from '../errors.js';
import { isJoseVerificationAlgorithm, type JoseVerificationAlgorithm, joseAlgorithms } from './algorithms.js';
import { checkSignature, type SignatureCheckOptions } from './signature-check.js';
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

/**
 * Checks the signature of a compact JWS, allowing only `alg`, with the resolved public JWK: over the
 * ASCII of `header.payload` as received (RFC 7515 §5.2), by @personachain/crypto in place or by the
 * options' verifier.
 */
export async function verifyCompactJwsSignature(
  jws: string,
  jwk: JWK,
  alg: JoseVerificationAlgorithm,
  options: SignatureCheckOptions = {},
): Promise<void> {
  const lastDot = jws.lastIndexOf('.');
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(jws.slice(lastDot + 1));
  } catch (cause) {
    throw new CredentialError('invalid-signature', 'the JWS signature is not base64url', { cause });
  }
  const signingInput = encoder.encode(jws.slice(0, lastDot));
  await checkSignature(jwk, joseAlgorithms[alg], signingInput, signature, 'JWS', options);
}

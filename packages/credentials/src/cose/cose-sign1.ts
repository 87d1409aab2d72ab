import { decode, encode } from 'cborg';
import type { JWK } from 'jose';
import { CredentialError } from '../errors.js';
import { joseAlgorithms } from '../jose/algorithms.js';
import { checkSignature, type SignatureCheckOptions } from '../jose/signature-check.js';
import type { JwsSigner } from '../jose/signer.js';

/*
 * COSE_Sign1 (RFC 9052 §4.2) assembled with cborg and signed/verified through @personachain/crypto. The
 * COSE libraries on npm were evaluated first: @auth0/cose pulls @peculiar/webcrypto, pkijs and jose 4;
 * cose-js is Node-only (elliptic, node-rsa) and unmaintained; @transmute/cose is pre-1.0 with X.509 and
 * transparency-log dependencies. None signs through a caller's async function the way our KeyStore
 * needs, so the (small) structure is built here and only the signature goes to the key holder.
 */

/** COSE header labels (RFC 9052 §3.1, RFC 9596 §2 for `typ`, RFC 9597 for CWT claims). */
export const HEADER = { alg: 1, crit: 2, contentType: 3, kid: 4, typ: 16, cwtClaims: 15 } as const;

/** Tag 18 marks a COSE_Sign1 (RFC 9052 §4.2); 0xd2 is its one-byte CBOR head (major type 6, value 18). */
const COSE_SIGN1_TAG = 18;
const COSE_SIGN1_TAG_HEAD = 0xd2;

/**
 * COSE algorithm ids (IANA COSE Algorithms): ES256 -7, ES384 -35, ES512 -36, EdDSA -8 and the fully-specified Ed25519
 * -19 (RFC 9864). ECDSA signatures are raw `r‖s` as in JOSE (RFC 9053 §2.1), the key's curve fixed by alg.
 */
const algorithms = {
  '-7': joseAlgorithms.ES256,
  '-35': joseAlgorithms.ES384,
  '-36': joseAlgorithms.ES512,
  '-8': joseAlgorithms.EdDSA,
  '-19': joseAlgorithms.Ed25519,
} as const;
type CoseAlgorithmId = keyof typeof algorithms;

/** Ed25519 signs as EdDSA (-8), like our JWS: the VC-JOSE-COSE examples and most verifiers use it. */
const coseAlgorithmOfJose: Record<JwsSigner['alg'], number> = {
  EdDSA: -8,
  ES256: -7,
  ES384: -35,
  ES512: -36,
};

export type HeaderMap = Map<number, unknown>;

export interface DecodedCoseSign1 {
  /** The encoded protected header, as signed. */
  protectedBytes: Uint8Array;
  protectedHeader: HeaderMap;
  unprotectedHeader: HeaderMap;
  payload: Uint8Array;
  signature: Uint8Array;
  alg: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** RFC 9052 §4.4: the bytes a COSE_Sign1 signature covers, with empty external AAD. */
function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
}

/**
 * A tagged COSE_Sign1 over `payload`: `alg` (from the signer) and `kid` (its UTF-8 bytes: kid is a bstr)
 * join `header` in the protected header, which is all the header there is.
 */
export async function signCoseSign1(
  header: HeaderMap,
  payload: Uint8Array,
  signer: JwsSigner,
): Promise<Uint8Array> {
  const protectedHeader: HeaderMap = new Map([
    [HEADER.alg, coseAlgorithmOfJose[signer.alg]],
    [HEADER.kid, encoder.encode(signer.kid)],
    ...header,
  ]);
  const protectedBytes = encode(protectedHeader);
  const signature = await signer.sign(sigStructure(protectedBytes, payload));
  const body = encode([protectedBytes, new Map(), payload, signature]);
  const tagged = new Uint8Array(body.length + 1);
  tagged[0] = COSE_SIGN1_TAG_HEAD;
  tagged.set(body, 1);
  return tagged;
}

function malformed(message: string, cause?: unknown): CredentialError {
  return new CredentialError('malformed', message, cause === undefined ? undefined : { cause });
}

function decodeStrict(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, {
      useMaps: true,
      rejectDuplicateMapKeys: true,
      strict: true,
      tags: Object.assign([], { [COSE_SIGN1_TAG]: (inner: unknown) => ({ coseSign1: inner }) }),
    });
  } catch (cause) {
    throw malformed(`the ${what} is not well-formed CBOR`, cause);
  }
}

function headerMap(value: unknown, what: string): HeaderMap {
  if (!(value instanceof Map)) throw malformed(`the COSE ${what} header is not a map`);
  return value as HeaderMap;
}

/**
 * Parses a COSE_Sign1 without trusting it: the (optional) tag 18, four members of the right types, an
 * attached payload, a protected header whose `alg` we accept and no `crit` (none is defined for these
 * media types). The signature is checked by verifyCoseSign1Signature.
 */
export function decodeCoseSign1(bytes: Uint8Array): DecodedCoseSign1 {
  let value = decodeStrict(bytes, 'COSE_Sign1');
  if (typeof value === 'object' && value !== null && 'coseSign1' in value) value = value.coseSign1;
  if (!Array.isArray(value) || value.length !== 4) {
    throw malformed('a COSE_Sign1 is an array of four members');
  }
  const [protectedBytes, unprotected, payload, signature] = value as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) throw malformed('the COSE protected header is not a bstr');
  if (!(payload instanceof Uint8Array)) throw malformed('the COSE_Sign1 has no attached payload');
  if (!(signature instanceof Uint8Array)) throw malformed('the COSE signature is not a bstr');
  const protectedHeader =
    protectedBytes.length === 0
      ? new Map()
      : headerMap(decodeStrict(protectedBytes, 'protected header'), 'protected');
  const unprotectedHeader = headerMap(unprotected, 'unprotected');
  for (const label of protectedHeader.keys()) {
    if (unprotectedHeader.has(label))
      throw malformed(`COSE header ${label} is both protected and unprotected`);
  }
  if (protectedHeader.has(HEADER.crit)) {
    throw malformed('critical header parameters (crit) are not supported');
  }
  const alg = protectedHeader.get(HEADER.alg);
  if (typeof alg !== 'number' || !Object.hasOwn(algorithms, String(alg))) {
    throw new CredentialError('unsupported-alg', `COSE alg ${JSON.stringify(alg)} is not accepted`);
  }
  if (signature.length === 0)
    throw new CredentialError('invalid-signature', 'the COSE_Sign1 has no signature');
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature, alg };
}

/** A text header value (`typ`, content type); a numeric CoAP content format is not one we accept. */
export function textHeader(header: HeaderMap, label: number): string | undefined {
  const value = header.get(label);
  return typeof value === 'string' ? value : undefined;
}

/** The `kid` of the protected (else unprotected) header as text: a bstr per RFC 9052, UTF-8 here. */
export function keyId(decoded: DecodedCoseSign1): string | undefined {
  const kid = decoded.protectedHeader.get(HEADER.kid) ?? decoded.unprotectedHeader.get(HEADER.kid);
  if (kid === undefined) return undefined;
  if (!(kid instanceof Uint8Array)) throw malformed('the COSE kid must be a bstr');
  try {
    return decoder.decode(kid);
  } catch (cause) {
    throw malformed('the COSE kid is not UTF-8', cause);
  }
}

/** Checks the signature with the resolved public JWK, whose key type must be the one `alg` names. */
export async function verifyCoseSign1Signature(
  decoded: DecodedCoseSign1,
  jwk: JWK,
  options: SignatureCheckOptions = {},
): Promise<void> {
  const algorithm = algorithms[String(decoded.alg) as CoseAlgorithmId];
  const message = sigStructure(decoded.protectedBytes, decoded.payload);
  await checkSignature(jwk, algorithm, message, decoded.signature, 'COSE_Sign1', options);
}

import { SDJwtVcInstance, type SdJwtVcPayload } from '@sd-jwt/sd-jwt-vc';
import type { JWK } from 'jose';
import { CredentialError } from '../errors.js';
import { decodeCompactJws, type JsonObject, verifyCompactJwsSignature } from '../jose/compact.js';
import type { ResolveKey } from '../jose/key-resolution.js';
import { resolveKeyOrFail } from '../jose/key-resolution.js';
import type { SignatureCheckOptions } from '../jose/signature-check.js';
import type { JwsSigner } from '../jose/signer.js';
import { type ClaimPath, disclosureFrame, presentationFrame } from './claim-paths.js';
import { saltGenerator, sha256Hasher } from './digest.js';
import { checkDisclosures } from './disclosures.js';
import {
  checkKeyBindingClaims,
  type HolderKeyBinding,
  holderKey,
  type KeyBindingRequirement,
  keyBindingOptions,
  librarySigner,
} from './key-binding.js';

export const SD_JWT_VC_MEDIA_TYPE = 'application/dc+sd-jwt';
/** `typ` of SD-JWT VCs; `vc+sd-jwt` is what drafts before -06 used and is still accepted on verification. */
const SD_JWT_VC_TYPES = ['dc+sd-jwt', 'vc+sd-jwt'];

export interface IssueSdJwtVcInput {
  /** The claims: must include `vct`; `iss` names the issuer (the key resolver gets it). */
  claims: JsonObject & { vct: string };
  signer: JwsSigner;
  /** Claims the holder may disclose or withhold, as paths into `claims`. */
  disclosable?: readonly ClaimPath[];
  /** The holder's public key: bound as `cnf.jwk`, so presentations need a KB-JWT signed with it. */
  holderKey?: JWK;
  /** `iat` in seconds; defaults to now. */
  issuedAt?: number;
  /** `exp` in seconds. */
  expiresAt?: number;
  /** `nbf` in seconds. */
  notBefore?: number;
}

/** Issues an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, `typ: dc+sd-jwt`): `<jwt>~<disclosure>~…~`. */
export async function issueSdJwtVc(input: IssueSdJwtVcInput): Promise<string> {
  const { claims } = input;
  if (typeof claims.vct !== 'string' || claims.vct.length === 0) {
    throw new CredentialError('invalid-argument', 'an SD-JWT VC needs a vct (credential type) string');
  }
  if (claims.iss !== undefined && (typeof claims.iss !== 'string' || !URL.canParse(claims.iss))) {
    throw new CredentialError('invalid-argument', 'iss must be a URI');
  }
  if (input.holderKey?.d !== undefined) {
    throw new CredentialError('invalid-argument', 'the holder key must be a public JWK');
  }
  const payload = {
    ...claims,
    iat: input.issuedAt ?? Math.floor(Date.now() / 1000),
    ...(input.expiresAt === undefined ? {} : { exp: input.expiresAt }),
    ...(input.notBefore === undefined ? {} : { nbf: input.notBefore }),
    ...(input.holderKey === undefined ? {} : { cnf: { jwk: input.holderKey } }),
  } as SdJwtVcPayload;
  const frame = input.disclosable === undefined ? undefined : disclosureFrame(payload, input.disclosable);
  const sdjwt = new SDJwtVcInstance({
    hasher: sha256Hasher,
    saltGenerator,
    signer: librarySigner(input.signer),
    signAlg: input.signer.alg,
  });
  return sdjwt.issue(payload, frame, { header: { kid: input.signer.kid } });
}

export interface PresentSdJwtVcInput {
  sdJwt: string;
  /** The disclosable claims to reveal, as paths; every other disclosure is left out. */
  disclose: readonly ClaimPath[];
  /** Appends a KB-JWT signed with the holder key (`cnf`), bound to the verifier's nonce and audience. */
  keyBinding?: HolderKeyBinding;
}

/** The holder's presentation: the issuer JWT, the chosen disclosures, and optionally a KB-JWT. */
export async function presentSdJwtVc(input: PresentSdJwtVcInput): Promise<string> {
  const kb = keyBindingOptions(input.keyBinding);
  const sdjwt = new SDJwtVcInstance({ hasher: sha256Hasher, ...kb.instance });
  try {
    return await sdjwt.present(input.sdJwt, presentationFrame(input.disclose), kb.present);
  } catch (cause) {
    throw libraryError(cause);
  }
}

export interface VerifySdJwtVcOptions extends SignatureCheckOptions {
  /** Resolves the issuer's key from the header `kid` and the `iss` claim. */
  resolveKey: ResolveKey;
  now?: Date | number;
  clockSkewSeconds?: number;
  /**
   * Requires a KB-JWT signed by the `cnf` key, for this nonce and audience, made at most
   * `maxAgeSeconds` (default 300) ago.
   */
  keyBinding?: KeyBindingRequirement;
  /**
   * Fetches a Token Status List JWT (`status.status_list.uri`). Without it, a credential that carries
   * a status reference fails with `status-unavailable`: this module never goes to the network itself.
   */
  statusListFetcher?: (uri: string) => Promise<string>;
}

export interface VerifiedSdJwtVc {
  /** The issuer's claims plus the disclosed ones; undisclosed claims are absent. */
  claims: JsonObject;
  header: JsonObject;
  keyBinding?: { header: JsonObject; payload: JsonObject };
}

// The library reports everything as SDJWTException with a message; map the ones we can name.
const libraryMessages: [RegExp, string][] = [
  [/expired/i, 'expired'],
  [/not yet valid/i, 'not-yet-valid'],
  [/Invalid Nonce/i, 'nonce-mismatch'],
  [/Key Binding JWT not exist/i, 'key-binding-required'],
  [/sd_hash|Key Binding/i, 'key-binding-invalid'],
  [/Invalid JWT Signature/i, 'invalid-signature'],
  [/status/i, 'status-invalid'],
];

function libraryError(cause: unknown): CredentialError {
  if (cause instanceof CredentialError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = libraryMessages.find(([pattern]) => pattern.test(message))?.[1] ?? 'malformed';
  return new CredentialError(code, `SD-JWT VC rejected: ${message}`, { cause });
}

/**
 * Verifies an SD-JWT VC presentation: typed header and accepted alg, the issuer signature (jose, key
 * from `resolveKey`), every disclosure's digest, `vct`, `iat`/`nbf`/`exp`, the status reference when
 * a fetcher is given, and the KB-JWT when `keyBinding` is required.
 */
export async function verifySdJwtVc(
  presentation: unknown,
  options: VerifySdJwtVcOptions,
): Promise<VerifiedSdJwtVc> {
  if (typeof presentation !== 'string') throw new CredentialError('malformed', 'an SD-JWT must be a string');
  // <issuer-jwt>~<disclosure>~…~<kb-jwt or empty>
  const parts = presentation.split('~');
  const issuerJwt = parts[0] ?? '';
  if (parts.length < 2 || issuerJwt.length === 0) {
    throw new CredentialError('malformed', 'an SD-JWT is <jwt>~<disclosures>~[<kb-jwt>]');
  }
  const { header, payload } = decodeCompactJws(issuerJwt);
  if (typeof header.typ !== 'string' || !SD_JWT_VC_TYPES.includes(header.typ.toLowerCase())) {
    throw new CredentialError(
      'invalid-media-type',
      `the SD-JWT typ must be dc+sd-jwt, got ${JSON.stringify(header.typ)}`,
    );
  }
  if (typeof payload.vct !== 'string' || payload.vct.length === 0) {
    throw new CredentialError('malformed', 'the SD-JWT VC has no vct');
  }
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    if (
      payload[claim] !== undefined &&
      (typeof payload[claim] !== 'number' || !Number.isFinite(payload[claim]))
    ) {
      throw new CredentialError('malformed', `${claim} must be a NumericDate`);
    }
  }
  if (payload._sd_alg !== undefined && payload._sd_alg !== 'sha-256') {
    throw new CredentialError(
      'unsupported-alg',
      `_sd_alg ${JSON.stringify(payload._sd_alg)} is not supported`,
    );
  }
  await checkDisclosures(payload, parts.slice(1, -1));
  const issuerKey = await resolveKeyOrFail(options.resolveKey, header.kid, payload.iss);
  const now = options.now === undefined ? Date.now() : Number(options.now);
  const skewSeconds = options.clockSkewSeconds ?? 0;

  const sdjwt = new SDJwtVcInstance({
    hasher: sha256Hasher,
    verifier: async (data, signature) => {
      await verifyCompactJwsSignature(`${data}.${signature}`, issuerKey, header.alg, options);
      return true;
    },
    kbVerifier: async (data, signature, sdJwtPayload) => {
      const kbJws = `${data}.${signature}`;
      const { header: kbHeader } = decodeCompactJws(kbJws);
      await verifyCompactJwsSignature(kbJws, holderKey(sdJwtPayload as JsonObject), kbHeader.alg, options);
      return true;
    },
    statusListFetcher:
      options.statusListFetcher ??
      (async () => {
        throw new CredentialError(
          'status-unavailable',
          'the credential has a status reference and no status fetcher is configured',
        );
      }),
  });
  let result: Awaited<ReturnType<SDJwtVcInstance['verify']>>;
  try {
    result = await sdjwt.verify(presentation, {
      currentDate: Math.floor(now / 1000),
      skewSeconds,
      ...(options.keyBinding === undefined ? {} : { keyBindingNonce: options.keyBinding.nonce }),
    });
  } catch (cause) {
    throw libraryError(cause);
  }
  if (options.keyBinding !== undefined) {
    if (result.kb === undefined) throw new CredentialError('key-binding-required', 'a KB-JWT is required');
    checkKeyBindingClaims(result.kb as { payload: JsonObject }, options.keyBinding, now, skewSeconds);
  }
  return {
    claims: result.payload as JsonObject,
    header: result.header ?? header,
    ...(result.kb === undefined
      ? {}
      : { keyBinding: { header: result.kb.header as JsonObject, payload: result.kb.payload as JsonObject } }),
  };
}

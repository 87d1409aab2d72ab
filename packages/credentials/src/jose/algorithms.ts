import type { SignatureAlgorithm } from '@personachain/crypto';

/**
 * JWS `alg` values we sign with. Ed25519 signs as `EdDSA` (RFC 8037): the VC-JOSE-COSE test suite and
 * most verifiers expect it; the fully-specified `Ed25519` (RFC 9864) is accepted on verification.
 */
export type JoseSigningAlgorithm = 'EdDSA' | 'ES256' | 'ES384' | 'ES512';

/** Every `alg` a verifier here accepts; anything else (`none`, HMAC, RSA, …) is `unsupported-alg`. */
export const joseVerificationAlgorithms = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512'] as const;
export type JoseVerificationAlgorithm = (typeof joseVerificationAlgorithms)[number];

const signingAlgorithms = {
  Ed25519: 'EdDSA',
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
} as const satisfies Partial<Record<SignatureAlgorithm, JoseSigningAlgorithm>>;

/**
 * What a signature algorithm needs, as JOSE and COSE name it: the key type that verifies it and its raw
 * length. ECDSA in JOSE is P1363 `r‖s` (RFC 7518 §3.4), never DER; ES512 is P-521 with SHA-512, each of r
 * and s 66 bytes.
 */
export interface SignatureAlgorithmUse {
  name: string;
  keyAlgorithm: SignatureAlgorithm;
  signatureLength: number;
}

export const joseAlgorithms: Record<JoseVerificationAlgorithm, SignatureAlgorithmUse> = {
  EdDSA: { name: 'EdDSA', keyAlgorithm: 'Ed25519', signatureLength: 64 },
  Ed25519: { name: 'Ed25519', keyAlgorithm: 'Ed25519', signatureLength: 64 },
  ES256: { name: 'ES256', keyAlgorithm: 'P-256', signatureLength: 64 },
  ES384: { name: 'ES384', keyAlgorithm: 'P-384', signatureLength: 96 },
  ES512: { name: 'ES512', keyAlgorithm: 'P-521', signatureLength: 132 },
};

export function joseAlgorithmFor(algorithm: SignatureAlgorithm): JoseSigningAlgorithm | undefined {
  return Object.hasOwn(signingAlgorithms, algorithm)
    ? signingAlgorithms[algorithm as keyof typeof signingAlgorithms]
    : undefined;
}

export function isJoseVerificationAlgorithm(alg: unknown): alg is JoseVerificationAlgorithm {
  return typeof alg === 'string' && (joseVerificationAlgorithms as readonly string[]).includes(alg);
}

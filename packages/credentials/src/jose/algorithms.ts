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
 * Raw signature length per alg: ECDSA in JOSE is P1363 `r‖s` (RFC 7518 §3.4), never DER; ES512 is P-521
 * with SHA-512, each of r and s 66 bytes.
 */
export const joseSignatureLength: Record<JoseVerificationAlgorithm, number> = {
  EdDSA: 64,
  Ed25519: 64,
  ES256: 64,
  ES384: 96,
  ES512: 132,
};

export function joseAlgorithmFor(algorithm: SignatureAlgorithm): JoseSigningAlgorithm | undefined {
  return Object.hasOwn(signingAlgorithms, algorithm)
    ? signingAlgorithms[algorithm as keyof typeof signingAlgorithms]
    : undefined;
}

export function isJoseVerificationAlgorithm(alg: unknown): alg is JoseVerificationAlgorithm {
  return typeof alg === 'string' && (joseVerificationAlgorithms as readonly string[]).includes(alg);
}

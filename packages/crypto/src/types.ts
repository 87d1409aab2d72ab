/** Which implementation runs an operation: OpenSSL through `node:crypto`, or the pure-JS `@noble/*` libraries. */
export type Backend = 'native' | 'noble';

/** A key pair as raw bytes; each algorithm's module documents its exact raw encoding. */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/**
 * Signature algorithms. `Falcon-512` is NON-STANDARD: it is Round-3 Falcon as implemented by
 * `@noble/post-quantum`, not FIPS 206 FN-DSA, and its signatures will not interoperate with FN-DSA.
 */
export type SignatureAlgorithm =
  | 'Ed25519'
  | 'P-256'
  | 'P-384'
  | 'P-521'
  | 'secp256k1'
  | 'BLS12-381-G2'
  | 'ML-DSA-44'
  | 'ML-DSA-65'
  | 'ML-DSA-87'
  | 'SLH-DSA-SHA2-128s'
  | 'Falcon-512'
  /** RSASSA-PKCS1-v1_5 with SHA-256 (JOSE RS256) over a 3072-bit modulus; Node-only (see signatures/rsa.ts). */
  | 'RSA-3072';

export interface SignatureScheme {
  readonly algorithm: SignatureAlgorithm;
  /** The backend that really runs this scheme (a native request falls back to noble where OpenSSL lacks it). */
  readonly backend: Backend;
  generateKeyPair(): Promise<KeyPair>;
  publicKeyFromSecretKey(secretKey: Uint8Array): Promise<Uint8Array>;
  sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * A signing function bound to one secret key (copied, so the caller may wipe its own): native backends
   * import the key once instead of for every signature.
   */
  signerFor(secretKey: Uint8Array): Promise<(message: Uint8Array) => Promise<Uint8Array>>;
  /**
   * Whether `signerFor` keeps the key in a native key object (outside the JavaScript heap) rather than as
   * a copy of its bytes.
   */
  readonly nativeSigningKeys: boolean;
  /**
   * `false` for a well-formed signature that does not match; throws `CryptoError('invalid-key')` for a
   * malformed public key and `CryptoError('invalid-signature')` for a signature of impossible length.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/**
 * Verifies signatures of any scheme: `signatureScheme(algorithm).verify` in place, or elsewhere (worker
 * threads: VerificationThreads) with the same results and errors.
 */
export interface SignatureVerifier {
  verify(
    algorithm: SignatureAlgorithm,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean>;
}

export type KeyAgreementAlgorithm = 'X25519' | 'P-256' | 'P-384';

/** Static Diffie-Hellman: both sides derive the same shared secret from their secret key and the peer's public key. */
export interface KeyAgreement {
  readonly algorithm: KeyAgreementAlgorithm;
  readonly backend: Backend;
  generateKeyPair(): Promise<KeyPair>;
  publicKeyFromSecretKey(secretKey: Uint8Array): Promise<Uint8Array>;
  /** The raw shared secret (X25519: the 32-byte u-coordinate; ECDH: the x-coordinate). Feed it to a KDF. */
  deriveSharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

export type KemAlgorithm = 'ML-KEM-768' | 'ML-KEM-1024';

export interface Encapsulation {
  sharedSecret: Uint8Array;
  ciphertext: Uint8Array;
}

export interface KemScheme {
  readonly algorithm: KemAlgorithm;
  readonly backend: Backend;
  generateKeyPair(): Promise<KeyPair>;
  publicKeyFromSecretKey(secretKey: Uint8Array): Promise<Uint8Array>;
  encapsulate(publicKey: Uint8Array): Promise<Encapsulation>;
  /**
   * ML-KEM decapsulation never reports a wrong ciphertext (implicit rejection returns a pseudo-random
   * secret); it throws `CryptoError('malformed-input')` only for a ciphertext of the wrong length.
   */
  decapsulate(secretKey: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

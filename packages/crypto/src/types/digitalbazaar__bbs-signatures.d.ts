// The parts of `@digitalbazaar/bbs-signatures` (3.x, untyped) this package calls.
declare module '@digitalbazaar/bbs-signatures' {
  export const CIPHERSUITES: {
    readonly BLS12381_SHA256: 'BLS12-381-SHA-256';
    readonly BLS12381_SHAKE256: 'BLS12-381-SHAKE-256';
  };
  /** BBS Sign (draft-irtf-cfrg-bbs-signatures §3.5.1): deterministic, 80 bytes for BLS12-381. */
  export function sign(input: {
    secretKey: Uint8Array;
    publicKey?: Uint8Array;
    header: Uint8Array;
    messages: Uint8Array[];
    ciphersuite: string;
  }): Promise<Uint8Array>;
  export function verifySignature(input: {
    publicKey: Uint8Array;
    signature: Uint8Array;
    header: Uint8Array;
    messages: Uint8Array[];
    ciphersuite: string;
  }): Promise<boolean>;
}

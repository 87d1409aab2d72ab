// The parts of `@digitalbazaar/bls12-381-multikey` (2.x, untyped) this package calls.
declare module '@digitalbazaar/bls12-381-multikey' {
  export const ALGORITHMS: {
    readonly BBS_BLS12381_SHA256: 'BBS-BLS12-381-SHA-256';
    readonly BBS_BLS12381_SHAKE256: 'BBS-BLS12-381-SHAKE-256';
  };
  /** A BBS signer: `multisign` signs a header and several messages; `sign` takes them CBOR-encoded. */
  export interface BbsMultikeySigner {
    id: string | undefined;
    algorithm: string;
    publicKey: Uint8Array;
    multisign(input: { header: Uint8Array; messages: Uint8Array[] }): Promise<Uint8Array>;
    sign(input: { data: Uint8Array }): Promise<Uint8Array>;
  }
  export interface BbsKeyPair {
    publicKeyMultibase: string;
    signer(): BbsMultikeySigner;
  }
  export function fromRaw(input: {
    algorithm?: string;
    secretKey?: Uint8Array;
    publicKey: Uint8Array;
  }): Promise<BbsKeyPair>;
}

// The parts of `@digitalbazaar/bbs-2023-cryptosuite` (2.x, untyped) this package calls.
declare module '@digitalbazaar/bbs-2023-cryptosuite' {
  import type { Cryptosuite } from '@digitalbazaar/data-integrity';
  export function createSignCryptosuite(options?: { mandatoryPointers?: string[] }): Cryptosuite;
  export function createDiscloseCryptosuite(options?: {
    proofId?: string;
    selectivePointers?: string[];
    presentationHeader?: Uint8Array;
  }): Cryptosuite;
  /** After a verification, `results.lastParsedProof` holds the presentation header the derived proof carried. */
  export function createVerifyCryptosuite(): Cryptosuite & {
    results: { lastParsedProof: { presentationHeader: Uint8Array } | null };
  };
}

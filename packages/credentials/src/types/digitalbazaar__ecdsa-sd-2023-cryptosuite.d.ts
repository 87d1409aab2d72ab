// The parts of `@digitalbazaar/ecdsa-sd-2023-cryptosuite` (3.x, untyped) this package calls.
declare module '@digitalbazaar/ecdsa-sd-2023-cryptosuite' {
  import type { Cryptosuite } from '@digitalbazaar/data-integrity';
  export function createSignCryptosuite(options?: { mandatoryPointers?: string[] }): Cryptosuite;
  export function createDiscloseCryptosuite(options?: {
    proofId?: string;
    selectivePointers?: string[];
  }): Cryptosuite;
  export function createVerifyCryptosuite(): Cryptosuite;
}

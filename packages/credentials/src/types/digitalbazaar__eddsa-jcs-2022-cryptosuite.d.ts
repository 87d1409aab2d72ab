// `@digitalbazaar/eddsa-jcs-2022-cryptosuite` (untyped): separate cryptosuite objects for signing and verifying.
declare module '@digitalbazaar/eddsa-jcs-2022-cryptosuite' {
  import type { Cryptosuite } from '@digitalbazaar/data-integrity';
  export function createSignCryptosuite(): Cryptosuite;
  export function createVerifyCryptosuite(): Cryptosuite;
}

// `@digitalbazaar/ecdsa-rdfc-2019-cryptosuite` (untyped).
declare module '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite' {
  import type { Cryptosuite } from '@digitalbazaar/data-integrity';
  export const cryptosuite: Cryptosuite;
}

// `@digitalbazaar/eddsa-rdfc-2022-cryptosuite` (untyped).
declare module '@digitalbazaar/eddsa-rdfc-2022-cryptosuite' {
  import type { Cryptosuite } from '@digitalbazaar/data-integrity';
  export const cryptosuite: Cryptosuite;
}

// `@digitalbazaar/credentials-context` (untyped): VC v1, v2 and undefined-terms v2 contexts by URL.
declare module '@digitalbazaar/credentials-context' {
  export const contexts: ReadonlyMap<string, object>;
}

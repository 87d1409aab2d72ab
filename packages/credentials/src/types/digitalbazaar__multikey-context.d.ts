// `@digitalbazaar/multikey-context` (untyped, CommonJS): the multikey v1 context by URL.
declare module '@digitalbazaar/multikey-context' {
  const multikeyContext: { contexts: ReadonlyMap<string, object> };
  export default multikeyContext;
}

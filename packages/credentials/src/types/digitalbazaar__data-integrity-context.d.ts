// `@digitalbazaar/data-integrity-context` (untyped, CommonJS): data-integrity v1 and v2 contexts by URL.
declare module '@digitalbazaar/data-integrity-context' {
  const dataIntegrityContext: { contexts: ReadonlyMap<string, object> };
  export default dataIntegrityContext;
}

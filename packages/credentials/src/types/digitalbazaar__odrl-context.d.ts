// `@digitalbazaar/odrl-context` (untyped, CommonJS): its context by URL.
declare module '@digitalbazaar/odrl-context' {
  const context: { contexts: ReadonlyMap<string, object> };
  export default context;
}

// `@digitalbazaar/credentials-examples-context` (untyped, CommonJS): its context by URL.
declare module '@digitalbazaar/credentials-examples-context' {
  const context: { contexts: ReadonlyMap<string, object> };
  export default context;
}

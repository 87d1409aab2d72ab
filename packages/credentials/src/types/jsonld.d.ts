// The parts of `jsonld` (9.x, untyped) this package calls.
declare module 'jsonld' {
  export interface RemoteDocument {
    contextUrl: string | null;
    documentUrl: string;
    document: unknown;
  }
  export type DocumentLoader = (url: string) => Promise<RemoteDocument>;
  export interface ProcessingOptions {
    documentLoader?: DocumentLoader;
    safe?: boolean;
    base?: string | null;
  }
  interface JsonLd {
    expand(input: unknown, options?: ProcessingOptions): Promise<unknown[]>;
    getValues(subject: object, property: string): unknown[];
  }
  const jsonld: JsonLd;
  export default jsonld;
}

// The parts of `@digitalbazaar/vc` (7.x, untyped) this package calls.
declare module '@digitalbazaar/vc' {
  import type { DataIntegrityProof } from '@digitalbazaar/data-integrity';
  import type { DocumentLoader } from 'jsonld';

  export function issue(options: {
    credential: Record<string, unknown>;
    suite: DataIntegrityProof;
    documentLoader: DocumentLoader;
  }): Promise<Record<string, unknown>>;
  export function derive(options: {
    verifiableCredential: Record<string, unknown>;
    suite: DataIntegrityProof;
    documentLoader: DocumentLoader;
  }): Promise<Record<string, unknown>>;
  export function signPresentation(options: {
    presentation: Record<string, unknown>;
    suite: DataIntegrityProof;
    documentLoader: DocumentLoader;
    challenge: string;
    domain?: string;
  }): Promise<Record<string, unknown>>;
}

// The parts of `@digitalbazaar/data-integrity` (2.x, untyped) this package calls.
declare module '@digitalbazaar/data-integrity' {
  import type { DocumentLoader } from 'jsonld';

  export interface Signer {
    id: string;
    algorithm: string;
    sign(input: { data: Uint8Array }): Promise<Uint8Array>;
  }
  export interface Cryptosuite {
    name: string;
    requiredAlgorithm: string | string[];
  }
  export interface VerifyProofResult {
    verified: boolean;
    verificationMethod?: Record<string, unknown>;
    error?: Error;
  }
  export class DataIntegrityProof {
    constructor(options: { signer?: Signer; date?: string | Date | null; cryptosuite: Cryptosuite });
    readonly cryptosuite: string;
    verifyProof(options: {
      proof: Record<string, unknown>;
      proofSet: Record<string, unknown>[];
      document: Record<string, unknown>;
      documentLoader: DocumentLoader;
    }): Promise<VerifyProofResult>;
  }
}

import type { CryptoErrorCode } from '../errors.js';
import type { SignatureAlgorithm } from '../types.js';

/**
 * What crosses between VerificationThreads and a verification thread. A batch packs every item's public
 * key, message and signature into one transferred buffer (`lengths` holds three lengths per item): cloning
 * a Uint8Array copies its whole ArrayBuffer, and Buffers decoded from base64 are views of an 8 KiB pool.
 */
export interface VerificationBatch {
  id: number;
  algorithms: SignatureAlgorithm[];
  lengths: Uint32Array<ArrayBuffer>;
  bytes: Uint8Array<ArrayBuffer>;
}

/** Per item: the verify result, or the CryptoError it raised (a malformed key, an impossible signature). */
export type VerificationOutcome = boolean | { code: CryptoErrorCode; message: string };

export interface VerificationAnswer {
  id: number;
  outcomes: VerificationOutcome[];
}

import {
  CredentialError,
  type VerificationResult,
  type VerifyCredentialInput,
} from '@personachain/credentials';
import type { KeyRecord, SignMessagesInput } from '@personachain/crypto';
import type { KeyStoreIssuance } from './keystore-issuance.js';

/** What a credential's proofs must carry besides a valid signature (the VC-API verify `options`). */
export type ProofExpectations = Pick<VerifyCredentialInput, 'challenge' | 'domain' | 'expectedProofPurpose'>;

/** Work for a credential thread: verify a Data Integrity credential at `now` (epoch ms), or issue one. */
export type ThreadJob =
  | { type: 'verify'; id: number; credential: unknown; expected: ProofExpectations; now: number }
  | ({ type: 'issue'; id: number } & KeyStoreIssuance);

/**
 * What a thread asks of the main thread while on a job: a DID URL it cannot resolve itself, or the KeyStore
 * (which only the main thread holds) for the job's own key.
 */
export type ThreadCall =
  | { call: 'resolve'; url: string }
  | { call: 'getKey'; keyId: string }
  | { call: 'sign'; keyId: string; message: Uint8Array }
  | { call: 'signMessages'; keyId: string; input: SignMessagesInput };

/** An error as it crosses between threads; a `CredentialError` keeps its code and details. */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

export type ToThread =
  | ThreadJob
  | {
      type: 'answer';
      requestId: number;
      value?: Record<string, unknown> | KeyRecord | Uint8Array;
      error?: SentError;
    };

export type FromThread =
  | { type: 'done'; id: number; value: VerificationResult | Record<string, unknown> }
  | { type: 'failed'; id: number; error: SentError }
  | ({ type: 'call'; requestId: number; jobId: number } & ThreadCall);

export function sendError(error: unknown): SentError {
  if (error instanceof CredentialError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
    };
  }
  return {
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** The error again on this side: a `CredentialError` with its code (what the API maps to a 400), else an Error. */
export function receivedError(sent: SentError): Error {
  if (sent.code !== undefined) {
    return new CredentialError(
      sent.code,
      sent.message,
      sent.details === undefined ? {} : { details: sent.details },
    );
  }
  return new Error(`${sent.name}: ${sent.message}`);
}

import type {
  CheckRequest,
  CheckType,
  DocumentType,
  PlainDocument,
  ProviderOutcome,
  SubmittedFields,
} from '../types.js';

/** The providers PersonaChain has adapters for; `local` is built in (MRZ, expiry, age, consistency). */
export const PROVIDER_KINDS = ['onfido', 'sumsub', 'veriff', 'persona', 'local'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** What a provider can be routed: checks, document types and issuing countries (null: any). */
export interface ProviderCapabilities {
  checks: readonly CheckType[];
  documentTypes: readonly DocumentType[] | null;
  /** ISO 3166-1 alpha-3. */
  countries: readonly string[] | null;
}

/**
 * One project's configuration of a provider, with its secrets decrypted (in memory only). `baseUrl` is the
 * vendor's API (tests point it at a local fake; outbound SSRF rules apply to it like to any URL).
 */
export interface ProviderSettings {
  /** The provider configuration's id (`vpc_…`). */
  id: string;
  kind: ProviderKind;
  baseUrl: string;
  /**
   * Secrets by name, per kind:
   * - onfido: `apiToken`, `webhookToken`
   * - sumsub: `appToken`, `secretKey`, `webhookSecret`
   * - veriff: `apiKey`, `sharedSecret` (signs requests and webhooks)
   * - persona: `apiKey`, `webhookSecret` (a second, `webhookSecretNext`, during rotation)
   * - local: none
   */
  secrets: Record<string, string>;
  /**
   * Non-secret options, per kind:
   * - onfido: `reportNames` (comma list; default from the checks), `region`
   * - sumsub: `levelName` (required), `webhookDigestAlg`
   * - veriff: none
   * - persona: `inquiryTemplateId` (required), `apiVersion` (default `2023-01-05`)
   * - local: none
   */
  options: Record<string, string>;
}

/** One attempt handed to a provider. Identifiers only in what leaves the platform besides the documents. */
export interface ProviderRequest {
  /** Our session id (`vrf_…`), sent as the provider's external reference (vendorData, externalUserId…). */
  sessionId: string;
  /** Our attempt id (`vat_…`); a session's resubmission is a new attempt. */
  attemptId: string;
  checks: CheckRequest[];
  documents: PlainDocument[];
  fields: SubmittedFields;
}

/**
 * A provider's acknowledgement of an attempt: its own id for it (applicant/check, session, inquiry) and,
 * when it decided synchronously (the local provider), the outcome.
 */
export interface ProviderSubmission {
  ref: string;
  outcome?: ProviderOutcome;
}

/** A verified inbound webhook, parsed. */
export interface ProviderEvent {
  /** Unique per distinct event (see the dedupe keys in the reference); a repeated delivery has the same key. */
  dedupeKey: string;
  /** The provider's id for the attempt, as returned in ProviderSubmission.ref. */
  ref: string;
  occurredAt: Date;
  /** The outcome the event carries; absent when the decision must be fetched (`fetchResult`). */
  outcome?: ProviderOutcome;
}

export type ProviderErrorKind =
  /** Network error, 5xx, 429: retry with back-off, then fall back. */
  | 'transient'
  /** No answer within the per-provider timeout: retry, then fall back. */
  | 'timeout'
  /** The provider does not handle this document, country or check: fall back at once. */
  | 'unsupported'
  /** 4xx for this request (bad input) or bad credentials (401/403): fall back, no retry. */
  | 'rejected';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A webhook whose signature, timestamp or shape does not check out: answered 401, never processed. */
export class WebhookRejected extends Error {
  override readonly name = 'WebhookRejected';
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/**
 * A verification provider, with the vendor's real API shape. Adapters hold no state besides their
 * settings; every call takes an AbortSignal that carries the per-provider timeout.
 */
export interface ProviderAdapter {
  readonly kind: ProviderKind;
  readonly capabilities: ProviderCapabilities;
  /** Creates the provider's resources for the attempt, uploads the documents and submits them. */
  submit(request: ProviderRequest, signal: AbortSignal): Promise<ProviderSubmission>;
  /** The current decision for an attempt (after a webhook that carries none, or when polling). */
  fetchResult(ref: string, signal: AbortSignal): Promise<ProviderOutcome>;
  /**
   * Verifies an inbound webhook on its raw bytes (constant-time) and parses it; throws WebhookRejected.
   * Returns null for a verified event that says nothing about an attempt's status (e.g. Veriff's 7001).
   */
  parseWebhook(rawBody: Uint8Array, headers: HeaderBag, now: Date): ProviderEvent | null;
}

export interface AdapterDeps {
  /** The outbound fetch (SSRF-guarded in the platform; plain in unit tests). */
  fetch: typeof globalThis.fetch;
  now: () => Date;
}

export type AdapterFactory = (settings: ProviderSettings, deps: AdapterDeps) => ProviderAdapter;

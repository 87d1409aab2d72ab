/**
 * The vocabulary every part of verification shares: what a session asks for, what the end user submits
 * (decrypted in memory only, for the length of one provider call) and the one normalized result schema
 * every provider's answer is mapped into.
 */

/** Checks a session may ask for; `connector` runs one of the project's HTTP connectors. */
export const CHECK_TYPES = [
  'document',
  'selfie',
  'liveness',
  'watchlist',
  'age',
  'address',
  'connector',
] as const;
export type CheckType = (typeof CHECK_TYPES)[number];

export interface CheckRequest {
  type: CheckType;
  /** `age`: the minimum age in whole years (e.g. 18). */
  minimumAge?: number;
  /** `connector`: the connector to run, and the input its URL and body templates read. */
  connectorId?: string;
  input?: Record<string, unknown>;
}

/** What an end user uploads; each is sealed in the client and stored as ciphertext. */
export const DOCUMENT_KINDS = [
  'document-front',
  'document-back',
  'selfie',
  'liveness-video',
  'proof-of-address',
  /** The JSON of SubmittedFields below: personal data too, so sealed like a document. */
  'fields',
] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export const DOCUMENT_TYPES = ['PASSPORT', 'ID_CARD', 'DRIVERS_LICENSE', 'RESIDENCE_PERMIT'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** What the end user typed or their device read (the MRZ), sealed as the `fields` document. */
export interface SubmittedFields {
  firstName?: string;
  lastName?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  documentNumber?: string;
  documentType?: DocumentType;
  /** ISO 3166-1 alpha-3 as in the MRZ (`GBR`, `UTO`); Germany's MRZ code `D<<` is given as `DEU`. */
  issuingCountry?: string;
  nationality?: string;
  /** MRZ lines as read from the document (TD1: 3 × 30, TD2: 2 × 36, TD3: 2 × 44). */
  mrz?: string[];
  address?: { line1?: string; city?: string; postalCode?: string; country?: string };
  email?: string;
  phone?: string;
}

/** One document, decrypted in memory for one provider call; never logged, never persisted. */
export interface PlainDocument {
  kind: Exclude<DocumentKind, 'fields'>;
  contentType: string;
  bytes: Uint8Array;
}

/** The platform-side statuses a provider's answer maps to (see the state table in docs/kyc.md). */
export type NormalizedStatus =
  | 'awaiting_input'
  | 'processing'
  | 'approved'
  | 'declined'
  | 'needs_review'
  | 'resubmission_requested'
  | 'expired'
  | 'error';

/** A final status is a decision; a later non-final event never overwrites it. */
export const FINAL_STATUSES: ReadonlySet<NormalizedStatus> = new Set([
  'approved',
  'declined',
  'expired',
  'error',
]);

export type CheckOutcome = 'passed' | 'failed' | 'review' | 'not_performed';

/**
 * Personal data a provider extracted (from the document, MRZ or its records). Used in memory to derive
 * claims (age over N, consistency) and then dropped: only the provider's encrypted raw result keeps it.
 */
export interface ExtractedFields {
  firstName?: string;
  lastName?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  /** YYYY-MM-DD. */
  documentExpiresOn?: string;
  documentNumber?: string;
  documentType?: DocumentType;
  /** ISO 3166-1 alpha-3. */
  issuingCountry?: string;
  nationality?: string;
}

/** A provider's answer for one attempt, mapped into the platform's schema. */
export interface ProviderOutcome {
  status: NormalizedStatus;
  /** Stable lower_snake codes (e.g. `document_expired`, `face_mismatch`, `watchlist_hit`); no personal data. */
  reasons: string[];
  checks: Partial<Record<CheckType, CheckOutcome>>;
  extracted: ExtractedFields;
  /** The provider's own answer, as received; stored only encrypted. */
  raw: unknown;
  /** When the provider says this happened (orders out-of-order events). */
  occurredAt: Date;
}

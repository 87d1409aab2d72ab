import type { CheckRequest, DocumentKind } from './types.js';

const encoder = new TextEncoder();

/**
 * The associated data a document is sealed with: it binds the ciphertext and its sealed key to one
 * session, attempt and kind, so neither can be replayed into another slot. The SDK builds the same bytes.
 */
export function documentAad(sessionId: string, attempt: number, kind: string): Uint8Array {
  return encoder.encode(`personachain kyc document v1\n${sessionId}\n${attempt}\n${kind}`);
}

/** Largest sealed document accepted (a phone photo or a short liveness clip). */
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/** The `fields` document is a small JSON object. */
export const MAX_FIELDS_BYTES = 16 * 1024;

/** Content types accepted per kind. */
export const CONTENT_TYPES: Record<DocumentKind, readonly string[]> = {
  'document-front': ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
  'document-back': ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
  selfie: ['image/jpeg', 'image/png', 'image/webp'],
  'liveness-video': ['video/mp4', 'video/webm'],
  'proof-of-address': ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'],
  fields: ['application/json'],
};

/** What a session's checks need uploaded before it can be submitted. */
export function requiredDocuments(checks: readonly CheckRequest[]): DocumentKind[] {
  const needed = new Set<DocumentKind>();
  for (const check of checks) {
    if (check.type === 'document' || check.type === 'age') needed.add('document-front');
    if (check.type === 'selfie') needed.add('selfie');
    if (check.type === 'liveness') needed.add('liveness-video');
    if (check.type === 'address') needed.add('proof-of-address');
    if (check.type === 'watchlist') needed.add('fields');
  }
  return [...needed];
}

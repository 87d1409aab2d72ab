import { fromBase64Url, sealDetached, toBase64Url } from '@personachain/crypto';
import { PersonaApiError, type Problem } from '../problem.js';

/** What an end user uploads (the server's DOCUMENT_KINDS). */
export type DocumentKind =
  | 'document-front'
  | 'document-back'
  | 'selfie'
  | 'liveness-video'
  | 'proof-of-address'
  | 'fields';

/** What the person typed or their device read from the document; sealed like a document. */
export interface SubmittedFields {
  firstName?: string;
  lastName?: string;
  /** YYYY-MM-DD. */
  dateOfBirth?: string;
  documentNumber?: string;
  documentType?: 'PASSPORT' | 'ID_CARD' | 'DRIVERS_LICENSE' | 'RESIDENCE_PERMIT';
  /** ISO 3166-1 alpha-3. */
  issuingCountry?: string;
  nationality?: string;
  /** The MRZ lines as read from the document. */
  mrz?: string[];
  address?: { line1?: string; city?: string; postalCode?: string; country?: string };
  email?: string;
  phone?: string;
}

export interface CaptureSession {
  id: string;
  status: string;
  attempt: number;
  checks: { type: string; minimumAge?: number }[];
  requiredDocuments: DocumentKind[];
  uploadedDocuments: string[];
  expiresAt: string;
  encryptionKey: { suite: 'X-Wing'; publicKey: string; keyId: string };
}

export interface VerificationCaptureOptions {
  /** The platform's base URL, e.g. https://id.example.com. */
  baseUrl: string;
  /** The session's client token (`vct_…`), handed over by the project's backend. */
  clientToken: string;
  fetch?: typeof globalThis.fetch;
}

const encoder = new TextEncoder();

/**
 * The associated data a document is sealed with; the server opens it with the same bytes
 * (packages/server/src/modules/kyc/documents.ts), which bind it to one session, attempt and kind.
 */
export function documentAad(sessionId: string, attempt: number, kind: DocumentKind): Uint8Array {
  return encoder.encode(`personachain kyc document v1\n${sessionId}\n${attempt}\n${kind}`);
}

/**
 * The end user's side of a verification session, in a browser or an app: it seals every document in the
 * client to the project's X-Wing key (a fresh AES-256-GCM data key per document, sealed with HPKE), so
 * the platform stores only ciphertext and opens a document in memory only to forward it to a provider.
 */
export class VerificationCapture {
  private readonly baseUrl: string;
  private readonly fetch: typeof globalThis.fetch;
  private current: CaptureSession | null = null;

  constructor(private readonly options: VerificationCaptureOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The session: its checks, what is still to upload, and the key documents are sealed to. */
  async session(): Promise<CaptureSession> {
    this.current = await this.call<CaptureSession>('GET', '/v1/verification-client/session');
    return this.current;
  }

  /** Seals and uploads one document; a second upload of the same kind replaces the first. */
  async upload(kind: Exclude<DocumentKind, 'fields'>, bytes: Uint8Array, contentType: string) {
    return this.sealAndUpload(kind, bytes, contentType);
  }

  /** Seals and uploads what the person entered (and the MRZ their device read). */
  async uploadFields(fields: SubmittedFields) {
    return this.sealAndUpload('fields', encoder.encode(JSON.stringify(fields)), 'application/json');
  }

  /** Submits what was uploaded; the platform then verifies it in the background. */
  submit(): Promise<{ id: string; status: string }> {
    return this.call('POST', '/v1/verification-client/submit');
  }

  private async sealAndUpload(kind: DocumentKind, bytes: Uint8Array, contentType: string) {
    const session = this.current ?? (await this.session());
    const recipient = { suite: 'X-Wing' as const, publicKey: fromBase64Url(session.encryptionKey.publicKey) };
    const sealed = await sealDetached(recipient, bytes, {
      aad: documentAad(session.id, session.attempt, kind),
    });
    return this.call<{ id: string; kind: DocumentKind; size: number }>(
      'PUT',
      `/v1/verification-client/documents/${kind}`,
      { contentType, sealedKey: toBase64Url(sealed.sealedKey), ciphertext: toBase64Url(sealed.ciphertext) },
    );
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.clientToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!response.ok) {
      throw new PersonaApiError(
        parsed && typeof parsed === 'object' && 'status' in parsed
          ? (parsed as Problem)
          : ({
              type: 'about:blank',
              title: response.statusText,
              status: response.status,
              detail: text,
            } as Problem),
      );
    }
    return parsed as T;
  }
}

import { randomBytes } from '@personachain/crypto';
import { b64u, type HybridSignature, type MemberKeys, sessionProofInput } from '@personachain/vaults';

/** How the member authenticated to the application, as RFC 8176 `amr` values and a time. */
export interface SessionAuthentication {
  methods: string[];
  /** ISO-8601. */
  authenticatedAt: string;
}

/**
 * What the application asserts about the member's session (the application is the policy enforcement
 * point; the member proves only that it holds its keys).
 */
export interface SessionContext {
  /** The member's IP address; without it the server takes the request's. */
  ip?: string;
  /** A hash of the member's device fingerprint, as registered with `POST /vault-devices`. */
  deviceFingerprint?: string;
  authentication: SessionAuthentication;
  proofs?: unknown[];
}

export interface SessionRequest {
  subject: string;
  keyId: string;
  issuedAt: string;
  nonce: string;
  signature: HybridSignature;
  context: SessionContext;
}

export interface SessionAnswer {
  token: string;
  id: string;
  subject: string;
  role: string;
  expiresAt: string;
}

export interface SessionTransport {
  open(body: SessionRequest): Promise<SessionAnswer>;
  /** The stepped-up session; the token stays the same (an answer may leave it out). */
  stepUp(token: string, authentication: SessionAuthentication): Promise<Omit<SessionAnswer, 'token'>>;
  end(token: string): Promise<void>;
}

/** A session is renewed this long before it expires, so a request never leaves with a dying token. */
const RENEW_MARGIN_MS = 30_000;
const NONCE_BYTES = 32;

/**
 * A member's session with one vault: opened on first use with a fresh proof of key possession, kept in
 * memory only, renewed before it expires or when the server no longer knows it.
 */
export class MemberSession {
  private current: { token: string; expiresAt: number; answer: SessionAnswer } | null = null;
  private opening: Promise<string> | null = null;

  constructor(
    private readonly member: { projectId: string; vaultId: string; subject: string; keys: MemberKeys },
    private context: SessionContext,
    private readonly transport: SessionTransport,
    private readonly now: () => number = Date.now,
  ) {}

  /** The session token, opening a new session when there is none or it is about to expire. */
  token(): Promise<string> {
    if (this.current && this.current.expiresAt - RENEW_MARGIN_MS > this.now()) {
      return Promise.resolve(this.current.token);
    }
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** Forgets `token` (the server answered session-required for it), so the next call opens a new one. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = null;
  }

  /** Re-authentication the application saw (e.g. MFA): applied to the live session and to later ones. */
  async stepUp(authentication: SessionAuthentication): Promise<SessionAnswer> {
    this.context = { ...this.context, authentication };
    const token = await this.token();
    const answer = { ...(await this.transport.stepUp(token, authentication)), token };
    this.remember(answer);
    return answer;
  }

  /** Ends the session on the server; the next call opens a new one. */
  async end(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (current) await this.transport.end(current.token);
  }

  private async open(): Promise<string> {
    const { projectId, vaultId, subject, keys } = this.member;
    const issuedAt = new Date(this.now()).toISOString();
    const nonce = b64u.encode(randomBytes(NONCE_BYTES));
    const signature = await keys.sign(
      'session',
      sessionProofInput({ projectId, vaultId, subject, keyId: keys.keyId, issuedAt, nonce }),
    );
    const answer = await this.transport.open({
      subject,
      keyId: keys.keyId,
      issuedAt,
      nonce,
      signature,
      context: this.context,
    });
    return this.remember(answer);
  }

  private remember(answer: SessionAnswer): string {
    this.current = { token: answer.token, expiresAt: Date.parse(answer.expiresAt), answer };
    return answer.token;
  }
}

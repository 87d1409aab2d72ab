import { createHash } from 'node:crypto';
import { randomBytes, toBase64Url } from '@personachain/crypto';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { IdentitySessionsTable } from '../../store/schema.js';
import type { IdentityPolicies } from './policies.js';
import type { IdentityRepo } from './repo.js';
import type { SessionView } from './schemas.js';

const TOKEN_PREFIX = 'pcs_';
/** A session's idle deadline is pushed forward at most this often, to spare a write per request. */
const TOUCH_INTERVAL_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A session a request presented, once checked live and belonging to the project. */
export interface ActiveSession {
  id: string;
  projectId: string;
  userId: string;
  amr: string[];
  restricted: boolean;
  /** When the user last proved their password (ISO 8601): OIDC's auth_time and max_age read it. */
  authTime: string;
}

export function toSessionView(row: IdentitySessionsTable, currentId?: string): SessionView {
  return {
    id: row.id,
    userId: row.user_id,
    amr: JSON.parse(row.amr) as string[],
    authTime: row.auth_time,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    ...(currentId === undefined ? {} : { current: row.id === currentId }),
  };
}

/**
 * Server-side sessions: the client holds a random 256-bit token, the table only its SHA-256. A session
 * ends at its absolute deadline, or earlier when idle longer than the project's idle timeout.
 */
export class Sessions {
  constructor(
    private readonly repo: IdentityRepo,
    private readonly policies: IdentityPolicies,
    private readonly now: () => Date,
  ) {}

  /** A new session's token (shown once) and row, to be stored by the caller (see `sessionWriter`). */
  async open(
    projectId: string,
    userId: string,
    amr: string[],
    restricted: boolean,
  ): Promise<{ token: string; row: IdentitySessionsTable }> {
    const policy = await this.policies.get(projectId);
    const now = this.now();
    const token = TOKEN_PREFIX + toBase64Url(randomBytes(32));
    const row: IdentitySessionsTable = {
      id: newId('ses'),
      project_id: projectId,
      user_id: userId,
      token_hash: hashToken(token),
      amr: JSON.stringify(amr),
      restricted: restricted ? 1 : 0,
      auth_time: now.toISOString(),
      last_seen_at: now.toISOString(),
      idle_expires_at: this.deadline(
        now,
        policy.sessions.idleTimeoutSeconds,
        policy.sessions.absoluteTimeoutSeconds,
      ),
      expires_at: new Date(now.getTime() + policy.sessions.absoluteTimeoutSeconds * 1000).toISOString(),
      created_at: now.toISOString(),
    };
    return { token, row };
  }

  /** The live session of the project behind a token, or null. Extends the idle deadline. */
  async resolve(projectId: string, token: string): Promise<ActiveSession | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
    const row = await this.repo.findSessionByTokenHash(hashToken(token));
    if (!row || row.project_id !== projectId) return null;
    const now = this.now();
    const at = now.toISOString();
    if (row.expires_at <= at || row.idle_expires_at <= at) return null;
    if (now.getTime() - Date.parse(row.last_seen_at) >= TOUCH_INTERVAL_MS) {
      const policy = await this.policies.get(projectId);
      const idle = this.deadline(now, policy.sessions.idleTimeoutSeconds, 0);
      await this.repo.touchSession(row.id, at, idle < row.expires_at ? idle : row.expires_at);
    }
    return {
      id: row.id,
      projectId: row.project_id,
      userId: row.user_id,
      amr: JSON.parse(row.amr) as string[],
      restricted: row.restricted === 1,
      authTime: row.auth_time,
    };
  }

  async list(
    projectId: string,
    userId: string,
    page: { limit: number; cursor?: string | undefined },
    currentId?: string,
  ): Promise<Page<SessionView>> {
    const after = decodeCursor(page.cursor, /^ses_[0-9a-f]{32}$/);
    const rows = await this.repo.listSessions(projectId, userId, {
      after,
      limit: page.limit + 1,
      liveAt: this.now().toISOString(),
    });
    return toPage(
      rows.map((row) => toSessionView(row, currentId)),
      page.limit,
    );
  }

  /** The idle deadline from `now`, never past the absolute one (0: no absolute bound here). */
  private deadline(now: Date, idleSeconds: number, absoluteSeconds: number): string {
    const idle = now.getTime() + idleSeconds * 1000;
    const bound = absoluteSeconds > 0 ? Math.min(idle, now.getTime() + absoluteSeconds * 1000) : idle;
    return new Date(bound).toISOString();
  }
}

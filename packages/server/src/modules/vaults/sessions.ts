import { createHash, randomBytes } from 'node:crypto';
import { toBase64Url } from '@personachain/crypto';
import {
  type HybridSignature,
  type MemberPublicKeys,
  sessionProofInput,
  verifyHybrid,
} from '@personachain/vaults';
import { invalidField, Problem } from '../../http/problem.js';
import { newId } from '../../ids.js';
import type { AuditService } from '../audit/service.js';
import type { Project } from '../tenancy/service.js';
import type { MemberContext, MemberContexts, SessionContextInput } from './member-context.js';
import type { SessionRow, VaultsRepo } from './repo.js';
import type { VaultState } from './state.js';

/** How long a member session lives. */
export const SESSION_TTL_MS = 15 * 60_000;
/** How far a session proof's issuedAt may be from the server's clock. */
const PROOF_WINDOW_MS = 5 * 60_000;
const TOKEN_PREFIX = 'vms_';
const TOKEN_PATTERN = /^vms_[A-Za-z0-9_-]{43}$/;
const NONCE_BYTES = { min: 16, max: 64 };
/** Sessions kept in memory (embedded database only); beyond, the oldest is read again when used. */
const CACHE_CAPACITY = 50_000;

/** A member session: who proved possession of which member key, and the context the application asserted. */
export interface MemberSession extends MemberContext {
  id: string;
  projectId: string;
  vaultId: string;
  subject: string;
  keyId: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** The context's fingerprint hash is a device registered for the subject. */
  deviceRegistered: boolean;
}

export interface SessionProof {
  subject: string;
  keyId: string;
  issuedAt: string;
  nonce: string;
  signature: HybridSignature;
  context: SessionContextInput;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function fromRow(row: SessionRow, deviceRegistered: boolean): MemberSession {
  return {
    id: row.id,
    projectId: row.project_id,
    vaultId: row.vault_id,
    subject: row.subject,
    keyId: row.key_id,
    ipHash: row.ip_hash,
    country: row.country,
    fingerprintHash: row.fingerprint_hash,
    methods: JSON.parse(row.auth_methods) as string[],
    authenticatedAt: Number(row.authenticated_at),
    proofs: row.proofs,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    deviceRegistered,
  };
}

function sessionRequired(detail: string): Problem {
  return new Problem('session-required', detail);
}

/**
 * Member sessions: a member proves it holds its vault keys (a hybrid signature over a fresh, never reused
 * nonce) and gets a 15-minute token, stored as its SHA-256. With the embedded database sessions are kept
 * in memory by token hash (this process makes every change to them); otherwise each request reads its row.
 */
export class MemberSessions {
  private readonly cache = new Map<string, MemberSession>();

  constructor(
    private readonly repo: VaultsRepo,
    private readonly audit: AuditService,
    private readonly contexts: MemberContexts,
    private readonly publicKeys: (vaultId: string, keyId: string) => Promise<MemberPublicKeys>,
    private readonly singleProcess: boolean,
    private readonly now: () => Date,
  ) {}

  async create(
    project: Project,
    actor: string,
    vault: VaultState,
    proof: SessionProof,
    requestIp: string,
  ): Promise<{ token: string; session: MemberSession }> {
    const member = vault.members.get(proof.subject);
    if (!member || member.keyId !== proof.keyId) {
      throw new Problem(
        'unauthorized',
        `${proof.subject} is no member of this vault with key ${proof.keyId}.`,
      );
    }
    const at = this.now().getTime();
    const issuedAt = Date.parse(proof.issuedAt);
    if (Number.isNaN(issuedAt)) throw invalidField('The session proof', '#/issuedAt', 'is not a valid time');
    if (Math.abs(at - issuedAt) > PROOF_WINDOW_MS) {
      throw new Problem(
        'unauthorized',
        'The session proof was issued more than 5 minutes from the server’s time: sign a fresh one.',
      );
    }
    checkNonce(proof.nonce);
    const keys = await this.publicKeys(vault.id, proof.keyId);
    const input = sessionProofInput({
      projectId: project.id,
      vaultId: vault.id,
      subject: proof.subject,
      keyId: proof.keyId,
      issuedAt: proof.issuedAt,
      nonce: proof.nonce,
    });
    if (!(await verifyHybrid(keys, 'session', input, proof.signature))) {
      throw new Problem(
        'unauthorized',
        'The session proof’s signature does not verify with the member’s keys.',
      );
    }
    const context = await this.contexts.derive(project.id, proof.context, requestIp);
    const token = `${TOKEN_PREFIX}${toBase64Url(randomBytes(32))}`;
    const row: SessionRow = {
      id: newId('vss'),
      token_hash: hashToken(token),
      project_id: project.id,
      vault_id: vault.id,
      subject: proof.subject,
      key_id: proof.keyId,
      ip_hash: context.ipHash,
      country: context.country,
      fingerprint_hash: context.fingerprintHash,
      auth_methods: JSON.stringify(context.methods),
      authenticated_at: context.authenticatedAt,
      proofs: context.proofs,
      created_at: at,
      expires_at: at + SESSION_TTL_MS,
      revoked_at: null,
    };
    const deviceRegistered = await this.repo.transaction(async (repo) => {
      // A nonce is kept until a proof carrying it would be refused as stale anyway.
      if (!(await repo.useNonce(vault.id, proof.nonce, issuedAt + PROOF_WINDOW_MS + 60_000))) {
        throw new Problem('unauthorized', 'This session proof’s nonce was used before: sign a fresh one.');
      }
      await repo.insertSession(row);
      await this.audit.record(repo.db, {
        type: 'vault_session.created',
        orgId: project.orgId,
        projectId: project.id,
        actor,
        subject: row.id,
        details: { vaultId: vault.id, member: proof.subject, keyId: proof.keyId, methods: context.methods },
      });
      return (
        context.fingerprintHash !== null &&
        (await repo.deviceRegistered(project.id, proof.subject, context.fingerprintHash))
      );
    });
    this.audit.committed();
    const session = fromRow(row, deviceRegistered);
    this.remember(row.token_hash, session);
    return { token, session };
  }

  /** The live session the `Persona-Vault-Session` header names, for this vault; 401 otherwise. */
  async resolve(token: string | undefined, vault: VaultState): Promise<MemberSession> {
    if (token === undefined) {
      throw sessionRequired('This route acts as a vault member: send its session in Persona-Vault-Session.');
    }
    if (!TOKEN_PATTERN.test(token))
      throw sessionRequired('The Persona-Vault-Session header is not a session token.');
    const hash = hashToken(token);
    let session = this.cache.get(hash);
    if (!session) {
      const row = await this.repo.sessionByToken(hash);
      if (!row) throw sessionRequired('No such member session.');
      session = fromRow(row, Boolean(Number(row.device_registered)));
      this.remember(hash, session);
    }
    if (session.vaultId !== vault.id || session.projectId !== vault.projectId) {
      throw sessionRequired('The member session belongs to another vault.');
    }
    if (session.revokedAt !== null) throw sessionRequired('The member session was ended.');
    if (session.expiresAt <= this.now().getTime()) throw sessionRequired('The member session expired.');
    const member = vault.members.get(session.subject);
    if (!member || member.keyId !== session.keyId) {
      throw sessionRequired('The session’s member is no longer a member of this vault with that key.');
    }
    return session;
  }

  /** Records a fresh authentication the application asserts for the session's member. Audited. */
  async stepUp(
    project: Project,
    actor: string,
    session: MemberSession,
    authentication: SessionContextInput['authentication'],
  ): Promise<MemberSession> {
    const context = this.contexts.authentication(authentication, '#/authentication');
    await this.repo.transaction(async (repo) => {
      await repo.setSessionAuthentication(
        session.id,
        JSON.stringify(context.methods),
        context.authenticatedAt,
      );
      await this.audit.record(repo.db, {
        type: 'vault_session.stepped_up',
        orgId: project.orgId,
        projectId: project.id,
        actor,
        subject: session.id,
        details: { vaultId: session.vaultId, member: session.subject, methods: context.methods },
      });
    });
    this.audit.committed();
    session.methods = context.methods;
    session.authenticatedAt = context.authenticatedAt;
    return session;
  }

  async end(session: MemberSession): Promise<void> {
    const at = this.now().getTime();
    await this.repo.revokeSession(session.id, at);
    session.revokedAt = at;
  }

  /**
   * After the database ended sessions (a member removed, the vault shredded): forgets the cached copies,
   * so the next request reads the ended row.
   */
  forget(vaultId: string, subject: string | null): void {
    for (const [hash, session] of this.cache) {
      if (session.vaultId === vaultId && (subject === null || session.subject === subject))
        this.cache.delete(hash);
    }
  }

  /** A device of the subject was registered or deleted: cached sessions re-read whether theirs counts. */
  devicesChanged(projectId: string, subject: string): void {
    for (const [hash, session] of this.cache) {
      if (session.projectId === projectId && session.subject === subject) this.cache.delete(hash);
    }
  }

  async purgeExpired(): Promise<void> {
    const now = this.now().getTime();
    for (const [hash, session] of this.cache) if (session.expiresAt <= now) this.cache.delete(hash);
    await this.repo.purgeExpired(now);
  }

  private remember(hash: string, session: MemberSession): void {
    if (!this.singleProcess) return;
    if (this.cache.size >= CACHE_CAPACITY) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(hash, session);
  }
}

function checkNonce(nonce: string): void {
  const length = Buffer.from(nonce, 'base64url').length;
  if (!/^[A-Za-z0-9_-]+$/.test(nonce) || length < NONCE_BYTES.min || length > NONCE_BYTES.max) {
    throw invalidField('The session proof', '#/nonce', 'must be 16 to 64 bytes, base64url');
  }
}

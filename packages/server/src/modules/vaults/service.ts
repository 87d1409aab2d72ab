import {
  type MemberPublicKeys,
  manifestHash,
  type SignedManifest,
  VaultIntegrityError,
  verifyManifestTransition,
} from '@personachain/vaults';
import { decodeCursor, type Page, toPage } from '../../http/pagination.js';
import { invalidField, Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import type { LedgerService } from '../ledger/service.js';
import {
  parseTrustTemplate,
  type TrustTemplate,
  templateHash,
  type VaultAction,
} from '../policy/access/index.js';
import type { Principal } from '../policy/model.js';
import type { Project, TenancyService } from '../tenancy/service.js';
import { type AccessGate, type AccessView, currentManifest, type ManifestRef } from './access-gate.js';
import type { AccessLog, AccessLogEntry } from './access-log.js';
import type { CommitBatcher } from './commit-batcher.js';
import { type CommitInput, type CommitPlan, parseManifest, planCommit } from './commit-plan.js';
import type { GuardianLink, GuardianSlot } from './guardians.js';
import type { ItemContents } from './item-contents.js';
import type { KeyDirectory } from './key-directory.js';
import type { VaultsRepo } from './repo.js';
import type { Scrubber } from './scrubber.js';
import type { MemberSession, MemberSessions, SessionProof } from './sessions.js';
import { stateOf, type VaultState, type VaultStates, withManifest } from './state.js';

/** The member-route headers: the session, and a guardian approval when the member has one. */
export interface MemberHeaders {
  'persona-vault-session'?: string | undefined;
  'persona-vault-approval'?: string | undefined;
}

export interface VaultView {
  id: string;
  projectId: string;
  owner: string;
  label: string | null;
  status: 'active' | 'shredded';
  manifest: ManifestRef;
  createdAt: string;
  shreddedAt: string | null;
}

export interface CreateVaultInput {
  id: string;
  label?: string | undefined;
  owner: { subject: string; publicKeys: MemberPublicKeys };
  manifest: unknown;
  template?: unknown;
}

/** A member acting on a vault: who, on what, with which session. */
export interface MemberAct {
  project: Project;
  vault: VaultState;
  session: MemberSession;
}

const iso = (ms: number) => new Date(ms).toISOString();
const VAULT_ID = /^vlt_[0-9a-f]{32}$/;
const ITEM_ID = /^itm_[0-9a-f]{32}$/;

function view(state: VaultState): VaultView {
  return {
    id: state.id,
    projectId: state.projectId,
    owner: state.owner,
    label: state.label,
    status: state.status,
    manifest: currentManifest(state),
    createdAt: iso(state.createdAt),
    shreddedAt: state.shreddedAt === null ? null : iso(state.shreddedAt),
  };
}

function integrityProblem(error: unknown): unknown {
  if (!(error instanceof VaultIntegrityError)) return error;
  return new Problem('invalid-manifest', `The manifest is refused: ${error.message}.`, {
    extensions: { code: error.code },
  });
}

/**
 * Vaults: the server keeps what members encrypted and signed, checks that every commit's signed manifest
 * describes exactly what it stores, and decides every member access with the vault's trust template.
 */
export class VaultService {
  constructor(
    private readonly repo: VaultsRepo,
    private readonly states: VaultStates,
    private readonly keys: KeyDirectory,
    private readonly sessions: MemberSessions,
    private readonly gate: AccessGate,
    private readonly log: AccessLog,
    private readonly contents: ItemContents,
    private readonly commits: CommitBatcher,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
    private readonly ledger: LedgerService,
    private readonly guardians: GuardianSlot,
    private readonly scrubber: Scrubber,
    private readonly now: () => Date,
  ) {}

  /** Plugs guardian recovery in (it is built after this service, through which it acts). */
  useGuardians(link: GuardianLink): void {
    this.guardians.link = link;
  }

  // ---- vaults ----
  async create(principal: Principal, projectId: string, input: CreateVaultInput): Promise<VaultView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:write');
    // Templates decide who gets in: setting one takes the same right as changing it later.
    if (input.template !== undefined)
      await this.tenancy.authorizeProject(principal, projectId, 'vaults:admin');
    const template =
      input.template === undefined
        ? null
        : parseTrustTemplate(input.template, 'json', { pointer: '#/template' });
    const manifest = parseManifest(input.manifest, '#/manifest');
    if (manifest.vaultId !== input.id)
      throw invalidField('The vault', '#/manifest/vaultId', 'must be the vault’s id');
    if (manifest.owner !== input.owner.subject) {
      throw invalidField('The vault', '#/manifest/owner', 'must be owner.subject');
    }
    const ownerKeys = input.owner.publicKeys;
    try {
      await verifyManifestTransition(null, manifest, (keyId) =>
        keyId === manifest.signer.keyId ? ownerKeys : undefined,
      );
    } catch (error) {
      throw integrityProblem(error);
    }
    const at = this.now().getTime();
    const hash = manifestHash(manifest);
    const text = JSON.stringify(manifest);
    const row = {
      id: input.id,
      project_id: project.id,
      owner: manifest.owner,
      label: input.label ?? null,
      status: 'active',
      template: template === null ? null : JSON.stringify(template),
      manifest: text,
      manifest_sequence: 0,
      manifest_hash: hash,
      created_at: at,
      updated_at: at,
      shredded_at: null,
    };
    const ownerKeyId = manifest.signer.keyId;
    await this.repo.transaction(async (repo) => {
      await repo.insertVault(row);
      await repo.insertManifest(row.id, 0, hash, text, at);
      await repo.insertKeys(row.id, [{ keyId: ownerKeyId, publicKeys: JSON.stringify(ownerKeys) }], at);
      await repo.insertMembers(row.id, [{ subject: manifest.owner, keyId: ownerKeyId, role: 'admin' }], at);
      await this.audit.record(repo.db, {
        type: 'vault.created',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: row.id,
        details: {
          owner: manifest.owner,
          keyId: ownerKeyId,
          manifestHash: hash,
          templateHash: templateHashOf(template),
        },
      });
    });
    this.audit.committed();
    return view(this.states.remember(stateOf(row, manifest, template ?? undefined)));
  }

  async list(principal: Principal, projectId: string, page: { limit: number; cursor?: string | undefined }) {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:read');
    const after = decodeCursor(page.cursor, VAULT_ID);
    const rows = await this.repo.listVaults(project.id, { after, limit: page.limit + 1 });
    return toPage(
      rows.map((row) => ({
        id: row.id,
        projectId: row.project_id,
        owner: row.owner,
        label: row.label,
        status: row.status as VaultView['status'],
        manifest: { sequence: Number(row.manifest_sequence), hash: row.manifest_hash },
        createdAt: iso(Number(row.created_at)),
        shreddedAt: row.shredded_at === null ? null : iso(Number(row.shredded_at)),
      })),
      page.limit,
    );
  }

  async get(principal: Principal, projectId: string, vaultId: string): Promise<VaultView> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:read');
    return view(await this.states.get(project.id, vaultId));
  }

  async getTemplate(principal: Principal, projectId: string, vaultId: string): Promise<TrustTemplate> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:read');
    return (await this.states.get(project.id, vaultId)).template;
  }

  async putTemplate(
    principal: Principal,
    projectId: string,
    vaultId: string,
    body: unknown,
    contentType: 'json' | 'yaml',
  ): Promise<TrustTemplate> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:admin');
    const vault = active(await this.states.get(project.id, vaultId));
    const template = parseTrustTemplate(body, contentType);
    const text = JSON.stringify(template);
    const at = this.now().getTime();
    await this.repo.transaction(async (repo) => {
      await repo.setTemplate(vault.id, text, at);
      await this.audit.record(repo.db, {
        type: 'vault.template_updated',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: vault.id,
        details: { templateHash: templateHash(template), previousTemplateHash: templateHash(vault.template) },
      });
    });
    this.audit.committed();
    this.states.apply(vault.id, (current) => ({ ...current, templateText: text, template, updatedAt: at }));
    return template;
  }

  /** Crypto-shredding: destroys every sealed key, ciphertext (rows and blobs) and recovery share. */
  async shred(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
  ): Promise<void> {
    const { project, vault, session } = await this.member(principal, projectId, vaultId, headers);
    if (session.subject !== vault.owner && vault.members.get(session.subject)?.role !== 'admin') {
      throw new Problem('access-denied', 'Only the owner or an admin member may shred the vault.');
    }
    const access = await this.gate.decide(ask(vault, session, 'delete', null, headers));
    if (!access.allowed) throw await this.gate.refuse(access, vault);
    const at = this.now().getTime();
    const blobKeys = await this.repo.transaction(async (repo) => {
      if (!(await repo.markShredded(vault.id, at))) throw shredded(vault.id);
      const destroyed = await repo.destroyContents(vault.id);
      await repo.revokeSessions(vault.id, null, at);
      await this.guardians.link.shred(repo.db, vault.id);
      await this.log.recordIn(repo.db, access.record(currentManifest(vault)));
      await this.audit.record(repo.db, {
        type: 'vault.shredded',
        orgId: project.orgId,
        projectId: project.id,
        actor: principal.keyId,
        subject: vault.id,
        details: { member: session.subject, accessId: access.view.id, manifestHash: vault.manifestHash },
      });
      return destroyed;
    });
    this.audit.committed();
    this.states.apply(vault.id, (current) => ({
      ...current,
      status: 'shredded',
      shreddedAt: at,
      updatedAt: at,
    }));
    this.sessions.forget(vault.id, null);
    await this.contents.destroy(blobKeys);
    await this.scrubber.scrub();
  }

  // ---- sessions ----
  async openSession(
    principal: Principal,
    projectId: string,
    vaultId: string,
    proof: SessionProof,
    requestIp: string,
  ) {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:write');
    const vault = active(await this.states.get(project.id, vaultId));
    const { token, session } = await this.sessions.create(project, principal.keyId, vault, proof, requestIp);
    return { token, ...this.sessionView(vault, session) };
  }

  async stepUp(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    authentication: { methods: string[]; authenticatedAt: string },
  ) {
    const { project, vault, session } = await this.member(principal, projectId, vaultId, headers);
    const stepped = await this.sessions.stepUp(project, principal.keyId, session, authentication);
    return this.sessionView(vault, stepped);
  }

  async endSession(principal: Principal, projectId: string, vaultId: string, headers: MemberHeaders) {
    const { session } = await this.member(principal, projectId, vaultId, headers);
    await this.sessions.end(session);
  }

  private sessionView(vault: VaultState, session: MemberSession) {
    return {
      id: session.id,
      subject: session.subject,
      role: vault.members.get(session.subject)?.role ?? 'read',
      expiresAt: iso(session.expiresAt),
      authentication: { methods: session.methods, authenticatedAt: iso(session.authenticatedAt) },
    };
  }

  // ---- commits ----
  async commit(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    input: CommitInput,
  ): Promise<{ sequence: number; manifestHash: string; access: AccessView }> {
    const { project, vault, session } = await this.member(principal, projectId, vaultId, headers);
    const plan = planCommit(vault, session, input);
    await this.verifyTransition(vault, plan.manifest);
    const hash = manifestHash(plan.manifest);
    // The log names the item when the commit touches exactly one.
    const touched = [...plan.writes.map((write) => write.itemId), ...plan.deletes];
    const itemId = touched.length === 1 ? (touched[0] as string) : null;
    const access = await this.gate.decide(ask(vault, session, plan.action, itemId, headers));
    if (!access.allowed) throw await this.gate.refuse(access, vault);

    const at = this.now().getTime();
    // Deletes and removed members destroy data keys (and deletes ciphertext): nothing of them may remain.
    const destroys = plan.deletes.length + plan.removed.length > 0;
    const stored = await this.contents.store(vault, plan.writes);
    let destroyedBlobs: string[] = [];
    try {
      destroyedBlobs = await this.commits.run(async (repo) => {
        const text = JSON.stringify(plan.manifest);
        const next = { manifest: text, sequence: plan.manifest.sequence, hash, at };
        if (!(await repo.advanceManifest(vault.id, vault.manifestHash, next))) throw conflict();
        await repo.insertManifest(vault.id, plan.manifest.sequence, hash, text, at);
        await this.applyMembers(repo, vault, plan, at);
        const destroyed: string[] = [];
        for (const itemId of plan.deletes) destroyed.push(...(await repo.destroyItem(vault.id, itemId)));
        await this.contents.insert(repo, vault, session.subject, stored, at);
        await repo.insertSealedKeys(vault.id, [
          ...plan.writes.flatMap((write) =>
            write.sealedKeys.map((sealed) => ({ itemId: write.itemId, version: write.version, ...sealed })),
          ),
          ...plan.reseals,
        ]);
        await this.log.recordIn(repo.db, access.record({ sequence: plan.manifest.sequence, hash }));
        if (plan.action === 'admin') {
          await this.audit.record(repo.db, {
            type: 'vault.members_changed',
            orgId: project.orgId,
            projectId: project.id,
            actor: principal.keyId,
            subject: vault.id,
            details: {
              member: session.subject,
              added: plan.added.map((member) => `${member.subject}:${member.role}`),
              removed: plan.removed.map((member) => member.subject),
              changed: plan.changed.map((member) => `${member.subject}:${member.role}`),
              manifestHash: hash,
            },
          });
        }
        return destroyed;
      });
    } catch (error) {
      await this.contents.destroy(stored.flatMap((write) => (write.blobKey ? [write.blobKey] : [])));
      throw error;
    }
    this.log.committed();
    this.states.apply(vault.id, (current) => withManifest(current, plan.manifest, hash, at));
    for (const member of plan.removed) this.sessions.forget(vault.id, member.subject);
    await this.contents.destroy(destroyedBlobs);
    if (destroys) await this.scrubber.scrub();
    return { sequence: plan.manifest.sequence, manifestHash: hash, access: access.view };
  }

  /** Member changes of a commit; a removed member loses every data key sealed to it and its sessions. */
  private async applyMembers(
    repo: VaultsRepo,
    vault: VaultState,
    plan: CommitPlan,
    at: number,
  ): Promise<void> {
    for (const member of plan.removed) {
      await repo.deleteMember(vault.id, member.subject);
      await repo.deleteSealedKeysOf(vault.id, member.keyId);
      await repo.revokeSessions(vault.id, member.subject, at);
    }
    for (const member of plan.changed) await repo.setMemberRole(vault.id, member.subject, member.role);
    await repo.insertKeys(
      vault.id,
      plan.added.map((member) => ({ keyId: member.keyId, publicKeys: JSON.stringify(member.publicKeys) })),
      at,
    );
    await repo.insertMembers(vault.id, plan.added, at);
  }

  private async verifyTransition(vault: VaultState, next: SignedManifest): Promise<void> {
    const signerKeys = await this.keys.get(vault.id, next.signer.keyId);
    try {
      await verifyManifestTransition(
        vault.manifest,
        next,
        (keyId) => (keyId === next.signer.keyId ? signerKeys : undefined),
        vault.manifestHash,
      );
    } catch (error) {
      throw integrityProblem(error);
    }
  }

  // ---- items ----
  async listItems(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    page: { limit: number; cursor?: string | undefined },
  ) {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    const after = decodeCursor(page.cursor, ITEM_ID);
    const [access, rows] = await settledAfter(
      this.gate.check(ask(vault, session, 'list', null, headers)),
      this.repo.listItems(vault.id, { after, limit: page.limit + 1 }),
    );
    const data = rows.slice(0, page.limit).map((row) => ({
      itemId: row.item_id,
      version: row.version,
      contentHash: row.content_hash,
      size: Number(row.size),
      updatedAt: iso(Number(row.updated_at)),
    }));
    const last = data.at(-1);
    const nextCursor =
      rows.length > page.limit && last ? Buffer.from(last.itemId).toString('base64url') : null;
    return { data, nextCursor, manifest: currentManifest(vault), access };
  }

  /** One version of an item (the current one without `version`), with the member's sealed data key. */
  async readItem(
    principal: Principal,
    projectId: string,
    vaultId: string,
    itemId: string,
    version: number | undefined,
    headers: MemberHeaders,
  ) {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    const current = vault.items.get(itemId);
    const wanted = version ?? current?.version;
    const [access, found] = await settledAfter(
      this.gate.check(ask(vault, session, 'read', itemId, headers)),
      current && wanted !== undefined && wanted <= current.version
        ? this.contents.read(vault.id, itemId, wanted, session.keyId)
        : Promise.resolve(undefined),
    );
    if (!found) {
      const what = version === undefined ? 'item' : `version ${version} of item`;
      throw new Problem('not-found', `No ${what} ${itemId} in this vault.`);
    }
    if (found.sealedKey === null) {
      throw new Problem('access-denied', 'The session’s member is not a recipient of this version.', {
        extensions: { access },
      });
    }
    return {
      itemId,
      version: found.version,
      ciphertext: found.ciphertext,
      sealedKey: found.sealedKey,
      contentHash: found.contentHash,
      createdAt: iso(found.createdAt),
      createdBy: found.createdBy,
      manifest: currentManifest(vault),
      access,
    };
  }

  async listVersions(
    principal: Principal,
    projectId: string,
    vaultId: string,
    itemId: string,
    headers: MemberHeaders,
    page: { limit: number; cursor?: string | undefined },
  ) {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    const after = page.cursor === undefined ? undefined : decodeVersionCursor(page.cursor);
    const [access, rows] = await settledAfter(
      this.gate.check(ask(vault, session, 'list', itemId, headers)),
      vault.items.has(itemId)
        ? this.repo.listVersions(vault.id, itemId, { after, limit: page.limit + 1 })
        : Promise.resolve(undefined),
    );
    if (!rows) throw new Problem('not-found', `No item ${itemId} in this vault.`);
    const data = rows.slice(0, page.limit).map((row) => ({
      version: row.version,
      contentHash: row.content_hash,
      size: Number(row.size),
      createdAt: iso(Number(row.created_at)),
      createdBy: row.created_by,
    }));
    const last = data.at(-1);
    const nextCursor =
      rows.length > page.limit && last ? Buffer.from(String(last.version)).toString('base64url') : null;
    return { data, nextCursor, access };
  }

  // ---- manifests and members ----
  async currentManifest(principal: Principal, projectId: string, vaultId: string, headers: MemberHeaders) {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    await this.gate.check(ask(vault, session, 'list', null, headers));
    return vault.manifest;
  }

  async manifests(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    query: { after: number; limit: number },
  ): Promise<{ data: SignedManifest[]; keys: Record<string, MemberPublicKeys> }> {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    const [, rows] = await settledAfter(
      this.gate.check(ask(vault, session, 'list', null, headers)),
      this.repo.manifests(vault.id, query.after, query.limit),
    );
    const data = rows.map((row) => JSON.parse(row.manifest) as SignedManifest);
    const keyIds = data.flatMap((manifest) => [
      manifest.signer.keyId,
      ...manifest.members.map((m) => m.keyId),
    ]);
    const keys = await this.keys.many(vault.id, keyIds);
    return { data, keys: Object.fromEntries(keys) };
  }

  async members(principal: Principal, projectId: string, vaultId: string, headers: MemberHeaders) {
    const { vault, session } = await this.member(principal, projectId, vaultId, headers);
    const [, rows] = await settledAfter(
      this.gate.check(ask(vault, session, 'list', null, headers)),
      this.repo.members(vault.id),
    );
    return {
      data: rows.map((row) => ({
        subject: row.subject,
        role: row.role as 'read' | 'write' | 'admin',
        keyId: row.key_id,
        publicKeys: JSON.parse(row.public_keys) as MemberPublicKeys,
        addedAt: iso(Number(row.added_at)),
      })),
    };
  }

  // ---- access log ----
  async accessLog(
    principal: Principal,
    projectId: string,
    vaultId: string,
    query: { limit: number; cursor?: string | undefined; proof: boolean },
  ): Promise<
    Page<AccessLogEntry & { proof?: { size: number; hashes: string[] } }> & { checkpoint?: string }
  > {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:read');
    const vault = await this.states.get(project.id, vaultId);
    const page = await this.log.list(vault.id, query);
    if (!query.proof) return page;
    const { size, checkpoint } = await this.ledger.state();
    const data = await Promise.all(
      page.data.map(async (entry) => {
        if (entry.ledgerIndex === null || entry.ledgerIndex >= size) return entry;
        const proof = await this.ledger.inclusionProof(entry.ledgerIndex, size);
        return {
          ...entry,
          proof: { size, hashes: proof.hashes.map((h) => Buffer.from(h).toString('base64')) },
        };
      }),
    );
    return { ...page, data, checkpoint };
  }

  // ---- members acting ----
  /**
   * Authorizes a member route: the API key may act for members (vaults:write), the vault is the project's
   * and not shredded, and the session is a live one of a current member of this vault.
   */
  async member(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
  ): Promise<MemberAct> {
    const project = await this.tenancy.authorizeProject(principal, projectId, 'vaults:write');
    const vault = active(await this.states.get(project.id, vaultId));
    const session = await this.sessions.resolve(headers['persona-vault-session'], vault);
    return { project, vault, session };
  }

  /**
   * For other member routes (recovery): authorizes the member and decides `action`, recording the
   * decision; throws the refusal when not allowed.
   */
  async memberAccess(
    principal: Principal,
    projectId: string,
    vaultId: string,
    headers: MemberHeaders,
    action: VaultAction,
  ): Promise<MemberAct & { access: AccessView }> {
    const act = await this.member(principal, projectId, vaultId, headers);
    const access = await this.gate.check(ask(act.vault, act.session, action, null, headers));
    return { ...act, access };
  }
}

function ask(
  vault: VaultState,
  session: MemberSession,
  action: VaultAction,
  itemId: string | null,
  headers: MemberHeaders,
) {
  return { vault, session, action, itemId, approvalId: headers['persona-vault-approval'] };
}

function active(vault: VaultState): VaultState {
  if (vault.status === 'shredded') throw shredded(vault.id);
  return vault;
}

function shredded(vaultId: string): Problem {
  return new Problem('vault-shredded', `Vault ${vaultId} was shredded: its contents are destroyed.`);
}

function conflict(): Problem {
  return new Problem(
    'manifest-conflict',
    'Another commit changed the vault meanwhile. Fetch the current manifest and retry.',
  );
}

function templateHashOf(template: TrustTemplate | null): string | null {
  return template === null ? null : templateHash(template);
}

function decodeVersionCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,9}$/.test(text)) {
    throw new Problem('validation-error', 'The cursor is not one this list returned.', {
      errors: [{ in: 'querystring', pointer: '#/cursor', detail: 'is not a valid cursor' }],
    });
  }
  return Number(text);
}

/**
 * Awaits the access check first (a refusal wins over whatever the read found), then the read, which ran
 * meanwhile. The read's failure is held until then, so it is never an unhandled rejection.
 */
async function settledAfter<A, R>(check: Promise<A>, read: Promise<R>): Promise<[A, R]> {
  const held = read.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const access = await check;
  const result = await held;
  if (!result.ok) throw result.error;
  return [access, result.value];
}

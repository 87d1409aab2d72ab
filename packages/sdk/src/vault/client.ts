import {
  genesisManifest,
  isItemId,
  type MemberKeys,
  type MemberPublicKeys,
  manifestHash,
  newItemId,
  newVaultId,
  type SignedManifest,
  VAULT_LIMITS,
  VaultFormatError,
  VaultIntegrityError,
  type VaultRole,
} from '@personachain/vaults';
import { createPersonaApi, type PersonaApi, type PersonaClientOptions } from '../client.js';
import { PersonaApiError } from '../problem.js';
import { type AccessLogEntry, type VerifiedAccessLogEntry, verifyAccessLog } from './access-log.js';
import { type ManifestHead, type ManifestSource, TrustedChain } from './chain.js';
import { Committer } from './committer.js';
import type { AccessDecision } from './errors.js';
import {
  addMemberJob,
  changeRoleJob,
  deleteJob,
  type JobContext,
  reencryptJob,
  removeMemberJob,
  type WrittenItem,
  writeJob,
} from './jobs.js';
import { MemberChannel } from './member-channel.js';
import { ItemReader } from './reader.js';
import {
  type CommitAnswer,
  type ItemSummary,
  type Vault,
  type VaultRoutes,
  type VersionSummary,
  vaultRoutes,
} from './routes.js';
import type { SessionAnswer, SessionAuthentication, SessionContext } from './session.js';
import { MemoryVaultStateStore, type TrustedVaultState, type VaultStateStore } from './state.js';

/** The member a client acts as: its subject (a `usr_…` id or a DID) and its vault keys. */
export interface VaultMember {
  subject: string;
  keys: MemberKeys;
}

/** The API: an existing client (`createPersonaApi`), or where to reach it with which API key. */
export type VaultConnection = { api: PersonaApi } | PersonaClientOptions;

export interface VaultClientOptions {
  projectId: string;
  member: VaultMember;
  /** What the application asserts about the member's session (authentication, device, IP). */
  context: SessionContext;
  /** Where the trusted state is kept (default: in memory, for this client only). */
  store?: VaultStateStore;
  /** The ledger's signed-note verifier key; default: fetched once from the server and pinned. */
  ledgerKey?: string;
}

export type CreateVaultOptions = VaultConnection &
  VaultClientOptions & {
    label?: string;
    /** The vault's trust template (JSON form); fields left out take the defaults. */
    template?: Record<string, unknown>;
  };

export type OpenVaultOptions = VaultConnection &
  VaultClientOptions & {
    vaultId: string;
    /**
     * The owner's key id, learned out of band (e.g. with the invitation). Without it, the first open
     * trusts the owner key of the vault's genesis manifest and pins it.
     */
    ownerKeyId?: string;
  };

export interface CommitResult {
  sequence: number;
  manifestHash: string;
  /** The server's access decision for the commit. */
  access: AccessDecision;
}

export interface PutResult extends CommitResult {
  items: WrittenItem[];
}

export interface RemoveMemberResult extends CommitResult {
  /** Items written again under fresh data keys, sealed to the remaining members only. */
  reencrypted: number;
}

export interface AccessLog<Entry> {
  entries: Entry[];
  nextCursor: string | null;
  /** With verification: the signed checkpoint the entries were proven against. */
  checkpoint?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A member's client for one vault. Every item is encrypted and decrypted here; the server sees
 * ciphertext, sealed keys and signed manifests only. Every answer is checked against the chain of
 * manifests this client verified, so a server that rolls back, forks, drops, swaps or alters anything is
 * caught (VaultIntegrityError), and refusals carry the server's access decision (VaultAccessError).
 */
export class VaultClient {
  readonly vaultId: string;
  readonly projectId: string;
  private readonly committer: Committer;
  private readonly reader: ItemReader;
  private readonly jobs: JobContext;

  private constructor(
    private readonly routes: VaultRoutes,
    private readonly channel: MemberChannel,
    private readonly chain: TrustedChain,
    private readonly store: VaultStateStore,
    private readonly options: VaultClientOptions,
  ) {
    this.vaultId = chain.head.manifest.vaultId;
    this.projectId = options.projectId;
    const { member } = options;
    this.reader = new ItemReader(this.vaultId, routes, chain, member.keys, (call) => channel.call(call));
    this.jobs = {
      vaultId: this.vaultId,
      keys: member.keys,
      reader: this.reader,
      recipients: () => chain.recipients(),
    };
    this.committer = new Committer(
      chain,
      member,
      (body) => channel.call((auth) => routes.commit(auth, body)),
      (error, floor) => this.catchUp(error, floor),
    );
  }

  /** Creates a vault owned by `member`: a new vault id and genesis manifest, signed here. */
  static async create(options: CreateVaultOptions): Promise<VaultClient> {
    const vaultId = newVaultId();
    const { subject, keys } = options.member;
    const genesis = await genesisManifest({ vaultId, owner: subject, ownerKeys: keys });
    const routes = vaultRoutes(connect(options), options.projectId, vaultId);
    const vault = await routes.createVault({
      id: vaultId,
      owner: { subject, publicKeys: keys.publicKeys },
      manifest: genesis,
      ...(options.label === undefined ? {} : { label: options.label }),
      ...(options.template === undefined ? {} : { template: options.template }),
    });
    if (vault.manifest.sequence !== 0 || vault.manifest.hash !== manifestHash(genesis)) {
      throw new VaultIntegrityError('tampered', 'the server created the vault with another genesis manifest');
    }
    const store = options.store ?? new MemoryVaultStateStore();
    const state: TrustedVaultState = {
      v: 1,
      vaultId,
      ownerKeyId: keys.keyId,
      manifest: genesis,
      keys: { [keys.keyId]: keys.publicKeys },
      versions: {},
    };
    await store.save(state);
    const channel = memberChannel(routes, options, vaultId);
    const chain = new TrustedChain(state, manifestSource(routes, channel), store);
    return new VaultClient(routes, channel, chain, store, options);
  }

  /**
   * Opens an existing vault as one of its members. With trusted state in `store` the client continues
   * from it; without, it verifies the vault's whole manifest chain from genesis first.
   */
  static async open(options: OpenVaultOptions): Promise<VaultClient> {
    const routes = vaultRoutes(connect(options), options.projectId, options.vaultId);
    const store = options.store ?? new MemoryVaultStateStore();
    const channel = memberChannel(routes, options, options.vaultId);
    const source = manifestSource(routes, channel);
    const saved = await store.load(options.vaultId);
    if (saved && options.ownerKeyId !== undefined && saved.ownerKeyId !== options.ownerKeyId) {
      throw new VaultIntegrityError(
        'owner-changed',
        `the trusted state pins owner key ${saved.ownerKeyId}, not ${options.ownerKeyId}`,
      );
    }
    const chain = saved
      ? new TrustedChain(saved, source, store)
      : await TrustedChain.fromGenesis({
          vaultId: options.vaultId,
          source,
          store,
          ...(options.ownerKeyId === undefined ? {} : { ownerKeyId: options.ownerKeyId }),
        });
    return new VaultClient(routes, channel, chain, store, options);
  }

  /** The last manifest this client verified. */
  get manifest(): SignedManifest {
    return this.chain.head.manifest;
  }

  get head(): ManifestHead {
    return { sequence: this.chain.head.manifest.sequence, hash: this.chain.head.hash };
  }

  /** The vault as the server describes it (status, label, current manifest). */
  vault(): Promise<Vault> {
    return this.routes.getVault();
  }

  /** Fetches and verifies the manifests the server has beyond the last verified one. */
  refresh(): Promise<void> {
    return this.chain.sync();
  }

  // ---- items ----

  /** Writes items as one commit: each a new version (or a new item), encrypted for every member. */
  async put(items: { itemId?: string; data: Uint8Array | string }[]): Promise<PutResult> {
    if (items.length === 0 || items.length > VAULT_LIMITS.maxWritesPerCommit) {
      throw new VaultFormatError(`a put writes 1 to ${VAULT_LIMITS.maxWritesPerCommit} items`);
    }
    const writes = items.map(({ itemId = newItemId(), data }) => {
      if (!isItemId(itemId)) throw new VaultFormatError('not an item id', '/itemId');
      const plaintext = typeof data === 'string' ? encoder.encode(data) : data;
      if (plaintext.length > VAULT_LIMITS.maxItemBytes) {
        throw new VaultFormatError(`an item holds at most ${VAULT_LIMITS.maxItemBytes} bytes`);
      }
      return { itemId, plaintext };
    });
    if (new Set(writes.map((write) => write.itemId)).size !== writes.length) {
      throw new VaultFormatError('a put writes each item once');
    }
    const { answer, items: written } = await this.committer.run(writeJob(this.jobs, writes));
    return { ...commitResult(answer), items: written };
  }

  /** Writes one item; without `itemId`, a new item. */
  async putOne(
    data: Uint8Array | string,
    options: { itemId?: string } = {},
  ): Promise<CommitResult & WrittenItem> {
    const { items, ...result } = await this.put([{ ...options, data }]);
    return { ...result, ...(items[0] as WrittenItem) };
  }

  /** An item's plaintext: its current version, or `version`. */
  async get(itemId: string, options: { version?: number } = {}): Promise<Uint8Array> {
    return this.reader.decrypt(await this.reader.fetch(itemId, options.version));
  }

  async getText(itemId: string, options: { version?: number } = {}): Promise<string> {
    return decoder.decode(await this.get(itemId, options));
  }

  async getJson<T = unknown>(itemId: string, options: { version?: number } = {}): Promise<T> {
    return JSON.parse(await this.getText(itemId, options)) as T;
  }

  /** Every live item (id, version, content hash, size), checked against the verified manifest. */
  list(): Promise<ItemSummary[]> {
    return this.reader.list();
  }

  /** An item's versions, oldest first, checked against the verified chain. */
  versions(itemId: string): Promise<VersionSummary[]> {
    return this.reader.versions(itemId);
  }

  /** Deletes items (the server destroys every version's ciphertext and sealed keys). */
  async delete(itemIds: string[]): Promise<CommitResult> {
    if (itemIds.length === 0 || new Set(itemIds).size !== itemIds.length || !itemIds.every(isItemId)) {
      throw new VaultFormatError('delete takes distinct item ids');
    }
    return commitResult(await this.committer.run(deleteJob(itemIds)));
  }

  // ---- members ----

  /** Adds a member, re-sealing every current item's data key to it in the same commit. */
  async addMember(member: {
    subject: string;
    role: VaultRole;
    publicKeys: MemberPublicKeys;
  }): Promise<CommitResult> {
    return commitResult(await this.committer.run(addMemberJob(this.jobs, member)));
  }

  /**
   * Removes a member. With `reencrypt` (the default) every current item is then written again under a
   * fresh data key sealed to the remaining members only, so the removed member cannot read the new
   * versions even with every sealed key it ever held.
   */
  async removeMember(subject: string, options: { reencrypt?: boolean } = {}): Promise<RemoveMemberResult> {
    let last = await this.committer.run(removeMemberJob(subject));
    let reencrypted = 0;
    if (options.reencrypt ?? true) {
      const itemIds = this.chain.head.manifest.items.map((item) => item.id);
      for (let start = 0; start < itemIds.length; start += VAULT_LIMITS.maxWritesPerCommit) {
        const chunk = itemIds.slice(start, start + VAULT_LIMITS.maxWritesPerCommit);
        const { answer, items } = await this.committer.run(reencryptJob(this.jobs, chunk));
        last = answer;
        reencrypted += items.length;
      }
    }
    return { ...commitResult(last), reencrypted };
  }

  async changeRole(subject: string, role: VaultRole): Promise<CommitResult> {
    return commitResult(await this.committer.run(changeRoleJob(subject, role)));
  }

  // ---- sessions, access log, shredding ----

  /** Tells the server the member re-authenticated (e.g. with MFA), after a `step_up_required` refusal. */
  stepUp(authentication: SessionAuthentication): Promise<SessionAnswer> {
    return this.channel.stepUp(authentication);
  }

  /** Sends a guardian access approval (`vap_…`) with the following requests; undefined stops sending it. */
  useApproval(approvalId: string | undefined): void {
    this.channel.useApproval(approvalId);
  }

  /**
   * The member session's token (`vms_…`), opened first if needed: for member routes this client does not
   * wrap, such as recovery setup and cancelation (setupRecovery, cancelRecovery take it as `session`).
   */
  sessionToken(): Promise<string> {
    return this.channel.token();
  }

  /** Ends the member session on the server (a later call opens a new one). */
  endSession(): Promise<void> {
    return this.channel.end();
  }

  /**
   * A page of the vault's access log (every decision on a member route). With `verify` (the default)
   * each entry is checked against its ledger entry and its inclusion proof under a checkpoint signed by
   * the pinned ledger key.
   */
  async accessLog(options?: {
    verify?: true;
    limit?: number;
    cursor?: string;
  }): Promise<AccessLog<VerifiedAccessLogEntry>>;
  async accessLog(options: {
    verify: false;
    limit?: number;
    cursor?: string;
  }): Promise<AccessLog<AccessLogEntry>>;
  async accessLog(
    options: { verify?: boolean; limit?: number; cursor?: string } = {},
  ): Promise<AccessLog<AccessLogEntry>> {
    const verify = options.verify ?? true;
    const page = await this.routes.accessLog({
      proof: verify,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    });
    if (!verify) return { entries: page.data, nextCursor: page.nextCursor };
    const { entries } = await verifyAccessLog(page, {
      vaultId: this.vaultId,
      ledgerKey: await this.ledgerKey(),
    });
    return {
      entries,
      nextCursor: page.nextCursor,
      ...(page.checkpoint === undefined ? {} : { checkpoint: page.checkpoint }),
    };
  }

  /** Crypto-shreds the vault: the server destroys every ciphertext and sealed key. */
  async shred(): Promise<void> {
    await this.channel.call((auth) => this.routes.deleteVault(auth));
  }

  // ---- internals ----

  /** After a manifest conflict: verify up to the manifest the server says is current. */
  private async catchUp(error: unknown, floor: number): Promise<void> {
    const current =
      error instanceof PersonaApiError
        ? (error.problem as { current?: Partial<ManifestHead> }).current
        : undefined;
    if (typeof current?.sequence === 'number' && typeof current.hash === 'string') {
      await this.chain.at({ sequence: current.sequence, hash: current.hash }, floor);
    } else {
      await this.chain.sync();
    }
  }

  private async ledgerKey(): Promise<string> {
    if (this.options.ledgerKey !== undefined) return this.options.ledgerKey;
    const state = this.chain.vaultState;
    if (state.ledgerKey === undefined) {
      state.ledgerKey = await this.routes.ledgerKey();
      await this.store.save(state);
    }
    return state.ledgerKey;
  }
}

function memberChannel(routes: VaultRoutes, options: VaultClientOptions, vaultId: string): MemberChannel {
  const { projectId, member, context } = options;
  return new MemberChannel(
    routes,
    { projectId, vaultId, subject: member.subject, keys: member.keys },
    context,
  );
}

function manifestSource(routes: VaultRoutes, channel: MemberChannel): ManifestSource {
  return (after) => channel.call((auth) => routes.manifests(auth, after));
}

function connect(connection: VaultConnection): PersonaApi {
  return 'api' in connection ? connection.api : createPersonaApi(connection);
}

function commitResult(answer: CommitAnswer): CommitResult {
  return { sequence: answer.sequence, manifestHash: answer.manifestHash, access: answer.access };
}

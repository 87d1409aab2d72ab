import type { ManifestItem, ManifestMember, SignedManifest } from '@personachain/vaults';
import { Problem } from '../../http/problem.js';
import { DEFAULT_TRUST_TEMPLATE, parseTrustTemplate, type TrustTemplate } from '../policy/access/index.js';
import type { VaultHeadRow, VaultRow, VaultsRepo } from './repo.js';

/** A vault as every member request needs it: its current manifest, members, items and trust template. */
export interface VaultState {
  id: string;
  projectId: string;
  owner: string;
  label: string | null;
  status: 'active' | 'shredded';
  manifest: SignedManifest;
  manifestHash: string;
  /** The current manifest's members, by subject. */
  members: Map<string, ManifestMember>;
  /** The current manifest's items, by id. */
  items: Map<string, ManifestItem>;
  /** The stored normalized template text (null: the default), and the template it parses to. */
  templateText: string | null;
  template: TrustTemplate;
  createdAt: number;
  updatedAt: number;
  shreddedAt: number | null;
}

/** Parsed states kept per process, by count and by the items their manifests list (a few hundred MB). */
const CAPACITY = { vaults: 2_000, items: 500_000 };

export function stateOf(
  head: VaultHeadRow,
  manifest: SignedManifest,
  template: TrustTemplate = templateOf(head.template),
): VaultState {
  return {
    id: head.id,
    projectId: head.project_id,
    owner: head.owner,
    label: head.label,
    status: head.status as VaultState['status'],
    manifest,
    manifestHash: head.manifest_hash,
    members: new Map(manifest.members.map((member) => [member.subject, member])),
    items: new Map(manifest.items.map((item) => [item.id, item])),
    templateText: head.template,
    template,
    createdAt: Number(head.created_at),
    updatedAt: Number(head.updated_at),
    shreddedAt: head.shredded_at === null ? null : Number(head.shredded_at),
  };
}

/** A stored template was normalized when it was set; parsing it again only rebuilds the object. */
export function templateOf(text: string | null): TrustTemplate {
  return text === null ? DEFAULT_TRUST_TEMPLATE : parseTrustTemplate(JSON.parse(text));
}

/** The state with a new manifest, as a commit leaves it. */
export function withManifest(
  state: VaultState,
  manifest: SignedManifest,
  hash: string,
  at: number,
): VaultState {
  return {
    ...state,
    manifest,
    manifestHash: hash,
    members: new Map(manifest.members.map((member) => [member.subject, member])),
    items: new Map(manifest.items.map((item) => [item.id, item])),
    updatedAt: at,
  };
}

/**
 * Vault states, parsed once. With the embedded database (one process) every change passes through this
 * process, which stores the new state, so a cached state is exact and requests read nothing. With a
 * shared database each request reads the vault's small columns and reuses the parsed state only while its
 * manifest hash, status and template are unchanged.
 */
export class VaultStates {
  private readonly cache = new Map<string, VaultState>();
  private cachedItems = 0;

  constructor(
    private readonly repo: VaultsRepo,
    private readonly singleProcess: boolean,
  ) {}

  /** The vault of the project; 404 when it has no such vault. */
  async get(projectId: string, vaultId: string): Promise<VaultState> {
    const cached = this.cache.get(vaultId);
    if (this.singleProcess) {
      if (cached) return this.ofProject(cached, projectId, vaultId);
    } else if (cached) {
      const head = await this.repo.vaultHead(projectId, vaultId);
      if (!head) throw notFound(vaultId);
      if (
        head.manifest_hash === cached.manifestHash &&
        head.status === cached.status &&
        head.template === cached.templateText &&
        head.label === cached.label
      ) {
        return this.ofProject(cached, projectId, vaultId);
      }
    }
    const row = await this.repo.vault(projectId, vaultId);
    if (!row) throw notFound(vaultId);
    return this.remember(fromRow(row));
  }

  /** Keeps the state a write of this process produced. */
  remember(state: VaultState): VaultState {
    this.forget(state.id);
    while (
      this.cache.size > 0 &&
      (this.cache.size >= CAPACITY.vaults || this.cachedItems + state.items.size > CAPACITY.items)
    ) {
      this.forget(this.cache.keys().next().value as string);
    }
    this.cache.set(state.id, state);
    this.cachedItems += state.items.size;
    return state;
  }

  /**
   * Applies a change this process committed to the cached state, if the vault is cached. Changes apply to
   * the latest cached state, so a commit and a template update that overlap both stay in the cache.
   */
  apply(vaultId: string, change: (state: VaultState) => VaultState): void {
    const cached = this.cache.get(vaultId);
    if (cached) this.remember(change(cached));
  }

  private forget(vaultId: string): void {
    const cached = this.cache.get(vaultId);
    if (!cached) return;
    this.cache.delete(vaultId);
    this.cachedItems -= cached.items.size;
  }

  private ofProject(state: VaultState, projectId: string, vaultId: string): VaultState {
    if (state.projectId !== projectId) throw notFound(vaultId);
    return state;
  }
}

function fromRow(row: VaultRow): VaultState {
  return stateOf(row, JSON.parse(row.manifest) as SignedManifest);
}

export function notFound(vaultId: string): Problem {
  return new Problem('not-found', `No vault ${vaultId} in this project.`);
}

import { randomBytes } from 'node:crypto';
import {
  b64u,
  genesisManifest,
  type ManifestItem,
  type ManifestMember,
  MemberKeys,
  manifestHash,
  newItemId,
  newVaultId,
  type SealedItemVersion,
  type SignedManifest,
  sealItem,
  sessionProofInput,
  signManifest,
} from '@personachain/vaults';
import type { Tenant, TestServer } from './helpers.js';

/**
 * A trust template under which every access of a member with the right role is allowed, at any hour and
 * any rate, so that tests of the vault mechanics do not depend on the clock or on their own speed.
 */
export const OPEN_TEMPLATE = {
  businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' },
  velocity: { perMinute: 1_000_000, perHour: 1_000_000 },
  minimumScore: { read: 0, list: 0, write: 0, delete: 0, admin: 0 },
  evaluators: {
    strict: { allowAt: 0, deviceAndMfaFor: [] },
    permissive: { allowAt: 0 },
    neutral: { allowAt: 0, denyBelow: 0 },
    watchdog: { offHoursActions: [], maxRecentDenials: 1000 },
  },
};

/** A member of a test vault: a subject and its keys. */
export interface Member {
  subject: string;
  keys: MemberKeys;
}

export async function newMember(): Promise<Member> {
  return { subject: `usr_${randomBytes(16).toString('hex')}`, keys: await MemberKeys.generate() };
}

export const AUTHENTICATED = () => ({ methods: ['pwd'], authenticatedAt: new Date().toISOString() });

/** The state a test client tracks: the vault's current manifest and its members' keys by key id. */
export class TestVault {
  constructor(
    readonly id: string,
    public manifest: SignedManifest,
  ) {}

  get hash(): string {
    return manifestHash(this.manifest);
  }

  /** The next manifest: the current one with `change` applied, signed by `signer`. */
  async next(
    signer: Member,
    change: (draft: { members: ManifestMember[]; items: ManifestItem[] }) => void,
  ): Promise<SignedManifest> {
    const draft = {
      members: this.manifest.members.map((member) => ({ ...member })),
      items: this.manifest.items.map((item) => ({ ...item, keyIds: [...item.keyIds] })),
    };
    change(draft);
    draft.members.sort((a, b) => (a.subject < b.subject ? -1 : 1));
    draft.items.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const item of draft.items) item.keyIds.sort();
    return signManifest(
      {
        v: 1,
        vaultId: this.id,
        sequence: this.manifest.sequence + 1,
        previous: this.hash,
        owner: this.manifest.owner,
        members: draft.members,
        items: draft.items,
        signer: { subject: signer.subject, keyId: signer.keys.keyId },
        issuedAt: new Date().toISOString(),
      },
      signer.keys,
    );
  }
}

/** A vault API client over raw fetch, for one tenant, doing the client-side crypto with @personachain/vaults. */
export class VaultClient {
  constructor(
    readonly server: TestServer,
    readonly tenant: Tenant,
    readonly key: string = tenant.keys.developer,
  ) {}

  path(suffix = ''): string {
    return `/v1/projects/${this.tenant.projectId}/vaults${suffix}`;
  }

  async createVault(owner: Member, template: unknown = OPEN_TEMPLATE): Promise<TestVault> {
    const id = newVaultId();
    const manifest = await genesisManifest({ vaultId: id, owner: owner.subject, ownerKeys: owner.keys });
    const created = await this.server.json('POST', this.path(), {
      key: this.tenant.keys.admin,
      body: {
        id,
        label: 'test vault',
        owner: { subject: owner.subject, publicKeys: owner.keys.publicKeys },
        manifest,
        ...(template === null ? {} : { template }),
      },
    });
    if (created.status !== 201) throw new Error(`create vault: ${JSON.stringify(created.body)}`);
    return new TestVault(id, manifest);
  }

  /** A signed session proof for the member (fresh nonce, issued now unless told). */
  async proof(
    vaultId: string,
    member: Member,
    options: { issuedAt?: string; nonce?: string; context?: object } = {},
  ) {
    const issuedAt = options.issuedAt ?? new Date().toISOString();
    const nonce = options.nonce ?? b64u.encode(randomBytes(24));
    const input = sessionProofInput({
      projectId: this.tenant.projectId,
      vaultId,
      subject: member.subject,
      keyId: member.keys.keyId,
      issuedAt,
      nonce,
    });
    return {
      subject: member.subject,
      keyId: member.keys.keyId,
      issuedAt,
      nonce,
      signature: await member.keys.sign('session', input),
      context: options.context ?? { authentication: AUTHENTICATED() },
    };
  }

  openSessionRaw(vaultId: string, body: unknown, key = this.key) {
    return this.server.json('POST', this.path(`/${vaultId}/sessions`), { key, body });
  }

  async session(vaultId: string, member: Member, context?: object): Promise<string> {
    const opened = await this.openSessionRaw(
      vaultId,
      await this.proof(vaultId, member, context ? { context } : {}),
    );
    if (opened.status !== 201) throw new Error(`session: ${JSON.stringify(opened.body)}`);
    return opened.body.token;
  }

  /** A member route call with the session header. */
  member(
    method: string,
    vaultId: string,
    suffix: string,
    token: string,
    options: { body?: unknown; key?: string; headers?: Record<string, string> } = {},
  ) {
    return this.server.json(method, this.path(`/${vaultId}${suffix}`), {
      key: options.key ?? this.key,
      body: options.body,
      headers: { 'persona-vault-session': token, ...options.headers },
    });
  }

  commit(vault: TestVault, token: string, body: Record<string, unknown>, key?: string) {
    return this.member('POST', vault.id, '/commits', token, { body, ...(key ? { key } : {}) });
  }

  /** Seals a new version of an item to the given members. */
  seal(vault: TestVault, itemId: string, version: number, plaintext: Uint8Array, recipients: Member[]) {
    return sealItem({
      vaultId: vault.id,
      itemId,
      version,
      plaintext,
      recipients: recipients.map((member) => ({ keyId: member.keys.keyId, keys: member.keys.publicKeys })),
    });
  }

  /** A commit writing one item (a new one unless `itemId` is given) sealed to `recipients`, signed by `writer`. */
  async prepareWrite(
    vault: TestVault,
    writer: Member,
    plaintext: Uint8Array,
    recipients: Member[],
    itemId: string = newItemId(),
  ): Promise<{
    itemId: string;
    sealed: SealedItemVersion;
    manifest: SignedManifest;
    body: Record<string, unknown>;
  }> {
    const version = (vault.manifest.items.find((item) => item.id === itemId)?.version ?? 0) + 1;
    const sealed = await this.seal(vault, itemId, version, plaintext, recipients);
    const manifest = await vault.next(writer, (draft) => {
      draft.items = draft.items.filter((item) => item.id !== itemId);
      draft.items.push({
        id: itemId,
        version,
        contentHash: sealed.contentHash,
        keyIds: sealed.sealedKeys.map((key) => key.keyId),
      });
    });
    return { itemId, sealed, manifest, body: { manifest, writes: [wireWrite(sealed)] } };
  }

  /** Writes one item as `writer` and advances the tracked manifest; throws unless the commit succeeds. */
  async put(
    vault: TestVault,
    writer: Member,
    token: string,
    plaintext: Uint8Array,
    recipients: Member[],
    itemId?: string,
  ): Promise<{ itemId: string; sealed: SealedItemVersion }> {
    const prepared = await this.prepareWrite(vault, writer, plaintext, recipients, itemId);
    const committed = await this.commit(vault, token, prepared.body);
    if (committed.status !== 200)
      throw new Error(`commit: ${committed.status} ${JSON.stringify(committed.body)}`);
    vault.manifest = prepared.manifest;
    return { itemId: prepared.itemId, sealed: prepared.sealed };
  }
}

/** A sealed version as a commit's `writes` entry. */
export function wireWrite(sealed: SealedItemVersion) {
  return {
    itemId: sealed.itemId,
    version: sealed.version,
    ciphertext: b64u.encode(sealed.ciphertext),
    sealedKeys: sealed.sealedKeys.map((key) => ({ keyId: key.keyId, sealedKey: b64u.encode(key.sealedKey) })),
  };
}

export const text = (value: string) => new TextEncoder().encode(value);

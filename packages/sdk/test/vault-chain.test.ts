import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  genesisManifest,
  MemberKeys,
  type MemberPublicKeys,
  manifestHash,
  newItemId,
  newVaultId,
  type SignedManifest,
  signManifest,
  VaultFormatError,
  VaultIntegrityError,
} from '@personachain/vaults';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ManifestPage, TrustedChain } from '../src/vault/chain.js';
import { nextManifest } from '../src/vault/changes.js';
import { FileVaultStateStore, MemoryVaultStateStore } from '../src/vault/state.js';

const OWNER = `usr_${'a'.repeat(32)}`;
const ADMIN = `usr_${'b'.repeat(32)}`;
const HASH = 'A'.repeat(43);

let owner: MemberKeys;
let admin: MemberKeys;
let vaultId: string;
/** genesis; 1: the owner writes an item; 2: the owner adds an admin; 3: the admin writes again. */
let chain: SignedManifest[];
const itemId = newItemId();

function next(previous: SignedManifest, signer: { subject: string; keys: MemberKeys }, changes: object) {
  return signManifest(
    nextManifest({ manifest: previous, hash: manifestHash(previous) }, changes, {
      subject: signer.subject,
      keyId: signer.keys.keyId,
    }),
    signer.keys,
  );
}

beforeAll(async () => {
  [owner, admin] = await Promise.all([MemberKeys.generate(), MemberKeys.generate()]);
  vaultId = newVaultId();
  const genesis = await genesisManifest({ vaultId, owner: OWNER, ownerKeys: owner });
  const first = await next(
    genesis,
    { subject: OWNER, keys: owner },
    {
      writes: [{ itemId, version: 1, contentHash: HASH, keyIds: [owner.keyId] }],
    },
  );
  const second = await next(
    first,
    { subject: OWNER, keys: owner },
    {
      members: { add: [{ subject: ADMIN, role: 'admin', keyId: admin.keyId }] },
      reseals: [{ itemId, keyId: admin.keyId }],
    },
  );
  const third = await next(
    second,
    { subject: ADMIN, keys: admin },
    {
      writes: [{ itemId, version: 2, contentHash: 'B'.repeat(43), keyIds: [owner.keyId, admin.keyId] }],
    },
  );
  chain = [genesis, first, second, third];
});

/** A server holding `manifests` (what it shows for `after`), with every member's keys. */
function source(manifests: () => SignedManifest[], keys?: Record<string, MemberPublicKeys>) {
  return async (after: number): Promise<ManifestPage> => ({
    data: manifests().filter((manifest) => manifest.sequence > after),
    keys: keys ?? { [owner.keyId]: owner.publicKeys, [admin.keyId]: admin.publicKeys },
  });
}

const head = (manifest: SignedManifest) => ({ sequence: manifest.sequence, hash: manifestHash(manifest) });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultIntegrityError);
  return (error as VaultIntegrityError).code;
}

describe('TrustedChain', () => {
  it('verifies a vault from genesis, pins the owner key and remembers every version it saw', async () => {
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => chain),
      store: new MemoryVaultStateStore(),
    });
    expect(trusted.head.manifest.sequence).toBe(3);
    expect(trusted.vaultState.ownerKeyId).toBe(owner.keyId);
    expect(trusted.knownVersions(itemId)).toEqual([1, 2]);
    expect(trusted.knownHash(itemId, 1)).toBe(HASH);
    expect(
      trusted
        .recipients()
        .map((recipient) => recipient.keyId)
        .sort(),
    ).toEqual([owner.keyId, admin.keyId].sort());
  });

  it('forgets the versions of a deleted item (the server destroys them)', async () => {
    const deleted = await next(
      chain[3] as SignedManifest,
      { subject: OWNER, keys: owner },
      { deletes: [itemId] },
    );
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => [...chain, deleted]),
      store: new MemoryVaultStateStore(),
    });
    expect(trusted.head.manifest.items).toEqual([]);
    expect(trusted.knownVersions(itemId)).toEqual([]);
  });

  it('catches up to a newer manifest an answer names, and accepts answers from while a request was out', async () => {
    let shown = chain.slice(0, 2);
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => shown),
      store: new MemoryVaultStateStore(),
    });
    expect(trusted.head.manifest.sequence).toBe(1);
    shown = chain;
    expect((await trusted.at(head(chain[3] as SignedManifest), 1))?.manifest.sequence).toBe(3);
    // Sent when manifest 1 was the newest verified, answered under it: a race, not a rollback.
    expect((await trusted.at(head(chain[1] as SignedManifest), 1))?.manifest.sequence).toBe(1);
  });

  it('refuses an answer under an older manifest than the one verified when the request left', async () => {
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => chain),
      store: new MemoryVaultStateStore(),
    });
    expect(await codeOf(trusted.at(head(chain[1] as SignedManifest), 3))).toBe('rollback');
  });

  it('refuses another manifest under a verified sequence (a fork)', async () => {
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => chain),
      store: new MemoryVaultStateStore(),
    });
    expect(await codeOf(trusted.at({ sequence: 2, hash: HASH }, 0))).toBe('tampered');
  });

  it('refuses a server that names a manifest it cannot show', async () => {
    const trusted = await TrustedChain.fromGenesis({
      vaultId,
      source: source(() => chain.slice(0, 2)),
      store: new MemoryVaultStateStore(),
    });
    expect(await codeOf(trusted.at({ sequence: 3, hash: HASH }, 1))).toBe('broken-chain');
  });

  it('refuses an admin giving the owner another key, though the chain rules allow it', async () => {
    const mallory = await MemberKeys.generate();
    const rekeyed = await signManifest(
      {
        ...(chain[3] as SignedManifest),
        sequence: 4,
        previous: manifestHash(chain[3] as SignedManifest),
        members: (chain[3] as SignedManifest).members.map((member) =>
          member.subject === OWNER ? { ...member, keyId: mallory.keyId } : member,
        ),
        items: [],
        signer: { subject: ADMIN, keyId: admin.keyId },
      },
      admin,
    );
    const keys = {
      [owner.keyId]: owner.publicKeys,
      [admin.keyId]: admin.publicKeys,
      [mallory.keyId]: mallory.publicKeys,
    };
    const store = new MemoryVaultStateStore();
    await expect(
      TrustedChain.fromGenesis({ vaultId, source: source(() => [...chain, rekeyed], keys), store }),
    ).rejects.toMatchObject({ code: 'owner-changed' });
    // The owner key given out of band is checked against the genesis manifest too.
    expect(
      await codeOf(
        TrustedChain.fromGenesis({ vaultId, ownerKeyId: mallory.keyId, source: source(() => chain), store }),
      ),
    ).toBe('owner-changed');
  });

  it("refuses a member whose keys the server does not show, or shows another's under its id", async () => {
    const swapped = { [owner.keyId]: owner.publicKeys, [admin.keyId]: owner.publicKeys };
    expect(
      await codeOf(
        TrustedChain.fromGenesis({
          vaultId,
          source: source(() => chain, swapped),
          store: new MemoryVaultStateStore(),
        }),
      ),
    ).toBe('unknown-key');
  });
});

describe('nextManifest', () => {
  it("drops a removed member's key from every item and shares unchanged items", async () => {
    const after = nextManifest(
      { manifest: chain[3] as SignedManifest, hash: manifestHash(chain[3] as SignedManifest) },
      { members: { remove: [ADMIN] } },
      { subject: OWNER, keyId: owner.keyId },
    );
    expect(after.members.map((member) => member.subject)).toEqual([OWNER]);
    expect(after.items).toEqual([
      { id: itemId, version: 2, contentHash: 'B'.repeat(43), keyIds: [owner.keyId] },
    ]);
    const untouched = nextManifest(
      { manifest: chain[3] as SignedManifest, hash: manifestHash(chain[3] as SignedManifest) },
      { members: { change: [{ subject: ADMIN, role: 'read' }] } },
      { subject: OWNER, keyId: owner.keyId },
    );
    expect(untouched.items).toBe((chain[3] as SignedManifest).items);
    expect(() =>
      nextManifest(
        { manifest: chain[3] as SignedManifest, hash: manifestHash(chain[3] as SignedManifest) },
        { deletes: [newItemId()] },
        { subject: OWNER, keyId: owner.keyId },
      ),
    ).toThrow(VaultFormatError);
  });
});

describe('FileVaultStateStore', () => {
  it('keeps the trusted state across instances and refuses a file that is no state of the vault', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'persona-vault-store-'));
    try {
      const trusted = await TrustedChain.fromGenesis({
        vaultId,
        source: source(() => chain),
        store: new FileVaultStateStore(directory),
      });
      const loaded = await new FileVaultStateStore(directory).load(vaultId);
      expect(loaded?.manifest).toEqual(trusted.head.manifest);
      expect(loaded?.versions).toEqual(trusted.vaultState.versions);
      expect(await new FileVaultStateStore(directory).load(newVaultId())).toBeUndefined();

      await writeFile(
        join(directory, `${vaultId}.json`),
        JSON.stringify({ ...loaded, vaultId: newVaultId() }),
      );
      await expect(new FileVaultStateStore(directory).load(vaultId)).rejects.toThrow(VaultFormatError);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

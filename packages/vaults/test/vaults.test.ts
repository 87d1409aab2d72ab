import { describe, expect, it } from 'vitest';
import {
  b64u,
  checkManifestShape,
  genesisManifest,
  MemberKeys,
  type MemberPublicKeys,
  manifestHash,
  memberKeyId,
  newItemId,
  newVaultId,
  openItem,
  resealItemKey,
  type SignedManifest,
  sealItem,
  signManifest,
  type UnsignedManifest,
  VaultFormatError,
  VaultIntegrityError,
  verifyHybrid,
  verifyManifestTransition,
} from '../src/index.js';

const owner = 'usr_0000000000000000000000000000000a';
const writer = 'did:key:z6MkWriter';
const reader = 'did:key:z6MkReader';

async function directory(...members: MemberKeys[]) {
  const keys = new Map<string, MemberPublicKeys>(members.map((m) => [m.keyId, m.publicKeys]));
  return (keyId: string) => keys.get(keyId);
}

function successor(
  previous: SignedManifest,
  signer: { subject: string; keys: MemberKeys },
  change: Partial<UnsignedManifest>,
): UnsignedManifest {
  return {
    v: 1,
    vaultId: previous.vaultId,
    sequence: previous.sequence + 1,
    previous: manifestHash(previous),
    owner: previous.owner,
    members: previous.members,
    items: previous.items,
    signer: { subject: signer.subject, keyId: signer.keys.keyId },
    issuedAt: new Date().toISOString(),
    ...change,
  };
}

async function expectIntegrity(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toSatisfy(
    (error: unknown) => error instanceof VaultIntegrityError && error.code === code,
  );
}

describe('member keys', () => {
  it('derive the same keys from the same seed, and the key id commits to all three public keys', async () => {
    const a = await MemberKeys.generate();
    const again = await MemberKeys.fromSeed(a.seed);
    expect(again.publicKeys).toEqual(a.publicKeys);
    expect(again.keyId).toBe(a.keyId);
    const b = await MemberKeys.generate();
    expect(memberKeyId({ ...a.publicKeys, mlDsa65: b.publicKeys.mlDsa65 })).not.toBe(a.keyId);
    expect(b64u.decode(a.publicKeys.encryptionKey)).toHaveLength(1216);
  });

  it('count a hybrid signature only when both halves verify, and only for its domain', async () => {
    const a = await MemberKeys.generate();
    const b = await MemberKeys.generate();
    const message = new TextEncoder().encode('hello');
    const signature = await a.sign('session', message);
    expect(await verifyHybrid(a.publicKeys, 'session', message, signature)).toBe(true);
    expect(await verifyHybrid(a.publicKeys, 'manifest', message, signature)).toBe(false);
    const other = await b.sign('session', message);
    expect(
      await verifyHybrid(a.publicKeys, 'session', message, { ...signature, mlDsa65: other.mlDsa65 }),
    ).toBe(false);
    expect(
      await verifyHybrid(a.publicKeys, 'session', message, { ...signature, ed25519: other.ed25519 }),
    ).toBe(false);
    expect(await verifyHybrid(a.publicKeys, 'session', message, { ed25519: 'x', mlDsa65: '' })).toBe(false);
  });
});

describe('manifests', () => {
  it('chain from genesis through writes and member changes', async () => {
    const ownerKeys = await MemberKeys.generate();
    const writerKeys = await MemberKeys.generate();
    const keys = await directory(ownerKeys, writerKeys);
    const vaultId = newVaultId();
    const genesis = await genesisManifest({ vaultId, owner, ownerKeys });
    await verifyManifestTransition(null, checkManifestShape(JSON.parse(JSON.stringify(genesis))), keys);

    const withWriter = await signManifest(
      successor(
        genesis,
        { subject: owner, keys: ownerKeys },
        {
          members: [
            { subject: writer, role: 'write', keyId: writerKeys.keyId },
            { subject: owner, role: 'admin', keyId: ownerKeys.keyId },
          ].sort((x, y) => (x.subject < y.subject ? -1 : 1)),
        },
      ),
      ownerKeys,
    );
    await verifyManifestTransition(genesis, withWriter, keys);

    const item = {
      id: newItemId(),
      version: 1,
      contentHash: b64u.encode(new Uint8Array(32)),
      keyIds: [ownerKeys.keyId, writerKeys.keyId].sort(),
    };
    const written = await signManifest(
      successor(withWriter, { subject: writer, keys: writerKeys }, { items: [item] }),
      writerKeys,
    );
    await verifyManifestTransition(withWriter, written, keys);

    // A writer may not change members; a skipped or reordered manifest breaks the chain.
    const promoted = await signManifest(
      successor(
        written,
        { subject: writer, keys: writerKeys },
        {
          members: written.members.map((m) => (m.subject === writer ? { ...m, role: 'admin' as const } : m)),
        },
      ),
      writerKeys,
    );
    await expectIntegrity(verifyManifestTransition(written, promoted, keys), 'unauthorized-signer');
    await expectIntegrity(verifyManifestTransition(genesis, written, keys), 'broken-chain');

    // A signature from a key that is not the named one, or public keys that do not hash to the id.
    const forged = {
      ...written,
      signature: (
        await signManifest(
          successor(withWriter, { subject: writer, keys: writerKeys }, { items: [] }),
          writerKeys,
        )
      ).signature,
    };
    await expectIntegrity(verifyManifestTransition(withWriter, forged, keys), 'bad-signature');
    await expectIntegrity(
      verifyManifestTransition(withWriter, written, (id) =>
        id === writerKeys.keyId ? ownerKeys.publicKeys : undefined,
      ),
      'unknown-key',
    );
  });

  it('refuses a reader as signer and an owner who loses admin', async () => {
    const ownerKeys = await MemberKeys.generate();
    const readerKeys = await MemberKeys.generate();
    const keys = await directory(ownerKeys, readerKeys);
    const genesis = await genesisManifest({ vaultId: newVaultId(), owner, ownerKeys });
    const members = [
      { subject: reader, role: 'read' as const, keyId: readerKeys.keyId },
      { subject: owner, role: 'admin' as const, keyId: ownerKeys.keyId },
    ];
    const shared = await signManifest(
      successor(genesis, { subject: owner, keys: ownerKeys }, { members }),
      ownerKeys,
    );
    const byReader = await signManifest(
      successor(shared, { subject: reader, keys: readerKeys }, {}),
      readerKeys,
    );
    await expectIntegrity(verifyManifestTransition(shared, byReader, keys), 'unauthorized-signer');
    const demoted = await signManifest(
      successor(
        shared,
        { subject: owner, keys: ownerKeys },
        { members: members.map((m) => ({ ...m, role: 'write' as const })) },
      ),
      ownerKeys,
    );
    await expectIntegrity(verifyManifestTransition(shared, demoted, keys), 'owner-changed');
  });

  it('reject malformed manifests with the failing path', async () => {
    const ownerKeys = await MemberKeys.generate();
    const genesis = await genesisManifest({ vaultId: newVaultId(), owner, ownerKeys });
    const failPath = (value: unknown) => {
      try {
        checkManifestShape(value);
      } catch (error) {
        if (error instanceof VaultFormatError) return error.path;
        throw error;
      }
      return 'accepted';
    };
    expect(failPath({ ...genesis, extra: 1 })).toBe('/extra');
    expect(failPath({ ...genesis, sequence: -1 })).toBe('/sequence');
    expect(failPath({ ...genesis, vaultId: 'vlt_x' })).toBe('/vaultId');
    const item = {
      id: newItemId(),
      version: 1,
      contentHash: b64u.encode(new Uint8Array(32)),
      keyIds: ['vk_AAAAAAAAAAAAAAAAAAAAAA'],
    };
    expect(failPath({ ...genesis, items: [item] })).toBe('/items/0/keyIds/0');
    const own = { ...item, keyIds: [ownerKeys.keyId] };
    expect(failPath({ ...genesis, items: [own, own] })).toBe('/items/1');
    expect(failPath(JSON.parse(JSON.stringify(genesis)))).toBe('accepted');
  });
});

describe('items', () => {
  it('open only for a recipient, only in their place, and can be re-sealed to a new member', async () => {
    const a = await MemberKeys.generate();
    const b = await MemberKeys.generate();
    const ref = { vaultId: newVaultId(), itemId: newItemId(), version: 1 };
    const plaintext = new TextEncoder().encode('db password: hunter2');
    const sealed = await sealItem({
      ...ref,
      plaintext,
      recipients: [{ keyId: a.keyId, keys: a.publicKeys }],
    });
    const sealedKey = sealed.sealedKeys[0]?.sealedKey as Uint8Array;
    expect(await openItem({ ...ref, ciphertext: sealed.ciphertext, sealedKey, member: a })).toEqual(
      plaintext,
    );
    await expect(openItem({ ...ref, ciphertext: sealed.ciphertext, sealedKey, member: b })).rejects.toThrow();
    await expect(
      openItem({ ...ref, version: 2, ciphertext: sealed.ciphertext, sealedKey, member: a }),
    ).rejects.toThrow();
    const tampered = sealed.ciphertext.slice();
    tampered[20] = (tampered[20] as number) ^ 1;
    await expect(openItem({ ...ref, ciphertext: tampered, sealedKey, member: a })).rejects.toThrow();

    const forB = await resealItemKey({
      ...ref,
      sealedKey,
      member: a,
      recipient: { keyId: b.keyId, keys: b.publicKeys },
    });
    expect(await openItem({ ...ref, ciphertext: sealed.ciphertext, sealedKey: forB, member: b })).toEqual(
      plaintext,
    );
    expect(new TextDecoder().decode(sealed.ciphertext)).not.toContain('hunter2');
  });
});

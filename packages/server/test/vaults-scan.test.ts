import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hkdfSha256 } from '@personachain/crypto';
import { b64u, resealItemKey } from '@personachain/vaults';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type TestServer } from './helpers.js';
import { type Member, newMember, VaultClient } from './vaults-helpers.js';

// What the server keeps of vaults, read as bytes after the server stopped: the SQLite database (with its
// WAL) and every blob file hold ciphertext, sealed keys and public metadata, never a plaintext nor a
// member's secret, and a shredded vault leaves no sealed key and no ciphertext behind.

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The secrets a member holds: its seed and the secret keys derived from it. */
function secretsOf(member: Member): Uint8Array[] {
  const derive = (purpose: string) =>
    hkdfSha256(member.keys.seed, undefined, new TextEncoder().encode(`persona-vault/v1 key ${purpose}`), 32);
  return [
    member.keys.seed,
    member.keys.encryption.secretKey,
    derive('ed25519'),
    derive('ml-dsa-65'),
    derive('x-wing'),
  ];
}

/** 32-byte windows spread over a byte string: finding none of them anywhere means it is not there. */
function windowsOf(bytes: Uint8Array): Buffer[] {
  const windows: Buffer[] = [];
  for (let offset = 0; offset + 32 <= bytes.length; offset += Math.max(32, Math.floor(bytes.length / 16))) {
    windows.push(Buffer.from(bytes.subarray(offset, offset + 32)));
  }
  return windows;
}

describe('what vaults leave in the database and the blob store', () => {
  let server: TestServer | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds no plaintext and no member secret, and nothing of a shredded vault but its manifests', async () => {
    server = await startTestServer();
    dataDir = server.dataDir;
    const tenant = await createTenant(server, 'Vault scan');
    const client = new VaultClient(server, tenant);
    const owner = await newMember();
    const friend = await newMember();

    // Kept: a small (inline) and a large (blob) item, shared with a friend by resealing.
    const kept = await client.createVault(owner);
    const token = await client.session(kept.id, owner);
    const small = new TextEncoder().encode(`a small secret ${randomBytes(16).toString('hex')}`);
    const large = randomBytes(40 * 1024);
    const smallItem = await client.put(kept, owner, token, small, [owner]);
    const largeItem = await client.put(kept, owner, token, large, [owner]);
    const reseals = await Promise.all(
      [smallItem, largeItem].map(async ({ itemId }) => {
        const read = await client.member('GET', kept.id, `/items/${itemId}`, token);
        const sealedKey = await resealItemKey({
          vaultId: kept.id,
          itemId,
          version: 1,
          sealedKey: b64u.decode(read.body.sealedKey),
          member: owner.keys,
          recipient: { keyId: friend.keys.keyId, keys: friend.keys.publicKeys },
        });
        return { itemId, version: 1, keyId: friend.keys.keyId, sealedKey: b64u.encode(sealedKey) };
      }),
    );
    const shared = await kept.next(owner, (draft) => {
      draft.members.push({ subject: friend.subject, role: 'read', keyId: friend.keys.keyId });
      for (const item of draft.items) item.keyIds.push(friend.keys.keyId);
    });
    const committed = await client.commit(kept, token, {
      manifest: shared,
      members: { add: [{ subject: friend.subject, role: 'read', publicKeys: friend.keys.publicKeys }] },
      reseals,
    });
    expect(committed.status).toBe(200);
    kept.manifest = shared;

    // Shredded: the same kinds of items, then the vault is shredded.
    const doomed = await client.createVault(owner);
    const doomedToken = await client.session(doomed.id, owner);
    const doomedSmall = new TextEncoder().encode(`doomed ${randomBytes(16).toString('hex')}`);
    const doomedLarge = randomBytes(24 * 1024);
    const shreddedItems = [
      await client.put(doomed, owner, doomedToken, doomedSmall, [owner]),
      await client.put(doomed, owner, doomedToken, doomedLarge, [owner]),
    ];
    expect((await client.member('DELETE', doomed.id, '', doomedToken)).status).toBe(204);

    // Read while the server runs (the WAL holds the recent commits) and again once it stopped and
    // checkpointed the WAL into the database file.
    const root = dataDir;
    const snapshot = () => filesUnder(root).map((path) => ({ path, bytes: readFileSync(path) }));
    const running = snapshot();
    expect(running.some(({ path }) => path.endsWith('persona.db-wal'))).toBe(true);
    await server.close({ keepData: true });
    server = undefined;
    const files = [...running, ...snapshot()];
    const anywhere = (needle: Buffer) => [
      ...new Set(files.filter(({ bytes }) => bytes.includes(needle)).map(({ path }) => path)),
    ];

    // The scan finds what is there: the kept vault's ciphertexts (the small one in the database, the
    // large one in a blob file).
    const [smallCiphertext, largeCiphertext] = [smallItem, largeItem].map(({ sealed }) =>
      Buffer.from(sealed.ciphertext),
    );
    expect(anywhere(smallCiphertext.subarray(0, 32)).length).toBeGreaterThan(0);
    const blobFiles = anywhere(largeCiphertext.subarray(1000, 1032));
    expect(blobFiles.length).toBe(1);
    expect(blobFiles[0]).toContain(join('blobs', 'vaults', tenant.projectId, kept.id, largeItem.itemId));

    // No plaintext, no secret of any member.
    for (const plaintext of [small, large, doomedSmall, doomedLarge]) {
      for (const window of windowsOf(plaintext)) expect(anywhere(window)).toEqual([]);
    }
    for (const secret of [...secretsOf(owner), ...secretsOf(friend)]) {
      for (const window of windowsOf(secret)) expect(anywhere(window)).toEqual([]);
    }
    // Nothing of the shredded vault's ciphertexts: no row, no blob.
    for (const { sealed } of shreddedItems) {
      expect(anywhere(Buffer.from(sealed.ciphertext).subarray(0, 32))).toEqual([]);
      for (const key of sealed.sealedKeys)
        expect(anywhere(Buffer.from(key.sealedKey).subarray(0, 64))).toEqual([]);
    }
    expect(files.some(({ path }) => path.includes(doomed.id))).toBe(false);

    const db = new SQLite(join(root, 'persona.db'), { readonly: true });
    try {
      const count = (table: string, vaultId: string) =>
        (db.prepare(`select count(*) as n from ${table} where vault_id = ?`).get(vaultId) as { n: number }).n;
      for (const table of ['vault_sealed_keys', 'vault_item_versions', 'vault_items', 'vault_sessions']) {
        expect(count(table, doomed.id), table).toBe(table === 'vault_sessions' ? 1 : 0);
      }
      expect(count('vault_manifests', doomed.id)).toBe(3);
      expect(db.prepare('select revoked_at from vault_sessions where vault_id = ?').get(doomed.id)).toEqual({
        revoked_at: expect.any(Number),
      });
      expect(count('vault_sealed_keys', kept.id)).toBe(4);
      // Session tokens are stored as hashes only.
      expect(anywhere(Buffer.from(token))).toEqual([]);
    } finally {
      db.close();
    }
  });
});

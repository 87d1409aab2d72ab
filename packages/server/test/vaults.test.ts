import { b64u, MemberKeys, newItemId, openItem, resealItemKey } from '@personachain/vaults';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';
import { type Member, newMember, text, VaultClient, wireWrite } from './vaults-helpers.js';

// Vault mechanics end to end: creation, member sessions, commits and their checks, reads, sharing,
// removal, deletion, shredding, tenancy and scopes. Access decisions: vaults-access.test.ts; what the
// database and the blob store hold: vaults-scan.test.ts.

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.each(engines)('vaults on %s', (engine) => {
  let server: TestServer;
  let tenant: Tenant;
  let other: Tenant;
  let client: VaultClient;

  beforeAll(async () => {
    server = await startTestServer({}, engine);
    tenant = await createTenant(server, `Vaults ${engine}`);
    other = await createTenant(server, `Other ${engine}`);
    client = new VaultClient(server, tenant);
  });
  afterAll(() => server?.close());

  async function readItem(vaultId: string, token: string, itemId: string, version?: number) {
    return client.member('GET', vaultId, `/items/${itemId}${version ? `/versions/${version}` : ''}`, token);
  }

  async function open(vaultId: string, body: any, member: Member) {
    return openItem({
      vaultId,
      itemId: body.itemId,
      version: body.version,
      ciphertext: b64u.decode(body.ciphertext),
      sealedKey: b64u.decode(body.sealedKey),
      member: member.keys,
    });
  }

  it('creates a vault from a genesis manifest the owner signed, once', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const got = await server.json('GET', client.path(`/${vault.id}`), { key: tenant.keys.auditor });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: vault.id,
      projectId: tenant.projectId,
      owner: owner.subject,
      label: 'test vault',
      status: 'active',
      manifest: { sequence: 0, hash: vault.hash },
      shreddedAt: null,
    });
    const listed = await server.json('GET', client.path('?limit=100'), { key: tenant.keys.auditor });
    expect(listed.body.data.map((v: any) => v.id)).toContain(vault.id);

    const again = await server.json('POST', client.path(), {
      key: tenant.keys.admin,
      body: {
        id: vault.id,
        owner: { subject: owner.subject, publicKeys: owner.keys.publicKeys },
        manifest: vault.manifest,
      },
    });
    expect(again.status).toBe(409);

    // A genesis manifest signed by someone else than its owner is refused, and so are keys that do not match.
    const intruder = await newMember();
    const forged = { ...vault.manifest, vaultId: 'vlt_0190aaaa0000700080000000000000aa' };
    const refused = await server.json('POST', client.path(), {
      key: tenant.keys.admin,
      body: {
        id: forged.vaultId,
        owner: { subject: owner.subject, publicKeys: intruder.keys.publicKeys },
        manifest: forged,
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe('urn:personachain:problem:invalid-manifest');
    const malformed = await server.json('POST', client.path(), {
      key: tenant.keys.admin,
      body: {
        id: forged.vaultId,
        owner: { subject: owner.subject, publicKeys: owner.keys.publicKeys },
        manifest: { ...forged, members: [] },
      },
    });
    expect(malformed.status).toBe(422);
  });

  it('opens member sessions only for a fresh, valid proof of possession', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);

    const good = await client.proof(vault.id, owner);
    const opened = await client.openSessionRaw(vault.id, good);
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ subject: owner.subject, role: 'admin' });
    expect(opened.body.token).toMatch(/^vms_[A-Za-z0-9_-]{43}$/);
    expect(opened.body.id).toMatch(/^vss_[0-9a-f]{32}$/);

    // The same proof again: its nonce was used.
    const replayed = await client.openSessionRaw(vault.id, good);
    expect(replayed.status).toBe(401);
    expect(replayed.body.detail).toMatch(/nonce/);

    // A signature by other keys, a signature over other bytes, a malformed signature.
    const stranger = await newMember();
    const byStranger = await client.proof(vault.id, { subject: owner.subject, keys: stranger.keys });
    const wrongKeys = await client.openSessionRaw(vault.id, { ...byStranger, keyId: owner.keys.keyId });
    expect(wrongKeys.status).toBe(401);
    const otherVault = await client.proof('vlt_0190aaaa0000700080000000000000ab', owner);
    const wrongBytes = await client.openSessionRaw(vault.id, otherVault);
    expect(wrongBytes.status).toBe(401);
    const fresh = await client.proof(vault.id, owner);
    const garbled = await client.openSessionRaw(vault.id, {
      ...fresh,
      signature: { ...fresh.signature, ed25519: fresh.signature.mlDsa65.slice(0, 86) },
    });
    expect(garbled.status).toBe(401);

    // Stale or future issuedAt, a non-member, a nonce too short.
    const stale = await client.proof(vault.id, owner, {
      issuedAt: new Date(Date.now() - 6 * 60_000).toISOString(),
    });
    expect((await client.openSessionRaw(vault.id, stale)).status).toBe(401);
    const future = await client.proof(vault.id, owner, {
      issuedAt: new Date(Date.now() + 6 * 60_000).toISOString(),
    });
    expect((await client.openSessionRaw(vault.id, future)).status).toBe(401);
    expect((await client.openSessionRaw(vault.id, await client.proof(vault.id, stranger))).status).toBe(401);
    const shortNonce = await client.proof(vault.id, owner, { nonce: b64u.encode(new Uint8Array(8)) });
    expect((await client.openSessionRaw(vault.id, shortNonce)).status).toBe(400);

    // Without a session, with a garbled one, and after the member ended it: session-required.
    const token = opened.body.token as string;
    const bare = await server.json('GET', client.path(`/${vault.id}/items`), { key: tenant.keys.developer });
    expect(bare.status).toBe(401);
    expect(bare.body.type).toBe('urn:personachain:problem:session-required');
    expect((await client.member('GET', vault.id, '/items', 'vms_nonsense')).status).toBe(401);
    expect((await client.member('GET', vault.id, '/items', token)).status).toBe(200);
    expect((await client.member('DELETE', vault.id, '/sessions/current', token)).status).toBe(204);
    const ended = await client.member('GET', vault.id, '/items', token);
    expect(ended.status).toBe(401);
    expect(ended.body.type).toBe('urn:personachain:problem:session-required');

    // A session works for its own vault only.
    const second = await client.createVault(owner);
    const secondToken = await client.session(second.id, owner);
    expect((await client.member('GET', vault.id, '/items', secondToken)).status).toBe(401);
  });

  it('commits items and reads them back, current and by version', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const { itemId } = await client.put(vault, owner, token, text('first secret'), [owner]);
    await client.put(vault, owner, token, text('second secret'), [owner], itemId);

    const current = await readItem(vault.id, token, itemId);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({
      itemId,
      version: 2,
      contentHash: vault.manifest.items[0]?.contentHash,
      createdBy: owner.subject,
      manifest: { sequence: 2, hash: vault.hash },
      access: { outcome: 'allow' },
    });
    expect(current.body.access.id).toMatch(/^vac_[0-9a-f]{32}$/);
    expect(new TextDecoder().decode(await open(vault.id, current.body, owner))).toBe('second secret');
    const first = await readItem(vault.id, token, itemId, 1);
    expect(new TextDecoder().decode(await open(vault.id, first.body, owner))).toBe('first secret');
    expect((await readItem(vault.id, token, itemId, 3)).status).toBe(404);
    expect((await readItem(vault.id, token, newItemId())).status).toBe(404);

    const versions = await client.member('GET', vault.id, `/items/${itemId}/versions?limit=1`, token);
    expect(versions.status).toBe(200);
    expect(versions.body.data).toEqual([
      expect.objectContaining({ version: 1, createdBy: owner.subject, size: expect.any(Number) }),
    ]);
    const rest = await client.member(
      'GET',
      vault.id,
      `/items/${itemId}/versions?cursor=${versions.body.nextCursor}`,
      token,
    );
    expect(rest.body.data.map((v: any) => v.version)).toEqual([2]);
    expect(rest.body.nextCursor).toBeNull();

    const items = await client.member('GET', vault.id, '/items', token);
    expect(items.body).toMatchObject({
      data: [{ itemId, version: 2, contentHash: current.body.contentHash }],
      nextCursor: null,
      manifest: { sequence: 2, hash: vault.hash },
      access: { outcome: 'allow' },
    });

    const manifest = await client.member('GET', vault.id, '/manifests/current', token);
    expect(manifest.body).toEqual(vault.manifest);
    const chain = await client.member('GET', vault.id, '/manifests?after=0', token);
    expect(chain.body.data.map((m: any) => m.sequence)).toEqual([1, 2]);
    expect(chain.body.keys).toEqual({ [owner.keys.keyId]: owner.keys.publicKeys });
    const members = await client.member('GET', vault.id, '/members', token);
    expect(members.body.data).toEqual([
      {
        subject: owner.subject,
        role: 'admin',
        keyId: owner.keys.keyId,
        publicKeys: owner.keys.publicKeys,
        addedAt: expect.any(String),
      },
    ]);
  });

  it('refuses a commit built on a stale manifest with 409', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const stale = vault.manifest;
    await client.put(vault, owner, token, text('one'), [owner]);
    const itemId = newItemId();
    const sealed = await client.seal(vault, itemId, 1, text('two'), [owner]);
    const current = vault.manifest;
    vault.manifest = stale;
    const manifest = await vault.next(owner, (draft) => {
      draft.items.push({
        id: itemId,
        version: 1,
        contentHash: sealed.contentHash,
        keyIds: [owner.keys.keyId],
      });
    });
    vault.manifest = current;
    const refused = await client.commit(vault, token, { manifest, writes: [wireWrite(sealed)] });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('urn:personachain:problem:manifest-conflict');
    expect(refused.body.current).toEqual({ sequence: 1, hash: vault.hash });
  });

  it('lets exactly one of concurrent commits on the same manifest through; the others store nothing', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const attempts = await Promise.all(
      [0, 1, 2, 3].map((i) => client.prepareWrite(vault, owner, text(`racer ${i}`), [owner])),
    );
    const answers = await Promise.all(attempts.map((attempt) => client.commit(vault, token, attempt.body)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409]);
    const winner = attempts[answers.findIndex((answer) => answer.status === 200)];
    vault.manifest = winner?.manifest as typeof vault.manifest;
    const items = await client.member('GET', vault.id, '/items', token);
    expect(items.body.data.map((item: any) => item.itemId)).toEqual([winner?.itemId]);
    expect(items.body.manifest).toEqual({ sequence: 1, hash: vault.hash });
    // The next commit builds on the winner.
    await client.put(vault, owner, token, text('after the race'), [owner]);
  });

  it('refuses with 422 a manifest that does not describe the commit, or is not validly signed', async () => {
    const owner = await newMember();
    const reader = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    // The reader joins with role read.
    const joined = await vault.next(owner, (draft) => {
      draft.members.push({ subject: reader.subject, role: 'read', keyId: reader.keys.keyId });
    });
    const added = await client.commit(vault, token, {
      manifest: joined,
      members: { add: [{ subject: reader.subject, role: 'read', publicKeys: reader.keys.publicKeys }] },
    });
    expect(added.status).toBe(200);
    vault.manifest = joined;
    const { itemId } = await client.put(vault, owner, token, text('kept'), [owner]);

    const write = async (plaintext: string) => {
      const id = newItemId();
      const sealed = await client.seal(vault, id, 1, text(plaintext), [owner]);
      const entry = { id, version: 1, contentHash: sealed.contentHash, keyIds: [owner.keys.keyId] };
      return { id, sealed, entry };
    };
    const refuse = async (manifest: unknown, body: Record<string, unknown>, pattern: RegExp, as = token) => {
      const refused = await client.commit(vault, as, { manifest, ...body });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.type).toBe('urn:personachain:problem:invalid-manifest');
      expect(refused.body.detail).toMatch(pattern);
    };

    const a = await write('a');
    // The listed hash is not the ciphertext's.
    const other = await write('b');
    await refuse(
      await vault.next(owner, (d) => d.items.push({ ...a.entry, contentHash: other.sealed.contentHash })),
      { writes: [wireWrite(a.sealed)] },
      /contentHash/,
    );
    // The manifest drops an item the vault has.
    await refuse(
      await vault.next(owner, (d) => {
        d.items = d.items.filter((item) => item.id !== itemId);
        d.items.push(a.entry);
      }),
      { writes: [wireWrite(a.sealed)] },
      new RegExp(`item ${itemId} is missing`),
    );
    // The manifest adds a member the commit does not.
    const stranger = await newMember();
    await refuse(
      await vault.next(owner, (d) => {
        d.items.push(a.entry);
        d.members.push({ subject: stranger.subject, role: 'admin', keyId: stranger.keys.keyId });
      }),
      { writes: [wireWrite(a.sealed)] },
      new RegExp(`${stranger.subject} is no member`),
    );
    // A signature that does not verify.
    const signed = await vault.next(owner, (d) => d.items.push(a.entry));
    const tampered = {
      ...signed,
      signature: { ...signed.signature, ed25519: b64u.encode(new Uint8Array(64)) },
    };
    await refuse(tampered, { writes: [wireWrite(a.sealed)] }, /invalid signature/);
    // A reader signs a write with its own session.
    const readerToken = await client.session(vault.id, reader);
    await refuse(
      await vault.next(reader, (d) => d.items.push(a.entry)),
      { writes: [wireWrite(a.sealed)] },
      /not a writer or admin/,
      readerToken,
    );
    // Nothing of all that was stored.
    const listed = await client.member('GET', vault.id, '/items', token);
    expect(listed.body.data.map((item: any) => item.itemId)).toEqual([itemId]);
    expect(listed.body.manifest.hash).toBe(vault.hash);
  });

  it('shares by resealing: a new member reads what was sealed before it joined', async () => {
    const owner = await newMember();
    const friend = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const { itemId } = await client.put(vault, owner, token, text('shared secret'), [owner]);
    const mine = await readItem(vault.id, token, itemId);
    const sealedKey = await resealItemKey({
      vaultId: vault.id,
      itemId,
      version: 1,
      sealedKey: b64u.decode(mine.body.sealedKey),
      member: owner.keys,
      recipient: { keyId: friend.keys.keyId, keys: friend.keys.publicKeys },
    });
    const manifest = await vault.next(owner, (draft) => {
      draft.members.push({ subject: friend.subject, role: 'write', keyId: friend.keys.keyId });
      (draft.items[0] as { keyIds: string[] }).keyIds.push(friend.keys.keyId);
    });
    const shared = await client.commit(vault, token, {
      manifest,
      members: { add: [{ subject: friend.subject, role: 'write', publicKeys: friend.keys.publicKeys }] },
      reseals: [{ itemId, version: 1, keyId: friend.keys.keyId, sealedKey: b64u.encode(sealedKey) }],
    });
    expect(shared.status, JSON.stringify(shared.body)).toBe(200);
    expect(shared.body).toMatchObject({
      sequence: 2,
      manifestHash: expect.any(String),
      access: { outcome: 'allow' },
    });
    vault.manifest = manifest;
    expect(shared.body.manifestHash).toBe(vault.hash);

    const friendToken = await client.session(vault.id, friend);
    const read = await readItem(vault.id, friendToken, itemId);
    expect(read.status).toBe(200);
    expect(new TextDecoder().decode(await open(vault.id, read.body, friend))).toBe('shared secret');
  });

  it('removes a member: its sessions end, its keys are gone and new versions are not sealed to it', async () => {
    const owner = await newMember();
    const leaver = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const joined = await vault.next(owner, (draft) => {
      draft.members.push({ subject: leaver.subject, role: 'write', keyId: leaver.keys.keyId });
    });
    await client.commit(vault, token, {
      manifest: joined,
      members: { add: [{ subject: leaver.subject, role: 'write', publicKeys: leaver.keys.publicKeys }] },
    });
    vault.manifest = joined;
    const { itemId } = await client.put(vault, owner, token, text('before removal'), [owner, leaver]);
    const leaverToken = await client.session(vault.id, leaver);
    expect((await readItem(vault.id, leaverToken, itemId)).status).toBe(200);

    // The removal must drop the leaver's key from the item too; a manifest that keeps it is refused.
    const keeping = await vault.next(owner, (draft) => {
      draft.members = draft.members.filter((member) => member.subject !== leaver.subject);
    });
    expect(
      (await client.commit(vault, token, { manifest: keeping, members: { remove: [leaver.subject] } }))
        .status,
    ).toBe(400);
    const removal = await vault.next(owner, (draft) => {
      draft.members = draft.members.filter((member) => member.subject !== leaver.subject);
      for (const item of draft.items)
        item.keyIds = item.keyIds.filter((keyId) => keyId !== leaver.keys.keyId);
    });
    const removed = await client.commit(vault, token, {
      manifest: removal,
      members: { remove: [leaver.subject] },
    });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    vault.manifest = removal;

    const ended = await readItem(vault.id, leaverToken, itemId);
    expect(ended.status).toBe(401);
    expect(ended.body.type).toBe('urn:personachain:problem:session-required');
    expect((await client.openSessionRaw(vault.id, await client.proof(vault.id, leaver))).status).toBe(401);

    // Sealing a new version to the former member is refused; the owner's new version is for the owner only.
    const sealed = await client.seal(vault, itemId, 2, text('after removal'), [owner, leaver]);
    const toLeaver = await vault.next(owner, (draft) => {
      draft.items = [{ id: itemId, version: 2, contentHash: sealed.contentHash, keyIds: [owner.keys.keyId] }];
    });
    const refused = await client.commit(vault, token, { manifest: toLeaver, writes: [wireWrite(sealed)] });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].pointer).toBe('#/writes/0/sealedKeys/1/keyId');
    await client.put(vault, owner, token, text('after removal'), [owner], itemId);
    expect(vault.manifest.items[0]?.keyIds).toEqual([owner.keys.keyId]);
  });

  it('deletes an item with all its versions', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const { itemId } = await client.put(vault, owner, token, text('to be deleted'), [owner]);
    await client.put(vault, owner, token, text('to be deleted, v2'), [owner], itemId);
    const manifest = await vault.next(owner, (draft) => {
      draft.items = draft.items.filter((item) => item.id !== itemId);
    });
    const deleted = await client.commit(vault, token, { manifest, deletes: [itemId] });
    expect(deleted.status).toBe(200);
    expect(deleted.body.access.outcome).toBe('allow');
    vault.manifest = manifest;
    expect((await readItem(vault.id, token, itemId)).status).toBe(404);
    expect((await readItem(vault.id, token, itemId, 1)).status).toBe(404);
    expect((await client.member('GET', vault.id, `/items/${itemId}/versions`, token)).status).toBe(404);
    expect((await client.member('GET', vault.id, '/items', token)).body.data).toEqual([]);
    // A new item may reuse nothing of the old one: deleting again is a bad request.
    const again = await client.commit(vault, token, {
      manifest: await vault.next(owner, () => {}),
      deletes: [itemId],
    });
    expect(again.status).toBe(400);
  });

  it('shreds a vault: 410 for its members, its metadata kept, audited', async () => {
    const owner = await newMember();
    const writer = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const joined = await vault.next(owner, (draft) => {
      draft.members.push({ subject: writer.subject, role: 'write', keyId: writer.keys.keyId });
    });
    await client.commit(vault, token, {
      manifest: joined,
      members: { add: [{ subject: writer.subject, role: 'write', publicKeys: writer.keys.publicKeys }] },
    });
    vault.manifest = joined;
    const { itemId } = await client.put(vault, owner, token, text('shred me'), [owner, writer]);

    // A writer may delete items but not shred the vault.
    const writerToken = await client.session(vault.id, writer);
    const notAdmin = await client.member('DELETE', vault.id, '', writerToken);
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.type).toBe('urn:personachain:problem:access-denied');

    expect((await client.member('DELETE', vault.id, '', token)).status).toBe(204);
    const gone = await readItem(vault.id, token, itemId);
    expect(gone.status).toBe(410);
    expect(gone.body.type).toBe('urn:personachain:problem:vault-shredded');
    expect((await client.openSessionRaw(vault.id, await client.proof(vault.id, owner))).status).toBe(410);
    const got = await server.json('GET', client.path(`/${vault.id}`), { key: tenant.keys.auditor });
    expect(got.body).toMatchObject({ status: 'shredded', manifest: { sequence: 2, hash: vault.hash } });
    expect(got.body.shreddedAt).toEqual(expect.any(String));
    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.auditor,
    });
    const shredded = audit.body.data.filter((entry: any) => entry.type === 'vault.shredded');
    expect(shredded).toEqual([expect.objectContaining({ subject: vault.id })]);
  });

  it("answers 404 to another project's key on every vault route", async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const { itemId } = await client.put(vault, owner, token, text('private'), [owner]);
    const stranger = new VaultClient(server, other, other.keys.owner);
    const routes: [string, string, unknown?][] = [
      ['GET', ''],
      ['DELETE', ''],
      ['GET', '/trust-template'],
      ['PUT', '/trust-template', {}],
      ['POST', '/sessions', await client.proof(vault.id, owner)],
      [
        'POST',
        '/sessions/current/step-up',
        { authentication: { methods: ['mfa'], authenticatedAt: new Date().toISOString() } },
      ],
      ['DELETE', '/sessions/current'],
      ['POST', '/commits', { manifest: await vault.next(owner, () => {}), deletes: [itemId] }],
      ['GET', '/items'],
      ['GET', `/items/${itemId}`],
      ['GET', `/items/${itemId}/versions`],
      ['GET', `/items/${itemId}/versions/1`],
      ['GET', '/manifests/current'],
      ['GET', '/manifests'],
      ['GET', '/members'],
      ['GET', '/access-log'],
    ];
    for (const [method, suffix, body] of routes) {
      // Their own project id with our vault, and our project id with their key.
      const theirs = await server.json(method, stranger.path(`/${vault.id}${suffix}`), {
        key: other.keys.owner,
        body,
        headers: { 'persona-vault-session': token },
      });
      expect(theirs.status, `${method} ${suffix}`).toBe(404);
      const ours = await server.json(method, client.path(`/${vault.id}${suffix}`), {
        key: other.keys.owner,
        body,
        headers: { 'persona-vault-session': token },
      });
      expect(ours.status, `${method} ${suffix} (our project)`).toBe(404);
    }
    // Still all there.
    expect((await readItem(vault.id, token, itemId)).status).toBe(200);
  });

  it('applies API key scopes: viewers read nothing, auditors read metadata, developers act for members', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const forbidden = async (method: string, path: string, key: string, body?: unknown) => {
      const answer = await server.json(method, path, {
        key,
        body,
        headers: { 'persona-vault-session': token },
      });
      expect(answer.status, `${method} ${path}`).toBe(403);
    };
    await forbidden('GET', client.path(`/${vault.id}`), tenant.keys.viewer);
    await forbidden(
      'POST',
      client.path(`/${vault.id}/sessions`),
      tenant.keys.viewer,
      await client.proof(vault.id, owner),
    );
    await forbidden(
      'POST',
      client.path(`/${vault.id}/sessions`),
      tenant.keys.auditor,
      await client.proof(vault.id, owner),
    );
    await forbidden('GET', client.path(`/${vault.id}/items`), tenant.keys.auditor);
    await forbidden('POST', client.path(`/${vault.id}/commits`), tenant.keys.reviewer, {
      manifest: await vault.next(owner, () => {}),
      deletes: [],
    });
    await forbidden('PUT', client.path(`/${vault.id}/trust-template`), tenant.keys.developer, {});
    expect(
      (await server.json('GET', client.path(`/${vault.id}/access-log`), { key: tenant.keys.auditor })).status,
    ).toBe(200);
    expect((await client.member('GET', vault.id, '/items', token)).status).toBe(200);
  });

  it('keeps trust templates per vault, as JSON or YAML, admins only', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner, null);
    const path = client.path(`/${vault.id}/trust-template`);
    const initial = await server.json('GET', path, { key: tenant.keys.auditor });
    expect(initial.body.velocity).toEqual({ perMinute: 30, perHour: 600 });
    const yaml = await server.json('PUT', path, {
      key: tenant.keys.admin,
      rawBody: 'velocity:\n  perMinute: 10\n  perHour: 100\n',
      headers: { 'content-type': 'application/yaml' },
    });
    expect(yaml.status).toBe(200);
    expect(yaml.body.velocity).toEqual({ perMinute: 10, perHour: 100 });
    expect(yaml.body.rule).toEqual(initial.body.rule);
    const json = await server.json('PUT', path, {
      key: tenant.keys.admin,
      body: { velocity: { perMinute: 5 } },
    });
    expect(json.body.velocity).toEqual({ perMinute: 5, perHour: 600 });
    const bad = await server.json('PUT', path, {
      key: tenant.keys.admin,
      body: { velocity: { perMinute: 'fast' } },
    });
    expect(bad.status).toBe(400);
    expect((await server.json('GET', path, { key: tenant.keys.auditor })).body.velocity.perMinute).toBe(5);
    // A template at creation takes the admin right too.
    const developerMade = await server.json('POST', client.path(), {
      key: tenant.keys.developer,
      body: {
        id: 'vlt_0190aaaa0000700080000000000000ac',
        owner: { subject: owner.subject, publicKeys: owner.keys.publicKeys },
        manifest: vault.manifest,
        template: {},
      },
    });
    expect(developerMade.status).toBe(403);
    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.auditor,
    });
    expect(
      audit.body.data.filter((e: any) => e.type === 'vault.template_updated' && e.subject === vault.id),
    ).toHaveLength(2);
  });

  it('registers member devices; a session from one counts as a registered device', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const devices = `/v1/projects/${tenant.projectId}/vault-devices`;
    const registered = await server.json('POST', devices, {
      key: tenant.keys.developer,
      body: { subject: owner.subject, fingerprintHash: 'fp-hash-laptop', label: 'Laptop' },
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ subject: owner.subject, label: 'Laptop' });
    const twice = await server.json('POST', devices, {
      key: tenant.keys.developer,
      body: { subject: owner.subject, fingerprintHash: 'fp-hash-laptop' },
    });
    expect(twice.status).toBe(409);
    const listed = await server.json('GET', `${devices}?subject=${owner.subject}`, {
      key: tenant.keys.auditor,
    });
    expect(listed.body.data).toEqual([registered.body]);
    expect((await server.json('GET', devices, { key: other.keys.owner })).status).toBe(404);

    const known = await client.session(vault.id, owner, {
      deviceFingerprint: 'fp-hash-laptop',
      authentication: { methods: ['pwd'], authenticatedAt: new Date().toISOString() },
    });
    const unknown = await client.session(vault.id, owner, {
      deviceFingerprint: 'fp-hash-phone',
      authentication: { methods: ['pwd'], authenticatedAt: new Date().toISOString() },
    });
    const device = (access: any) => access.contributions.find((c: any) => c.signal === 'device');
    const fromKnown = await client.member('GET', vault.id, '/items', known);
    expect(device(fromKnown.body.access).detail).toMatch(/registered device/);
    const fromUnknown = await client.member('GET', vault.id, '/items', unknown);
    expect(device(fromUnknown.body.access).detail).toMatch(/not registered/);

    expect(
      (await server.call('DELETE', `${devices}/${registered.body.id}`, { key: tenant.keys.developer }))
        .status,
    ).toBe(204);
    const afterDelete = await client.member('GET', vault.id, '/items', known);
    expect(device(afterDelete.body.access).detail).toMatch(/not registered/);
    expect(
      (await server.call('DELETE', `${devices}/${registered.body.id}`, { key: tenant.keys.developer }))
        .status,
    ).toBe(404);
  });

  it('keeps member keys self-certifying: keys that do not hash to a member id are refused', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner);
    const token = await client.session(vault.id, owner);
    const newcomer = await newMember();
    const impostor = await MemberKeys.generate();
    const manifest = await vault.next(owner, (draft) => {
      draft.members.push({ subject: newcomer.subject, role: 'read', keyId: newcomer.keys.keyId });
    });
    // The manifest names the newcomer's key id, the commit hands in other keys.
    const refused = await client.commit(vault, token, {
      manifest,
      members: { add: [{ subject: newcomer.subject, role: 'read', publicKeys: impostor.publicKeys }] },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/has key/);
  });
});

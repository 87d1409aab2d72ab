import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  b64u,
  MemberKeys,
  manifestHash,
  openItem,
  type SignedManifest,
  signManifest,
  VaultIntegrityError,
} from '@personachain/vaults';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileVaultStateStore,
  PersonaApiError,
  VaultAccessError,
  VaultClient,
  type VaultIntegrityCode,
} from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './server.js';

/**
 * A trust template that decides on authentication alone, so that the tests do not depend on the clock,
 * the network or the number of accesses: 80 + 15 with MFA (allowed), 80 - 10 without (still allowed).
 */
const OPEN_TEMPLATE = {
  signals: {
    base: 80,
    device: { noFingerprint: 0 },
    hours: { business: 0, off: 0 },
    country: { unknown: 0 },
  },
  velocity: { perMinute: 1_000_000, perHour: 1_000_000 },
  evaluators: { watchdog: { offHoursActions: [] } },
};
/**
 * The same from a base of 55: 45 without MFA (denied), 70 with fresh MFA (allowed): a step-up case. The
 * refusal counts as a recent denial (-5), so the access after the step-up scores 65.
 */

const STEP_UP_TEMPLATE = { ...OPEN_TEMPLATE, signals: { ...OPEN_TEMPLATE.signals, base: 55 } };

interface Member {
  subject: string;
  keys: MemberKeys;
}

async function newMember(): Promise<Member> {
  return { subject: `usr_${randomBytes(16).toString('hex')}`, keys: await MemberKeys.generate() };
}

const authenticated = (methods: string[]) => ({
  authentication: { methods, authenticatedAt: new Date().toISOString() },
});

type Rewrite = (request: { method: string; url: URL }, body: any) => unknown;

/**
 * A fetch that plays a malicious server: `rewrite` sees each JSON answer (the request's method and URL,
 * the parsed body) and may return another body to send instead.
 */
function tamperingFetch() {
  const state: { rewrite: Rewrite | null; sessions: string[] } = { rewrite: null, sessions: [] };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const session = request.headers.get('persona-vault-session');
    if (session) state.sessions.push(session);
    const response = await globalThis.fetch(request);
    const rewrite = state.rewrite;
    if (!rewrite || !response.headers.get('content-type')?.includes('json')) return response;
    const body = await response.json();
    const replaced = rewrite({ method: request.method, url: new URL(request.url) }, body) ?? body;
    return new Response(JSON.stringify(replaced), {
      status: response.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return Object.assign(state, { fetch: fetch as typeof globalThis.fetch });
}

/** The members with `member` added, sorted as a manifest lists them. */
function withMember(members: SignedManifest['members'], member: Member, role: 'read' | 'admin') {
  return [...members, { subject: member.subject, role, keyId: member.keys.keyId }].sort((x, y) =>
    x.subject < y.subject ? -1 : 1,
  );
}

async function integrityCode(promise: Promise<unknown>): Promise<VaultIntegrityCode> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultIntegrityError);
  return (error as VaultIntegrityError).code;
}

let server: TestServer;
let projectId: string;

beforeAll(async () => {
  server = await startTestServer();
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { id: string };
  };
  const org = await post('/v1/organizations', { name: 'SDK vaults' });
  projectId = (await post(`/v1/organizations/${org.id}/projects`, { name: 'memory' })).id;
});
afterAll(() => server?.close());

function connection(fetch?: typeof globalThis.fetch) {
  return { baseUrl: server.url, apiKey: ADMIN_KEY, projectId, ...(fetch ? { fetch } : {}) };
}

async function createVault(
  owner: Member,
  options: { fetch?: typeof globalThis.fetch; template?: object } = {},
) {
  return VaultClient.create({
    ...connection(options.fetch),
    member: owner,
    context: authenticated(['pwd', 'mfa']),
    template: { ...(options.template ?? OPEN_TEMPLATE) },
  });
}

describe('VaultClient: items', () => {
  it('puts, gets, lists, versions and deletes items, encrypted in the client', async () => {
    const owner = await newMember();
    const vault = await createVault(owner);
    expect(vault.head.sequence).toBe(0);

    const note = await vault.putOne('first draft');
    expect(note).toMatchObject({ sequence: 1, version: 1, access: { outcome: 'allow' } });
    const batch = await vault.put([
      { data: JSON.stringify({ pin: 1234 }) },
      { data: new Uint8Array([0, 1, 2, 255]) },
    ]);
    expect(batch.sequence).toBe(2);
    const [json, bytes] = batch.items as [{ itemId: string }, { itemId: string }];
    await vault.putOne('second draft', { itemId: note.itemId });

    expect(await vault.getText(note.itemId)).toBe('second draft');
    expect(await vault.getText(note.itemId, { version: 1 })).toBe('first draft');
    expect(await vault.getJson(json.itemId)).toEqual({ pin: 1234 });
    expect(await vault.get(bytes.itemId)).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect((await vault.versions(note.itemId)).map((entry) => entry.version)).toEqual([1, 2]);
    const listed = await vault.list();
    expect(listed.map((item) => item.itemId).sort()).toEqual([note.itemId, json.itemId, bytes.itemId].sort());
    expect(listed.find((item) => item.itemId === note.itemId)?.version).toBe(2);

    const deleted = await vault.delete([json.itemId]);
    expect(deleted.sequence).toBe(4);
    expect((await vault.list()).map((item) => item.itemId)).not.toContain(json.itemId);
    await expect(vault.get(json.itemId)).rejects.toMatchObject({ status: 404 });
    expect(vault.manifest.items.map((item) => item.id)).not.toContain(json.itemId);
  });

  it('folds concurrent puts into one commit', async () => {
    const vault = await createVault(await newMember());
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => vault.putOne(`note ${i}`)));
    // The first put leaves at once; the 19 queued behind it share the next commit.
    expect(new Set(results.map((result) => result.sequence))).toEqual(new Set([1, 2]));
    expect(await vault.getText((results[7] as { itemId: string }).itemId)).toBe('note 7');
    expect(vault.manifest.items).toHaveLength(20);
  });

  it('opens an existing vault from a file store, verifying the chain once, and pins the owner key', async () => {
    const owner = await newMember();
    const directory = await mkdtemp(join(tmpdir(), 'persona-vault-state-'));
    try {
      const store = new FileVaultStateStore(directory);
      const created = await VaultClient.create({
        ...connection(),
        member: owner,
        context: authenticated(['pwd', 'mfa']),
        template: OPEN_TEMPLATE,
        store,
      });
      const { itemId } = await created.putOne('kept');
      const reopened = await VaultClient.open({
        ...connection(),
        vaultId: created.vaultId,
        member: owner,
        context: authenticated(['pwd', 'mfa']),
        store: new FileVaultStateStore(directory),
      });
      expect(reopened.head).toEqual(created.head);
      expect(await reopened.getText(itemId)).toBe('kept');

      const stranger = await newMember();
      expect(
        await integrityCode(
          VaultClient.open({
            ...connection(),
            vaultId: created.vaultId,
            member: owner,
            context: authenticated(['pwd', 'mfa']),
            store,
            ownerKeyId: stranger.keys.keyId,
          }),
        ),
      ).toBe('owner-changed');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('renews its session when the server no longer knows it', async () => {
    const tamper = tamperingFetch();
    const vault = await createVault(await newMember(), { fetch: tamper.fetch });
    const { itemId } = await vault.putOne('still here');
    const token = tamper.sessions.at(-1) as string;
    const ended = await fetch(
      `${server.url}/v1/projects/${projectId}/vaults/${vault.vaultId}/sessions/current`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'persona-vault-session': token },
      },
    );
    expect(ended.status).toBe(204);
    expect(await vault.getText(itemId)).toBe('still here');
    expect(tamper.sessions.at(-1)).not.toBe(token);
  });

  it('shreds the vault', async () => {
    const vault = await createVault(await newMember());
    const { itemId } = await vault.putOne('gone soon');
    await vault.shred();
    expect(await vault.vault()).toMatchObject({ status: 'shredded' });
    await expect(vault.get(itemId)).rejects.toMatchObject({ status: 410 });
  });
});

describe('VaultClient: members', () => {
  it('a member added later reads the items written before and after', async () => {
    const owner = await newMember();
    const bob = await newMember();
    const vault = await createVault(owner);
    const before = await vault.putOne('written before bob');
    await vault.addMember({ subject: bob.subject, role: 'write', publicKeys: bob.keys.publicKeys });
    const after = await vault.putOne('written after bob');

    const asBob = await VaultClient.open({
      ...connection(),
      vaultId: vault.vaultId,
      member: bob,
      context: authenticated(['pwd', 'mfa']),
      ownerKeyId: owner.keys.keyId,
    });
    expect(await asBob.getText(before.itemId)).toBe('written before bob');
    expect(await asBob.getText(after.itemId)).toBe('written after bob');
    const fromBob = await asBob.putOne('written by bob');
    // The owner's client still builds on the manifest before bob's: refused, it catches up and retries.
    const next = await vault.putOne('written after bob wrote', { itemId: fromBob.itemId });
    expect(next).toMatchObject({ sequence: fromBob.sequence + 1, version: 2 });
    expect(await vault.getText(fromBob.itemId, { version: 1 })).toBe('written by bob');
    expect(await asBob.getText(fromBob.itemId)).toBe('written after bob wrote');
    await vault.changeRole(bob.subject, 'read');
    expect(vault.manifest.members.find((member) => member.subject === bob.subject)?.role).toBe('read');
  });

  it('a removed member cannot read new versions, not even with the sealed keys it held', async () => {
    const owner = await newMember();
    const eve = await newMember();
    const vault = await createVault(owner);
    const { itemId } = await vault.putOne('before the removal');
    await vault.addMember({ subject: eve.subject, role: 'read', publicKeys: eve.keys.publicKeys });

    const eveFetch = tamperingFetch();
    const kept: { sealedKey?: string } = {};
    eveFetch.rewrite = (_request, body) => {
      if (body?.sealedKey) kept.sealedKey = body.sealedKey;
    };
    const asEve = await VaultClient.open({
      ...connection(eveFetch.fetch),
      vaultId: vault.vaultId,
      member: eve,
      context: authenticated(['pwd', 'mfa']),
    });
    expect(await asEve.getText(itemId)).toBe('before the removal');

    const removal = await vault.removeMember(eve.subject);
    expect(removal.reencrypted).toBe(1);
    const current = vault.manifest.items.find((item) => item.id === itemId);
    expect(current?.version).toBe(2);
    expect(current?.keyIds).toEqual([owner.keys.keyId]);
    expect(await vault.getText(itemId)).toBe('before the removal');

    // The server refuses her (her session ended, and no new one opens)…
    await expect(asEve.get(itemId)).rejects.toMatchObject({ status: 401 });
    // …and the data key she held opens neither the new version nor passes for it.
    const ownerFetch = tamperingFetch();
    const ciphertext: { value?: string } = {};
    ownerFetch.rewrite = (_request, body) => {
      if (body?.ciphertext) ciphertext.value = body.ciphertext;
    };
    const asOwner = await VaultClient.open({
      ...connection(ownerFetch.fetch),
      vaultId: vault.vaultId,
      member: owner,
      context: authenticated(['pwd', 'mfa']),
    });
    await asOwner.get(itemId);
    for (const version of [1, 2]) {
      await expect(
        openItem({
          vaultId: vault.vaultId,
          itemId,
          version,
          ciphertext: b64u.decode(ciphertext.value as string),
          sealedKey: b64u.decode(kept.sealedKey as string),
          member: eve.keys,
        }),
      ).rejects.toMatchObject({ code: 'decryption-failed' });
    }
  });
});

describe('VaultClient against a malicious server', () => {
  it('detects a rolled-back manifest, also across restarts', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'persona-vault-state-'));
    try {
      const owner = await newMember();
      const tamper = tamperingFetch();
      const vault = await VaultClient.create({
        ...connection(tamper.fetch),
        member: owner,
        context: authenticated(['pwd', 'mfa']),
        template: OPEN_TEMPLATE,
        store: new FileVaultStateStore(directory),
      });
      const { itemId } = await vault.putOne('version 1');
      let old: unknown;
      tamper.rewrite = (_request, body) => {
        old ??= body;
      };
      await vault.get(itemId);
      tamper.rewrite = null;
      await vault.putOne('version 2', { itemId });
      // The server replays its earlier answer: the item as it was, under the manifest of that time.
      tamper.rewrite = ({ url }) => (url.pathname.endsWith(itemId) ? old : undefined);
      expect(await integrityCode(vault.get(itemId))).toBe('rollback');
      // A client started later from the same state is not fooled either.
      const restarted = await VaultClient.open({
        ...connection(tamper.fetch),
        vaultId: vault.vaultId,
        member: owner,
        context: authenticated(['pwd', 'mfa']),
        store: new FileVaultStateStore(directory),
      });
      expect(await integrityCode(restarted.get(itemId))).toBe('rollback');
      tamper.rewrite = null;
      expect(await restarted.getText(itemId)).toBe('version 2');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('detects an item dropped from a listing, or added to it', async () => {
    const tamper = tamperingFetch();
    const vault = await createVault(await newMember(), { fetch: tamper.fetch });
    await vault.put([{ data: 'one' }, { data: 'two' }]);
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith('/items') ? { ...body, data: body.data.slice(1) } : undefined;
    expect(await integrityCode(vault.list())).toBe('dropped-item');
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith('/items')
        ? { ...body, data: [...body.data, { ...body.data[0], itemId: `itm_${'0'.repeat(32)}` }] }
        : undefined;
    expect(await integrityCode(vault.list())).toBe('tampered');
  });

  it('detects an item version swapped for an older one', async () => {
    const tamper = tamperingFetch();
    const vault = await createVault(await newMember(), { fetch: tamper.fetch });
    const { itemId } = await vault.putOne('balance: 10');
    await vault.putOne('balance: 0', { itemId });
    let first: any;
    tamper.rewrite = (_request, body) => {
      first = body;
    };
    await vault.get(itemId, { version: 1 });
    const { itemId: _, manifest: __, access: ___, ...olderVersion } = first;
    // Version 1 as if it were current (under the current manifest)…
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith(itemId) ? { ...body, ...olderVersion } : undefined;
    expect(await integrityCode(vault.get(itemId))).toBe('tampered');
    // …or relabelled as version 2.
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith(itemId) ? { ...body, ...olderVersion, version: 2 } : undefined;
    expect(await integrityCode(vault.get(itemId))).toBe('tampered');
  });

  it('detects ciphertext swapped between two items', async () => {
    const tamper = tamperingFetch();
    const vault = await createVault(await newMember(), { fetch: tamper.fetch });
    const { items } = await vault.put([{ data: 'alice' }, { data: 'bob' }]);
    const [a, b] = items as [{ itemId: string }, { itemId: string }];
    let fromB: any;
    tamper.rewrite = (_request, body) => {
      fromB = body;
    };
    await vault.get(b.itemId);
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith(a.itemId)
        ? {
            ...body,
            ciphertext: fromB.ciphertext,
            sealedKey: fromB.sealedKey,
            contentHash: fromB.contentHash,
          }
        : undefined;
    expect(await integrityCode(vault.get(a.itemId))).toBe('tampered');
  });

  it('detects a member forged into the manifest chain', async () => {
    const owner = await newMember();
    const mallory = await newMember();
    const tamper = tamperingFetch();
    const vault = await createVault(owner, { fetch: tamper.fetch });
    await vault.putOne('secret');
    const head = vault.manifest;

    // A manifest that adds mallory, signed by mallory: announced as the next one.
    const forged = await signManifest(
      {
        ...head,
        sequence: head.sequence + 1,
        previous: manifestHash(head),
        members: withMember(head.members, mallory, 'admin'),
        signer: { subject: mallory.subject, keyId: mallory.keys.keyId },
      },
      mallory.keys,
    );
    tamper.rewrite = ({ url }, body) => {
      if (url.pathname.endsWith('/items'))
        return { ...body, manifest: { sequence: forged.sequence, hash: manifestHash(forged) } };
      if (url.pathname.endsWith('/manifests') && url.searchParams.get('after') === String(head.sequence)) {
        return { data: [forged], keys: { [mallory.keys.keyId]: mallory.keys.publicKeys } };
      }
    };
    expect(await integrityCode(vault.list())).toBe('unauthorized-signer');

    // The same member slipped into a manifest the owner signed: a new client verifying from genesis.
    tamper.rewrite = ({ url }, body) => {
      if (!url.pathname.endsWith('/manifests')) return undefined;
      const data = body.data.map((manifest: SignedManifest) =>
        manifest.sequence === 1
          ? { ...manifest, members: withMember(manifest.members, mallory, 'read') }
          : manifest,
      );
      return { data, keys: { ...body.keys, [mallory.keys.keyId]: mallory.keys.publicKeys } };
    };
    const fresh = VaultClient.open({
      ...connection(tamper.fetch),
      vaultId: vault.vaultId,
      member: owner,
      context: authenticated(['pwd', 'mfa']),
    });
    expect(await integrityCode(fresh)).toBe('bad-signature');
  });
});

describe('VaultClient: access decisions', () => {
  it('surfaces a step-up refusal with its decision, and passes after stepUp', async () => {
    const owner = await newMember();
    const vault = await VaultClient.create({
      ...connection(),
      member: owner,
      context: authenticated(['pwd']),
      template: STEP_UP_TEMPLATE,
    });
    const refused = await vault.putOne('needs mfa').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VaultAccessError);
    const denial = refused as VaultAccessError;
    expect(denial).toMatchObject({ status: 403, denial: 'step-up-required', outcome: 'step_up_required' });
    expect(denial.votes.map((vote) => vote.evaluator)).toEqual([
      'strict',
      'permissive',
      'neutral',
      'watchdog',
    ]);
    expect(denial.score).toBe(45);

    await vault.stepUp({ methods: ['pwd', 'mfa'], authenticatedAt: new Date().toISOString() });
    // The refusal promised that fresh MFA lets the write through: the retry scores exactly that.
    const { itemId, access } = await vault.putOne('needs mfa');
    expect(access).toMatchObject({ outcome: 'allow', score: 70 });
    expect(await vault.getText(itemId)).toBe('needs mfa');
  });

  it('lists the access log, each entry proven in the ledger under the pinned key', async () => {
    const tamper = tamperingFetch();
    const vault = await createVault(await newMember(), { fetch: tamper.fetch });
    const { itemId } = await vault.putOne('logged');
    await vault.get(itemId);
    await vault.list();

    let log = await vault.accessLog();
    for (let i = 0; i < 50 && log.entries.some((entry) => !entry.inLedger); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      log = await vault.accessLog();
    }
    expect(log.entries.map((entry) => [entry.action, entry.itemId, entry.inLedger])).toEqual([
      ['write', itemId, true],
      ['read', itemId, true],
      ['list', null, true],
    ]);
    expect(log.checkpoint).toEqual(expect.any(String));

    // A listing that says something else than the ledger entry it is proven by.
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith('/access-log')
        ? { ...body, data: body.data.map((entry: object) => ({ ...entry, outcome: 'deny' })) }
        : undefined;
    expect(await integrityCode(vault.accessLog())).toBe('tampered');
    // A checkpoint signed by another key than the one pinned.
    tamper.rewrite = ({ url }, body) =>
      url.pathname.endsWith('/access-log')
        ? { ...body, checkpoint: body.checkpoint.replace(/— (\S+) \S+\n/, '— $1 AAAA\n') }
        : undefined;
    expect(await integrityCode(vault.accessLog())).toBe('bad-signature');
  });
});

describe('VaultClient: refusals', () => {
  it('refuses a malformed put before sending it, and a stranger at the session', async () => {
    const vault = await createVault(await newMember());
    await expect(vault.put([])).rejects.toThrow(/1 to 64 items/);
    await expect(vault.putOne('x', { itemId: 'itm_nope' })).rejects.toThrow(/not an item id/);
    const stranger = await newMember();
    const error = await VaultClient.open({
      ...connection(),
      vaultId: vault.vaultId,
      member: stranger,
      context: authenticated(['pwd', 'mfa']),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersonaApiError);
    expect(error).toMatchObject({ status: 401 });
  });
});

import { hashLeaf, noteVerifier, openNote, parseCheckpoint, verifyInclusion } from '@personachain/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';
import { newMember, OPEN_TEMPLATE, text, VaultClient } from './vaults-helpers.js';

// Access decisions on member routes: step-up, denials and their problems, and the access log on the ledger.

/**
 * Only authentication moves the score: 40 with a password, 65 with MFA; writes need 60, reads nothing.
 * Clock, network and device count for nothing, so the outcome does not depend on when the test runs.
 */
const MFA_FOR_WRITES = {
  ...OPEN_TEMPLATE,
  signals: {
    base: 50,
    device: { registered: 0, unknown: 0, noFingerprint: 0 },
    country: { allowed: 0, notAllowed: 0, unknown: 0 },
    hours: { business: 0, off: 0 },
    authentication: { mfa: 15, passkey: 0, singleFactor: -10, stale: 0 },
    recentDenials: { each: 0, atMost: 0 },
  },
  minimumScore: { read: 0, list: 0, write: 60, delete: 60, admin: 60 },
};

/** Countries from a list only, and the watchdog vetoes the rest. */
const SWISS_ONLY = { ...OPEN_TEMPLATE, countries: { allowed: ['CH'] } };

const fromBase64 = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));

describe('vault access decisions', () => {
  let server: TestServer;
  let tenant: Tenant;
  let client: VaultClient;

  beforeAll(async () => {
    server = await startTestServer();
    tenant = await createTenant(server, 'Vault access');
    client = new VaultClient(server, tenant);
  });
  afterAll(() => server?.close());

  it('asks for a step-up when fresh MFA would allow, and allows after it', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner, MFA_FOR_WRITES);
    const token = await client.session(vault.id, owner);

    // Reads need nothing; the write is refused with step-up-required and the decision explained.
    expect((await client.member('GET', vault.id, '/items', token)).body.access.score).toBe(40);
    const attempt = await client.prepareWrite(vault, owner, text('needs mfa'), [owner]);
    const refused = await client.commit(vault, token, attempt.body);
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('urn:personachain:problem:step-up-required');
    expect(refused.body.access).toMatchObject({
      outcome: 'step_up_required',
      score: 40,
      id: expect.stringMatching(/^vac_/),
    });
    expect(refused.body.access.votes.map((vote: any) => vote.evaluator)).toEqual([
      'strict',
      'permissive',
      'neutral',
      'watchdog',
    ]);
    expect(refused.body.access.contributions.reduce((sum: number, c: any) => sum + c.points, 0)).toBe(40);

    const stepped = await client.member('POST', vault.id, '/sessions/current/step-up', token, {
      body: { authentication: { methods: ['pwd', 'otp'], authenticatedAt: new Date().toISOString() } },
    });
    expect(stepped.status).toBe(200);
    expect(stepped.body.authentication.methods).toEqual(['pwd', 'otp']);
    const { itemId } = await client.put(vault, owner, token, text('after step-up'), [owner]);
    const read = await client.member('GET', vault.id, `/items/${itemId}`, token);
    expect(read.body.access).toMatchObject({ outcome: 'allow', score: 65 });

    const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
      key: tenant.keys.auditor,
    });
    const types = audit.body.data.map((entry: any) => entry.type);
    expect(types).toEqual(
      expect.arrayContaining(['vault.created', 'vault_session.created', 'vault_session.stepped_up']),
    );
  });

  it('denies from a country the template does not allow, with the watchdog veto explained', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner, SWISS_ONLY);
    // 8.8.8.8 is in the US in every GeoLite edition.
    const token = await client.session(vault.id, owner, {
      ip: '8.8.8.8',
      authentication: { methods: ['mfa'], authenticatedAt: new Date().toISOString() },
    });
    const denied = await client.member('GET', vault.id, '/items', token);
    expect(denied.status).toBe(403);
    expect(denied.body.type).toBe('urn:personachain:problem:access-denied');
    expect(denied.body.access.outcome).toBe('deny');
    const watchdog = denied.body.access.votes.find((vote: any) => vote.evaluator === 'watchdog');
    expect(watchdog.vote).toBe('deny');
    expect(watchdog.reasons.join(' ')).toMatch(/country/);
  });

  it('logs every decision, allowed or denied, on the ledger, with a keyed IP hash and no IP', async () => {
    const owner = await newMember();
    const vault = await client.createVault(owner, SWISS_ONLY);
    const home = await client.session(vault.id, owner, {
      ip: '127.0.0.1',
      authentication: { methods: ['pwd'], authenticatedAt: new Date().toISOString() },
    });
    const { itemId } = await client.put(vault, owner, home, text('logged'), [owner]);
    const read = await client.member('GET', vault.id, `/items/${itemId}`, home);
    expect(read.status).toBe(200);
    const abroad = await client.session(vault.id, owner, {
      ip: '8.8.8.8',
      authentication: { methods: ['pwd'], authenticatedAt: new Date().toISOString() },
    });
    const denied = await client.member('GET', vault.id, `/items/${itemId}`, abroad);
    expect(denied.status).toBe(403);

    const path = client.path(`/${vault.id}/access-log`);
    let page = await server.json('GET', `${path}?proof=true`, { key: tenant.keys.auditor });
    for (
      let attempt = 0;
      page.body.data.some((entry: any) => entry.ledgerIndex === null) && attempt < 50;
      attempt++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      page = await server.json('GET', `${path}?proof=true`, { key: tenant.keys.auditor });
    }
    expect(page.status).toBe(200);
    expect(page.body.data.map((entry: any) => [entry.action, entry.outcome, entry.itemId])).toEqual([
      ['write', 'allow', itemId],
      ['read', 'allow', itemId],
      ['read', 'deny', itemId],
    ]);
    expect(page.body.data.map((entry: any) => entry.id)).toEqual([
      expect.any(String),
      read.body.access.id,
      denied.body.access.id,
    ]);

    const vkey = (await (await server.call('GET', '/ledger/verifier-key', { key: null })).text()).trim();
    const checkpoint = parseCheckpoint((await openNote(page.body.checkpoint, [noteVerifier(vkey)])).text);
    for (const entry of page.body.data) {
      verifyInclusion(
        entry.ledgerIndex,
        checkpoint.size,
        hashLeaf(new TextEncoder().encode(entry.entry)),
        entry.proof.hashes.map(fromBase64),
        checkpoint.root,
      );
      const logged = JSON.parse(entry.entry);
      expect(Object.keys(logged)).toEqual([
        'v',
        'type',
        'id',
        'at',
        'project',
        'vault',
        'subject',
        'action',
        'item',
        'outcome',
        'score',
        'votes',
        'ipHash',
        'country',
        'deviceRegistered',
        'manifest',
      ]);
      expect(logged).toMatchObject({
        v: 1,
        type: 'vault.access',
        id: entry.id,
        project: tenant.projectId,
        vault: vault.id,
      });
      expect(logged.ipHash).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
    const [write, allowed, refused] = page.body.data.map((entry: any) => JSON.parse(entry.entry));
    expect(write.manifest).toEqual({ sequence: 1, hash: vault.hash });
    expect(allowed.country).toBeNull();
    expect(refused.country).toBe('US');
    expect(allowed.ipHash).not.toBe(refused.ipHash);
    expect(write.ipHash).toBe(allowed.ipHash);
    // The checkpoint names the log's origin (host:port), not a member: the entries are what must hold no IP.
    const everything = JSON.stringify(page.body.data);
    expect(everything).not.toContain('8.8.8.8');
    expect(everything).not.toContain('127.0.0.1');

    // Paging and the other project.
    const first = await server.json('GET', `${path}?limit=2`, { key: tenant.keys.auditor });
    const second = await server.json('GET', `${path}?limit=2&cursor=${first.body.nextCursor}`, {
      key: tenant.keys.auditor,
    });
    expect([...first.body.data, ...second.body.data].map((e: any) => e.id)).toEqual(
      page.body.data.map((e: any) => e.id),
    );
    expect(second.body.nextCursor).toBeNull();
  });
});

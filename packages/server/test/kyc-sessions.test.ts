import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';
import {
  captureClient,
  createSession,
  localProvider,
  PLAINTEXT_MARKER,
  passportScan,
  td3,
  waitForStatus,
} from './kyc-helpers.js';

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

const HOLDER = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const ADULT = { birth: '740812', expiry: '350415' };

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe.each(engines)('verification sessions with the local provider, on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  /** How far the verification module's clock runs ahead of the real one. */
  let clockOffset = 0;
  const path = (tenant: Tenant, rest = '') => `/v1/projects/${tenant.projectId}/verifications${rest}`;

  beforeAll(async () => {
    server = await startTestServer({}, engine, {
      kyc: { worker: { intervalMs: 50 }, now: () => new Date(Date.now() + clockOffset) },
    });
    a = await createTenant(server, 'KYC A');
    b = await createTenant(server, 'KYC B');
    await localProvider(server, a);
    await localProvider(server, b);
  });
  afterAll(() => server.close());

  async function verify(
    tenant: Tenant,
    mrz: string[],
    checks: unknown[] = [{ type: 'document' }, { type: 'age', minimumAge: 18 }],
  ) {
    const { id, token } = await createSession(server, tenant, { subject: HOLDER, checks });
    const client = captureClient(server, token);
    expect((await client.upload('document-front', passportScan(), 'image/jpeg')).status).toBe(201);
    expect(
      (await client.fields({ mrz, firstName: 'Anna Maria', lastName: 'Eriksson', dateOfBirth: '1974-08-12' }))
        .status,
    ).toBe(201);
    const submitted = await client.submit();
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    return id;
  }

  it('approves a valid passport and keeps only derived claims', async () => {
    const id = await verify(a, td3(ADULT));
    const session = await waitForStatus(server, a, id, ['approved', 'declined', 'needs_review', 'error']);
    expect(session).toMatchObject({
      status: 'approved',
      decidedBy: 'provider',
      result: {
        checks: { document: 'passed', age: 'passed' },
        claims: { ageOver18: true, documentCountry: 'UTO', documentValid: true },
      },
    });
    const text = JSON.stringify(session);
    // The date of birth as the MRZ and as ISO: a bare '1974' also turns up in the hex of random ids.
    for (const personal of ['ERIKSSON', 'Eriksson', '1974-08-12', '740812', 'L898902C3'])
      expect(text).not.toContain(personal);
    const history = await server.json('GET', path(a, `/${id}/history`), { key: a.keys.auditor });
    expect(history.body.transitions.map((t: { to: string }) => t.to)).toEqual([
      'awaiting_input',
      'submitted',
      'processing',
      'approved',
    ]);
    expect(history.body.providerCalls).toMatchObject([{ kind: 'local', result: 'submitted', try: 1 }]);
  });

  it('ends in error when the uploads cannot be opened, without asking a provider', async () => {
    const { id, token } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    const client = captureClient(server, token);
    expect((await client.upload('document-front', passportScan(), 'image/jpeg')).status).toBe(201);
    // Sealed as it should be, but no JSON inside: no later try would read it either.
    const garbled = await client.upload('fields', new TextEncoder().encode('MRZ: P<UTO'), 'application/json');
    expect(garbled.status).toBe(201);
    expect((await client.submit()).status).toBe(202);
    const session = await waitForStatus(server, a, id, ['error', 'approved', 'declined', 'needs_review']);
    expect(session).toMatchObject({ status: 'error', statusReason: 'documents_unreadable' });
    const history = await server.json('GET', path(a, `/${id}/history`), { key: a.keys.auditor });
    expect(history.body.transitions.map((t: { to: string }) => t.to)).toEqual([
      'awaiting_input',
      'submitted',
      'processing',
      'error',
    ]);
    expect(history.body.providerCalls).toEqual([]);
  });

  it('declines an expired document and a minor, and sends a failed check digit to review', async () => {
    const expired = await verify(a, td3({ birth: '740812', expiry: '120415' }));
    expect(await waitForStatus(server, a, expired, ['declined', 'approved', 'needs_review'])).toMatchObject({
      status: 'declined',
      statusReason: expect.stringContaining('document_expired'),
    });
    const minor = await verify(a, td3({ birth: '150101', expiry: '350415' }));
    expect(await waitForStatus(server, a, minor, ['declined', 'approved', 'needs_review'])).toMatchObject({
      status: 'declined',
      result: { claims: { ageOver18: false } },
    });
    const lines = td3(ADULT);
    const tampered = [
      lines[0] as string,
      `${(lines[1] as string).slice(0, 9)}0${(lines[1] as string).slice(10)}`,
    ];
    const doubtful = await verify(a, tampered);
    expect(await waitForStatus(server, a, doubtful, ['declined', 'approved', 'needs_review'])).toMatchObject({
      status: 'needs_review',
    });
  });

  it('stores documents as ciphertext only, and destroys them after the retention period', async () => {
    const settings = await server.json('PATCH', `/v1/projects/${a.projectId}/verification-settings`, {
      key: a.keys.admin,
      body: { retentionSeconds: 0 },
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    const blobs = join(server.dataDir, 'blobs');
    const before = new Set(filesUnder(blobs));
    const { id, token } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    const client = captureClient(server, token);
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.fields({ mrz: td3(ADULT) });
    const stored = filesUnder(blobs).filter((file) => !before.has(file));
    expect(stored).toHaveLength(2);
    for (const file of stored) {
      const bytes = readFileSync(file);
      expect(bytes.includes(Buffer.from(PLAINTEXT_MARKER))).toBe(false);
      expect(bytes.includes(Buffer.from('ERIKSSON'))).toBe(false);
    }
    await client.submit();
    await waitForStatus(server, a, id, ['approved']);
    const deadline = Date.now() + 5_000;
    let session = await waitForStatus(server, a, id, ['approved']);
    while (!session.documentsDestroyedAt && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      session = await waitForStatus(server, a, id, ['approved']);
    }
    expect(session.documentsDestroyedAt).not.toBeNull();
    expect(filesUnder(blobs).filter((file) => stored.includes(file))).toEqual([]);
    expect(session.result.claims.documentCountry).toBe('UTO');
    await server.json('PATCH', `/v1/projects/${a.projectId}/verification-settings`, {
      key: a.keys.admin,
      body: { retentionSeconds: 7 * 86_400 },
    });
  });

  it('refuses illegal transitions with 409', async () => {
    const { id, token } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    const client = captureClient(server, token);
    expect((await client.submit()).status).toBe(409); // nothing uploaded yet
    const claim = await server.json('POST', path(a, `/${id}/claim`), { key: a.keys.reviewer });
    expect(claim.status).toBe(409);
    const reversal = await server.json('POST', path(a, `/${id}/reversal`), {
      key: a.keys.reviewer,
      body: { reason: 'not approved' },
    });
    expect(reversal.status).toBe(409);
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.fields({ mrz: td3(ADULT) });
    expect((await client.submit()).status).toBe(202);
    await waitForStatus(server, a, id, ['approved']);
    const cancel = await server.json('POST', path(a, `/${id}/cancel`), { key: a.keys.developer, body: {} });
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toContain('approved');
    // The client token stops working once the session is decided.
    expect((await client.upload('selfie', passportScan(), 'image/jpeg')).status).toBe(401);
  });

  it('cancels before submission and then refuses the client', async () => {
    const { id, token } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    const canceled = await server.json('POST', path(a, `/${id}/cancel`), {
      key: a.keys.developer,
      body: { reason: 'user left' },
    });
    expect(canceled.body).toMatchObject({ status: 'canceled', statusReason: 'user left' });
    const got = await server.json('GET', '/v1/verification-client/session', { key: token });
    expect(got.status).toBe(401);
  });

  it('works the review queue: claim, decide with a reason, one reviewer at a time', async () => {
    const lines = td3(ADULT);
    const doubtful = await verify(a, [
      lines[0] as string,
      `${(lines[1] as string).slice(0, 9)}0${(lines[1] as string).slice(10)}`,
    ]);
    await waitForStatus(server, a, doubtful, ['needs_review']);
    const queue = await server.json('GET', `/v1/projects/${a.projectId}/verification-reviews`, {
      key: a.keys.reviewer,
    });
    expect(queue.status).toBe(200);
    expect(queue.body.data.map((s: { id: string }) => s.id)).toContain(doubtful);
    const unclaimed = await server.json('POST', path(a, `/${doubtful}/decision`), {
      key: a.keys.reviewer,
      body: { decision: 'approve', reason: 'checked by hand' },
    });
    expect(unclaimed.status).toBe(409);
    expect((await server.json('POST', path(a, `/${doubtful}/claim`), { key: a.keys.reviewer })).status).toBe(
      200,
    );
    // Another reviewer (the admin's key) cannot take it meanwhile.
    expect((await server.json('POST', path(a, `/${doubtful}/claim`), { key: a.keys.admin })).status).toBe(
      409,
    );
    const decided = await server.json('POST', path(a, `/${doubtful}/decision`), {
      key: a.keys.reviewer,
      body: { decision: 'approve', reason: 'checked by hand' },
    });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    expect(decided.body).toMatchObject({
      status: 'approved',
      decidedBy: 'reviewer',
      statusReason: 'checked by hand',
    });
    const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
      key: a.keys.auditor,
    });
    const types = audit.body.data
      .filter((e: { subject: string }) => e.subject === doubtful)
      .map((e: { type: string }) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['verification.needs_review', 'verification.claimed', 'verification.approved']),
    );
  });

  it('asks for a resubmission, opens a new attempt, and declines once the attempts are used', async () => {
    await server.json('PATCH', `/v1/projects/${a.projectId}/verification-settings`, {
      key: a.keys.admin,
      body: { maxAttempts: 2 },
    });
    const lines = td3(ADULT);
    const bad = [lines[0] as string, `${(lines[1] as string).slice(0, 9)}0${(lines[1] as string).slice(10)}`];
    const { id, token } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    const client = captureClient(server, token);
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.fields({ mrz: bad });
    await client.submit();
    await waitForStatus(server, a, id, ['needs_review']);
    await server.json('POST', path(a, `/${id}/claim`), { key: a.keys.reviewer });
    const again = await server.json('POST', path(a, `/${id}/decision`), {
      key: a.keys.reviewer,
      body: { decision: 'request_resubmission', reason: 'blurry photo' },
    });
    expect(again.body).toMatchObject({ status: 'resubmission_requested', attempt: 2 });
    client.forget();
    const reopened = await client.session();
    expect(reopened).toMatchObject({ status: 'awaiting_input', attempt: 2, uploadedDocuments: [] });
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.fields({ mrz: bad });
    await client.submit();
    await waitForStatus(server, a, id, ['needs_review']);
    await server.json('POST', path(a, `/${id}/claim`), { key: a.keys.reviewer });
    const capped = await server.json('POST', path(a, `/${id}/decision`), {
      key: a.keys.reviewer,
      body: { decision: 'request_resubmission', reason: 'still blurry' },
    });
    expect(capped.status).toBe(409);
    await server.json('PATCH', `/v1/projects/${a.projectId}/verification-settings`, {
      key: a.keys.admin,
      body: { maxAttempts: 3 },
    });
  });

  it('expires sessions whose time is up, and their client tokens with them', async () => {
    const { id, token } = await createSession(server, a, {
      subject: HOLDER,
      checks: [{ type: 'document' }],
      ttlSeconds: 60,
    });
    const client = captureClient(server, token);
    expect((await client.upload('document-front', passportScan(), 'image/jpeg')).status).toBe(201);
    clockOffset = 61_000;
    try {
      expect((await server.json('GET', '/v1/verification-client/session', { key: token })).status).toBe(401);
      expect(await waitForStatus(server, a, id, ['expired'])).toMatchObject({
        status: 'expired',
        statusReason: 'session_ttl',
        decidedBy: 'system',
      });
    } finally {
      clockOffset = 0;
    }
  });

  it('keeps projects apart and enforces roles', async () => {
    const { id } = await createSession(server, a, { subject: HOLDER, checks: [{ type: 'document' }] });
    expect((await server.json('GET', path(b, `/${id}`), { key: b.keys.owner })).status).toBe(404);
    expect((await server.json('GET', path(a, `/${id}`), { key: b.keys.owner })).status).toBe(404);
    expect((await server.json('GET', path(a, `/${id}`), { key: a.keys.viewer })).status).toBe(403);
    const byAuditor = await server.json('POST', path(a), {
      key: a.keys.auditor,
      body: { subject: HOLDER, checks: [{ type: 'document' }] },
    });
    expect(byAuditor.status).toBe(403);
    expect(
      (await server.json('GET', `/v1/projects/${a.projectId}/verification-reviews`, { key: a.keys.auditor }))
        .status,
    ).toBe(403);
    const settingsByDeveloper = await server.json(
      'PATCH',
      `/v1/projects/${a.projectId}/verification-settings`,
      {
        key: a.keys.developer,
        body: { maxAttempts: 5 },
      },
    );
    expect(settingsByDeveloper.status).toBe(403);
  });

  it('routes each session by the providers as they are now: a disabled one is not called', async () => {
    const providers = await server.json('GET', `/v1/projects/${b.projectId}/verification-providers`, {
      key: b.keys.admin,
    });
    const [local] = providers.body.data;
    const setEnabled = async (enabled: boolean) => {
      const changed = await server.json(
        'PATCH',
        `/v1/projects/${b.projectId}/verification-providers/${local.id}`,
        { key: b.keys.admin, body: { enabled } },
      );
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    };
    // A session first, so the project's providers have been read (and may be remembered) before the change.
    const before = await verify(b, td3(ADULT));
    expect((await waitForStatus(server, b, before, ['approved', 'error'])).status).toBe('approved');

    await setEnabled(false);
    const without = await verify(b, td3(ADULT));
    expect(await waitForStatus(server, b, without, ['approved', 'error'])).toMatchObject({
      status: 'error',
      statusReason: 'no_provider',
    });
    await setEnabled(true);
    const again = await verify(b, td3(ADULT));
    expect((await waitForStatus(server, b, again, ['approved', 'error'])).status).toBe('approved');
  });

  it('validates sessions and provider configurations', async () => {
    const bad = async (body: unknown) =>
      (await server.json('POST', path(a), { key: a.keys.developer, body })).body?.errors?.[0]?.pointer;
    expect(
      await bad({ subject: 'usr_00000000000000000000000000000000', checks: [{ type: 'document' }] }),
    ).toBe('#/subject');
    expect(await bad({ subject: 'not a did', checks: [{ type: 'document' }] })).toBe('#/subject');
    expect(await bad({ subject: HOLDER, checks: [{ type: 'age' }] })).toBe('#/checks/0/minimumAge');
    expect(await bad({ subject: HOLDER, checks: [{ type: 'document' }, { type: 'document' }] })).toBe(
      '#/checks/1',
    );
    const provider = async (body: unknown) =>
      server.json('POST', `/v1/projects/${a.projectId}/verification-providers`, { key: a.keys.admin, body });
    const ssrf = await provider({
      kind: 'onfido',
      name: 'x',
      baseUrl: 'https://169.254.169.254/v3.6',
      secrets: { apiToken: 't', webhookToken: 'w' },
    });
    expect(ssrf.status).toBe(400);
    expect(ssrf.body.errors[0].pointer).toBe('#/baseUrl');
    const missing = await provider({
      kind: 'sumsub',
      name: 'x',
      secrets: { appToken: 'a', secretKey: 's', webhookSecret: 'w' },
    });
    expect(missing.body.errors[0].pointer).toBe('#/options/levelName');
    const made = await provider({
      kind: 'onfido',
      name: 'Onfido EU',
      secrets: { apiToken: 'secret-token-1', webhookToken: 'wt' },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      secretNames: ['apiToken', 'webhookToken'],
      webhookUrl: expect.stringContaining(made.body.id),
    });
    expect(JSON.stringify(made.body)).not.toContain('secret-token-1');
    await server.json('DELETE', `/v1/projects/${a.projectId}/verification-providers/${made.body.id}`, {
      key: a.keys.admin,
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOnfido, startFakeOnfido } from './fakes/onfido.js';
import { type FakeSumsub, startFakeSumsub } from './fakes/sumsub.js';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';
import { captureClient, createSession, passportScan, td3, waitForStatus } from './kyc-helpers.js';

const HOLDER = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const FIELDS = {
  firstName: 'Anna Maria',
  lastName: 'Eriksson',
  dateOfBirth: '1974-08-12',
  documentType: 'PASSPORT',
  issuingCountry: 'UTO',
  mrz: td3({ birth: '740812', expiry: '350415' }),
};

describe('provider orchestration through the API, with fake vendors', () => {
  let server: TestServer;
  let tenant: Tenant;
  let onfido: FakeOnfido;
  let sumsub: FakeSumsub;
  let onfidoId: string;
  let sumsubId: string;
  const webhookUrl = (providerId: string) => `${server.url}/v1/verification-webhooks/${providerId}`;

  async function provider(body: Record<string, unknown>): Promise<string> {
    const made = await server.json('POST', `/v1/projects/${tenant.projectId}/verification-providers`, {
      key: tenant.keys.admin,
      body,
    });
    if (made.status !== 201) throw new Error(JSON.stringify(made.body));
    return made.body.id;
  }

  async function submitted(checks: unknown[] = [{ type: 'document' }, { type: 'selfie' }]) {
    const { id, token } = await createSession(server, tenant, { subject: HOLDER, checks });
    const client = captureClient(server, token);
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.upload('selfie', passportScan(), 'image/jpeg');
    await client.fields(FIELDS);
    expect((await client.submit()).status).toBe(202);
    return id;
  }

  /** The session's reference at its provider, once it has one (the session is then waiting on the provider). */
  async function providerRef(id: string): Promise<string> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const ref = (await waitForStatus(server, tenant, id, ['processing'])).provider?.ref;
      if (ref) return ref;
      if (Date.now() > deadline) throw new Error(`session ${id} has no provider reference`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function history(id: string) {
    return (
      await server.json('GET', `/v1/projects/${tenant.projectId}/verifications/${id}/history`, {
        key: tenant.keys.auditor,
      })
    ).body;
  }

  beforeAll(async () => {
    server = await startTestServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, 'sqlite', {
      kyc: { worker: { intervalMs: 50 } },
    });
    tenant = await createTenant(server, 'KYC vendors');
    onfido = await startFakeOnfido();
    sumsub = await startFakeSumsub();
    onfidoId = await provider({
      kind: 'onfido',
      name: 'Onfido',
      baseUrl: onfido.url,
      secrets: { apiToken: onfido.apiToken, webhookToken: onfido.webhookToken },
      priority: 1,
      maxRetries: 0,
      timeoutMs: 500,
    });
    sumsubId = await provider({
      kind: 'sumsub',
      name: 'Sumsub',
      baseUrl: sumsub.url,
      secrets: {
        appToken: sumsub.appToken,
        secretKey: sumsub.secretKey,
        webhookSecret: sumsub.webhookSecret,
      },
      options: { levelName: 'basic-kyc-level' },
      priority: 2,
      maxRetries: 1,
    });
  });
  afterAll(async () => {
    await server.close();
    await onfido.close();
    await sumsub.close();
  });

  it('falls back to the next provider when the first errors, then follows its webhooks in order', async () => {
    onfido.failNext('error500', '/applicants');
    const id = await submitted();
    sumsub.decide(id, 'GREEN');
    const processing = await waitForStatus(server, tenant, id, ['processing']);
    const deadline = Date.now() + 5_000;
    let session = processing;
    while (!session.provider && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      session = await waitForStatus(server, tenant, id, ['processing']);
    }
    expect(session.provider.id).toBe(sumsubId);
    const calls = (await history(id)).providerCalls;
    expect(calls).toMatchObject([
      { providerId: onfidoId, result: 'error', errorKind: 'transient', status: 500 },
      { providerId: sumsubId, result: 'submitted' },
    ]);

    const reviewed = await sumsub.sendWebhook(webhookUrl(sumsubId), id);
    expect(reviewed.status, reviewed.text).toBe(200);
    const approved = await waitForStatus(server, tenant, id, ['approved', 'declined', 'error']);
    expect(approved).toMatchObject({
      status: 'approved',
      decidedBy: 'provider',
      result: { claims: { documentCountry: 'UTO' } },
    });

    // The same delivery again is acknowledged and dropped.
    const duplicate = await sumsub.redeliver(webhookUrl(sumsubId), reviewed.delivery);
    expect(JSON.parse(duplicate.text)).toEqual({ received: true, duplicate: true });
    // An older, non-final event arriving late changes nothing.
    const late = await sumsub.sendWebhook(webhookUrl(sumsubId), id, {
      type: 'applicantPending',
      createdAt: new Date(Date.now() - 60_000),
    });
    expect(late.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await history(id)).transitions.map((t: { to: string }) => t.to)).toEqual([
      'awaiting_input',
      'submitted',
      'processing',
      'approved',
    ]);

    // The vendor's decline after its approval is an explicit reversal.
    sumsub.decide(id, { reviewAnswer: 'RED', reviewRejectType: 'FINAL', rejectLabels: ['FORGERY'] });
    expect((await sumsub.sendWebhook(webhookUrl(sumsubId), id)).status).toBe(200);
    const reversed = await waitForStatus(server, tenant, id, ['declined']);
    expect(reversed.statusReason).toContain('provider_reversal');
  });

  it('falls back when the first provider does not answer within its timeout', async () => {
    onfido.failNext('hang', '/applicants');
    const started = Date.now();
    const id = await submitted();
    sumsub.decide(id, 'GREEN');
    for (;;) {
      const calls = (await history(id)).providerCalls;
      if (calls.length >= 2) {
        expect(calls).toMatchObject([
          { providerId: onfidoId, result: 'error', errorKind: 'timeout' },
          { providerId: sumsubId, result: 'submitted' },
        ]);
        break;
      }
      if (Date.now() - started > 5_000) throw new Error('no fallback after the timeout');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('verifies provider webhooks: a wrong signature is refused', async () => {
    const forged = await fetch(webhookUrl(sumsubId), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-payload-digest': 'ab'.repeat(32),
        'x-payload-digest-alg': 'HMAC_SHA256_HEX',
      },
      body: JSON.stringify({ applicantId: 'x', correlationId: 'y', type: 'applicantReviewed' }),
    });
    expect(forged.status).toBe(401);
    const unknown = await fetch(
      `${server.url}/v1/verification-webhooks/vpc_00000000000000000000000000000000`,
      {
        method: 'POST',
        body: '{}',
      },
    );
    expect(unknown.status).toBe(404);
  });

  it('fetches the decision when a webhook carries none (Onfido check.completed)', async () => {
    const id = await submitted([{ type: 'document' }]);
    const ref = await providerRef(id);
    const calls = (await history(id)).providerCalls;
    expect(calls.at(-1), JSON.stringify(calls)).toMatchObject({ providerId: onfidoId, result: 'submitted' });
    onfido.decide(ref, 'clear');
    const completed = await onfido.sendWebhook(webhookUrl(onfidoId), ref);
    expect(completed.status, completed.text).toBe(200);
    expect(await waitForStatus(server, tenant, id, ['approved', 'declined', 'needs_review'])).toMatchObject({
      status: 'approved',
    });
  });

  it('answers a waiting read when the provider decides, or when its wait is over', async () => {
    const id = await submitted([{ type: 'document' }]);
    const ref = await providerRef(id);
    const read = (wait: number) =>
      server.json('GET', `/v1/projects/${tenant.projectId}/verifications/${id}?wait=${wait}`, {
        key: tenant.keys.auditor,
      });

    let started = Date.now();
    const unchanged = await read(1);
    expect(unchanged.body.status).toBe('processing');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    let answered = false;
    const waiting = read(30).then((got) => {
      answered = true;
      return got;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    onfido.decide(ref, 'clear');
    started = Date.now();
    expect((await onfido.sendWebhook(webhookUrl(onfidoId), ref)).status).toBe(200);
    const decided = await waiting;
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ id, status: 'approved' });
    expect(Date.now() - started).toBeLessThan(5_000);

    // A session the platform is done with is answered at once, whatever the wait.
    started = Date.now();
    expect((await read(30)).body.status).toBe('approved');
    expect(Date.now() - started).toBeLessThan(1_000);
    const tooLong = await read(61);
    expect(tooLong.status).toBe(400);
  });

  it('ends in error when every provider fails', async () => {
    onfido.failNext('unauthorized', '/applicants');
    sumsub.failNext('error500', '/resources/applicants');
    sumsub.failNext('error500', '/resources/applicants');
    const id = await submitted();
    const failed = await waitForStatus(server, tenant, id, ['error', 'approved', 'processing'], 10_000).then(
      async (s) => (s.status === 'processing' ? waitForStatus(server, tenant, id, ['error']) : s),
    );
    expect(failed).toMatchObject({ status: 'error', statusReason: 'providers_failed' });
    const calls = (await history(id)).providerCalls;
    expect(calls.map((c: { providerId: string; errorKind: string }) => [c.providerId, c.errorKind])).toEqual([
      [onfidoId, 'rejected'],
      [sumsubId, 'transient'],
      [sumsubId, 'transient'],
    ]);
  });
});

describe('waiting reads of verification sessions at shutdown', () => {
  it('answers them at once instead of holding the close', async () => {
    const server = await startTestServer({ PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' }, 'sqlite');
    const onfido = await startFakeOnfido();
    try {
      const tenant = await createTenant(server, 'KYC shutdown');
      const made = await server.json('POST', `/v1/projects/${tenant.projectId}/verification-providers`, {
        key: tenant.keys.admin,
        body: {
          kind: 'onfido',
          name: 'Onfido',
          baseUrl: onfido.url,
          secrets: { apiToken: onfido.apiToken, webhookToken: onfido.webhookToken },
        },
      });
      expect(made.status).toBe(201);
      const { id, token } = await createSession(server, tenant, {
        subject: HOLDER,
        checks: [{ type: 'document' }],
      });
      const client = captureClient(server, token);
      await client.upload('document-front', passportScan(), 'image/jpeg');
      await client.fields(FIELDS);
      expect((await client.submit()).status).toBe(202);
      await waitForStatus(server, tenant, id, ['processing']);

      const waiting = server.json('GET', `/v1/projects/${tenant.projectId}/verifications/${id}?wait=60`, {
        key: tenant.keys.auditor,
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await waiting).body.status).toBe('processing');
    } finally {
      await onfido.close();
    }
  });
});

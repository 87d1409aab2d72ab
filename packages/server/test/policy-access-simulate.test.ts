import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TRUST_TEMPLATE,
  parseTrustTemplate,
  templateHash,
} from '../src/modules/policy/access/index.js';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';
import { newMember, OPEN_TEMPLATE, VaultClient } from './vaults-helpers.js';

// POST /v1/projects/{projectId}/policy/simulate over HTTP: the decision, its inputs' defaults, templates
// sent inline, address to country, validation, and who may simulate. The decision logic itself:
// policy-access.test.ts. (Simulations write nothing, so one engine is enough.)

describe('simulating vault access decisions', () => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  const path = (tenant: Tenant) => `/v1/projects/${tenant.projectId}/policy/simulate`;
  const simulate = (body: unknown, tenant = a, key = a.keys.developer) =>
    server.json('POST', path(tenant), { key, body });

  /** A member at its registered device, in business hours, fresh from MFA. */
  const trusted = {
    action: 'read',
    at: '2025-03-04T10:00:00Z',
    country: 'DE',
    device: { registered: true },
    authentication: { methods: ['pwd', 'otp', 'mfa'], ageSeconds: 60 },
  };

  beforeAll(async () => {
    server = await startTestServer();
    a = await createTenant(server, 'Simulate A');
    b = await createTenant(server, 'Simulate B');
  });
  afterAll(() => server.close());

  it('answers the decision under the default template, with every point and vote explained', async () => {
    const { status, body } = await simulate({ request: trusted });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      outcome: 'allow',
      score: 95,
      rule: { kind: 'majority', watchdogVeto: true },
      templateHash: templateHash(DEFAULT_TRUST_TEMPLATE),
    });
    expect(body.votes.map((v: { evaluator: string; vote: string }) => [v.evaluator, v.vote])).toEqual([
      ['strict', 'allow'],
      ['permissive', 'allow'],
      ['neutral', 'allow'],
      ['watchdog', 'abstain'],
    ]);
    expect(body.contributions.reduce((sum: number, c: { points: number }) => sum + c.points, 0)).toBe(95);
    expect(body.rule.explanation).toBe(
      'majority (3 allow, 0 deny, 1 abstain): more allow than deny votes: allowed',
    );
  });

  it('fills in what the request leaves out: an owner, now, no device, no authentication', async () => {
    const { status, body } = await simulate({ request: { action: 'list' } });
    expect(status).toBe(200);
    const signals = Object.fromEntries(
      body.contributions.map((c: { signal: string; detail: string }) => [c.signal, c.detail]),
    );
    expect(signals).toMatchObject({
      device: 'no device fingerprint',
      country: 'no known country for the address',
      'authentication.factors': 'single factor (amr none)',
      'authentication.age': 'authenticated 0 s ago',
    });
    // 50 - 20 - 5 ± hours - 10: denied whatever the time, and too weak for a step-up.
    expect(body.outcome).toBe('deny');
  });

  it('decides under a template sent with the request, with a step-up where MFA would help', async () => {
    const template = { countries: { allowed: ['DE', 'FR'] }, evaluators: { neutral: { allowAt: 60 } } };
    const weak = { ...trusted, device: { fingerprintPresent: true }, authentication: { methods: ['pwd'] } };
    const { status, body } = await simulate({ template, request: weak });
    expect(status).toBe(200);
    expect(body.templateHash).toBe(templateHash(parseTrustTemplate(template)));
    expect(body.score).toBe(40);
    expect(body.outcome).toBe('step_up_required');
    expect(body.rule.explanation).toMatch(/with fresh multi-factor authentication the score would be 65/);
    // Under a unanimous rule strict's deny would remain after a step-up: none is offered.
    const unanimous = await simulate({
      template: { ...template, rule: { kind: 'unanimous' } },
      request: weak,
    });
    expect(unanimous.body.outcome).toBe('deny');

    const vetoed = await simulate({ template, request: { ...trusted, country: 'US' } });
    expect(vetoed.body.outcome).toBe('deny');
    expect(vetoed.body.votes[3]).toEqual({
      evaluator: 'watchdog',
      vote: 'deny',
      reasons: ['access from a country the template does not allow'],
    });
  });

  it('turns an IP address into a country, and a private one into none', async () => {
    const template = { countries: { allowed: ['GB'] } };
    const fromGb = await simulate({
      template,
      request: { ...trusted, country: undefined, ip: '81.2.69.142' },
    });
    expect(fromGb.status).toBe(200);
    expect(fromGb.body.contributions[2]).toEqual({
      signal: 'country',
      points: 5,
      detail: 'GB: an allowed country',
    });
    const fromUs = await simulate({ template, request: { ...trusted, country: undefined, ip: '8.8.8.8' } });
    expect(fromUs.body.contributions[2]).toMatchObject({
      points: -40,
      detail: 'US is not an allowed country',
    });
    expect(fromUs.body.outcome).toBe('deny');
    const inside = await simulate({ template, request: { ...trusted, country: undefined, ip: '10.1.2.3' } });
    expect(inside.body.contributions[2]).toMatchObject({ detail: 'no known country for the address' });
  });

  it('refuses bad input with the failing fields named', async () => {
    const badTemplate = await simulate({ template: { signals: { base: 500, bonus: 1 } }, request: trusted });
    expect(badTemplate.status).toBe(400);
    expect(badTemplate.body.type).toBe('urn:personachain:problem:validation-error');
    expect(badTemplate.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '#/template/signals/base',
      '#/template/signals/bonus',
    ]);

    const crossField = await simulate({ template: { businessHours: { start: '20:00' } }, request: trusted });
    expect(crossField.status).toBe(400);
    expect(crossField.body.errors).toEqual([
      { in: 'body', pointer: '#/template/businessHours/end', detail: 'must be after businessHours.start' },
    ]);

    const cases: Array<[unknown, string]> = [
      [{ request: { ...trusted, ip: '81.2.69.142' } }, '#/request/country'],
      [{ request: { ...trusted, country: undefined, ip: 'not-an-address' } }, '#/request/ip'],
      [
        { request: { ...trusted, device: { registered: true, fingerprintPresent: false } } },
        '#/request/device/fingerprintPresent',
      ],
      [{ request: { ...trusted, action: 'steal' } }, '#/request/action'],
      [{ request: { ...trusted, mood: 'calm' } }, '#/request/mood'],
      [{ request: { ...trusted, recent: { lastMinute: -1 } } }, '#/request/recent/lastMinute'],
      [{ request: trusted, vaultId: 'vlt_0123456789abcdef0123456789abcdef', template: {} }, '#/template'],
      [{}, '#/request'],
    ];
    for (const [body, pointer] of cases) {
      const answer = await simulate(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('decides under a vault\u2019s own template, and knows no other project\u2019s vault', async () => {
    const vault = await new VaultClient(server, a).createVault(await newMember(), OPEN_TEMPLATE);
    const weak = { action: 'write', role: 'write', authentication: { methods: ['pwd'] } };
    const underVault = await simulate({ vaultId: vault.id, request: weak });
    expect(underVault.status).toBe(200);
    expect(underVault.body.templateHash).toBe(templateHash(parseTrustTemplate(OPEN_TEMPLATE)));
    expect(underVault.body.outcome).toBe('allow');
    // The same request under the default template: no device, single factor, denied.
    expect((await simulate({ request: weak })).body.outcome).toBe('deny');

    // Project B's key, in project B, naming project A's vault: no such vault there.
    const foreign = await simulate({ vaultId: vault.id, request: weak }, b, b.keys.developer);
    expect(foreign.status).toBe(404);
    expect(foreign.body.type).toBe('urn:personachain:problem:not-found');
    const unknown = await simulate({ vaultId: 'vlt_0123456789abcdef0123456789abcdef', request: weak });
    expect(unknown.status).toBe(404);
  });

  it('needs policy:simulate (developers and above) in the caller\u2019s own project', async () => {
    for (const role of ['developer', 'admin', 'owner'] as const) {
      expect((await simulate({ request: trusted }, a, a.keys[role])).status).toBe(200);
    }
    for (const role of ['viewer', 'auditor', 'reviewer'] as const) {
      const { status, body } = await simulate({ request: trusted }, a, a.keys[role]);
      expect(status).toBe(403);
      expect(body.type).toBe('urn:personachain:problem:forbidden');
    }
    // Another tenant's project does not exist for this key.
    expect((await simulate({ request: trusted }, b, a.keys.developer)).status).toBe(404);
    expect((await simulate({ request: trusted }, a, null)).status).toBe(401);

    const scoped = await server.json('POST', `/v1/projects/${a.projectId}/api-keys`, {
      key: a.keys.owner,
      body: { name: 'vault reader', role: 'developer', scopes: ['vaults:read'] },
    });
    expect(scoped.status).toBe(201);
    expect((await simulate({ request: trusted }, a, scoped.body.secret)).status).toBe(403);
  });
});

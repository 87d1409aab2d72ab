import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  codeAt,
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  login,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';
import { SmtpCapture } from './smtp-capture.js';
import { SoftAuthenticator } from './soft-authenticator.js';

const LONDON = '81.2.69.142';
const US = '8.8.8.8';
const AUSTRALIA = '1.1.1.1';
const HOUR = 3_600_000;
/** The public URL passkeys are bound to (the requests still go to 127.0.0.1). */
const ORIGIN = 'http://localhost:8443';

interface AuditEntry {
  type: string;
  subject: string;
  details?: { score: number; threshold: number; decision: string; reasons: string[] };
}

describe.each(ENGINES)('adaptive MFA (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  let other: Tenant;
  let smtp: SmtpCapture;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    server = await startIdentityServer(engine, {
      PERSONA_PUBLIC_URL: ORIGIN,
      PERSONA_SMTP_URL: await smtp.start(),
      PERSONA_SMTP_FROM: 'PersonaChain <no-reply@example.test>',
    });
    tenant = await createTenant(server, 'adaptive mfa');
    other = await createTenant(server, 'adaptive mfa other');
    await setPolicy(tenant, { mfa: 'adaptive', risk: { threshold: 50 } });
    await setPolicy(other, { mfa: 'adaptive' });
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function setPolicy(target: Tenant, changes: Record<string, unknown>) {
    const current = await server.json('GET', `/v1/projects/${target.projectId}/identity-policy`, {
      key: target.keys.admin,
    });
    const { risk: _risk, ...rest } = current.body;
    const put = await server.json('PUT', `/v1/projects/${target.projectId}/identity-policy`, {
      key: target.keys.admin,
      body: { ...rest, ...changes },
    });
    expect(put.status).toBe(200);
    return put;
  }

  async function historyOf(userId: string) {
    return server.db.selectFrom('identity_sign_ins').selectAll().where('user_id', '=', userId).execute();
  }

  async function forgetHistory(userId: string) {
    await server.db.deleteFrom('identity_sign_ins').where('user_id', '=', userId).execute();
  }

  /** A user with TOTP, enrolled from the loopback address, whose history then starts empty. */
  async function enrolledUser(target: Tenant = tenant) {
    const user = await createUser(server, target);
    const token = (await login(server, target.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `/p/${target.projectId}/account/totp`, asUser(token));
    const secret: string = enrollment.body.secret;
    const confirmed = await server.json('POST', `/p/${target.projectId}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: codeAt(secret, server.clock.at) },
    });
    expect(confirmed.status).toBe(200);
    server.clock.advance(30_000);
    await forgetHistory(user.id);
    return { ...user, secret };
  }

  /** A password sign-in from `ip`, sending the device cookie when given; returns the cookie it got. */
  async function signIn(
    target: Tenant,
    identifier: string,
    ip: string,
    device?: string,
    password = GOOD_PASSWORD,
  ) {
    const options = asUser(undefined, ip);
    if (device) options.headers = { ...options.headers, cookie: `persona_device=${device}` };
    const response = await server.json('POST', `/p/${target.projectId}/auth/login`, {
      ...options,
      body: { identifier, password },
    });
    const cookie = (response.headers as Headers)
      .getSetCookie()
      .find((value) => value.startsWith('persona_device='));
    return { ...response, cookie, device: cookie?.split(';')[0]?.split('=')[1] };
  }

  async function assessments(target: Tenant, userId: string): Promise<AuditEntry[]> {
    const audit = await server.json('GET', `/v1/projects/${target.projectId}/audit?limit=100`, {
      key: target.keys.auditor,
    });
    return (audit.body.data as AuditEntry[]).filter(
      (entry) => entry.type === 'sign_in.risk_assessed' && entry.subject === userId,
    );
  }

  it('lets a first sign-in below the threshold through without TOTP, and sets the device cookie', async () => {
    const user = await enrolledUser();
    const first = await signIn(tenant, user.username, LONDON);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('signed_in');
    expect(first.body.session.amr).toEqual(['pwd']);
    expect(first.cookie).toMatch(
      new RegExp(
        `^persona_device=pcd_[A-Za-z0-9_-]{43}; Path=/p/${tenant.projectId}/; Max-Age=34560000; HttpOnly; SameSite=Lax$`,
      ),
    );
    const history = await historyOf(user.id);
    expect(history).toHaveLength(1);
    expect(history[0]?.country).toBe('GB');
    // Only keyed hashes: neither the address nor the device id is stored.
    expect(JSON.stringify(history)).not.toContain(LONDON);
    expect(JSON.stringify(history)).not.toContain(first.device as string);

    const [assessed] = await assessments(tenant, user.id);
    expect(assessed?.details).toEqual({
      score: 30,
      threshold: 50,
      decision: 'allow',
      reasons: ['new_device:30'],
    });
  });

  it('asks for TOTP from another country an hour later, and explains why', async () => {
    const user = await enrolledUser();
    const home = await signIn(tenant, user.username, LONDON);
    expect(home.body.status).toBe('signed_in');

    // The known device, from home, the next day: nothing new, no second factor.
    server.clock.advance(24 * HOUR);
    const again = await signIn(tenant, user.username, LONDON, home.device);
    expect(again.body.status).toBe('signed_in');
    expect(again.body.session.amr).toEqual(['pwd']);

    server.clock.advance(HOUR);
    const abroad = await signIn(tenant, user.username, US, home.device);
    expect(abroad.status).toBe(200);
    expect(abroad.body).toMatchObject({
      status: 'mfa_required',
      methods: ['totp', 'recovery_code'],
      reason: "We need to confirm it's you: an unusual location.",
    });
    expect(abroad.body.token).toBeUndefined();
    const latest = (await assessments(tenant, user.id)).at(-1);
    expect(latest?.details).toEqual({
      score: 100,
      threshold: 50,
      decision: 'second_factor',
      reasons: ['impossible_travel:60', 'new_country:30', 'new_address:10'],
    });
    // No place, address or device in the audit.
    expect(JSON.stringify(latest)).not.toMatch(/8\.8\.8\.8|US|GB|pcd_/);

    const completed = await server.json('POST', `/p/${tenant.projectId}/auth/login/totp`, {
      ...asUser(undefined, US),
      headers: { 'x-forwarded-for': US, cookie: `persona_device=${home.device}` },
      body: { challenge: abroad.body.challenge, code: codeAt(user.secret, server.clock.at) },
    });
    expect(completed.status).toBe(200);
    expect(completed.body.session.amr).toEqual(['pwd', 'otp']);
    const countries = (await historyOf(user.id)).map((row) => row.country).sort();
    expect(countries).toEqual(['GB', 'GB', 'US']);
  });

  it('refuses a risky sign-in of a user with no second factor, and audits it as refused', async () => {
    const user = await createUser(server, tenant);
    const home = await signIn(tenant, user.username, LONDON);
    expect(home.body.status).toBe('signed_in');
    server.clock.advance(HOUR);
    const abroad = await signIn(tenant, user.username, AUSTRALIA, home.device);
    expect(abroad.status).toBe(403);
    expect(abroad.body.code).toBe('second_factor_unavailable');
    expect(abroad.body.detail).not.toMatch(/AU|1\.1\.1\.1|score/);
    expect(abroad.cookie).toBeUndefined();
    const latest = (await assessments(tenant, user.id)).at(-1);
    expect(latest?.details).toMatchObject({ decision: 'refused', score: 100 });
    expect(latest?.details?.reasons).toContain('impossible_travel:60');
    expect(await historyOf(user.id)).toHaveLength(1);
  });

  it('emails a code to a user without TOTP but with a verified email, and signs in with it', async () => {
    const email = `adaptive-${Math.random().toString(36).slice(2, 10)}@example.test`;
    const user = await createUser(server, tenant, { email, emailVerified: true });
    const home = await signIn(tenant, email, LONDON);
    expect(home.body.status).toBe('signed_in');
    server.clock.advance(HOUR);
    const abroad = await signIn(tenant, email, US, home.device);
    expect(abroad.status).toBe(200);
    expect(abroad.body).toMatchObject({ status: 'mfa_required', methods: ['email_code'] });
    expect((await assessments(tenant, user.id)).at(-1)?.details?.decision).toBe('second_factor');

    const [mail] = await smtp.mailTo(email);
    expect(mail?.subject).toBe('Confirm your sign-in');
    // The second factor's mail carries no link that could sign in by itself.
    expect(mail?.raw).not.toMatch(/token=pml_/);
    const code = /code is (\d{8})/.exec(mail?.raw ?? '')?.[1] as string;
    const finish = (body: Record<string, unknown>) =>
      server.json('POST', `/p/${tenant.projectId}/auth/login/totp`, {
        ...asUser(undefined, US),
        body: { challenge: abroad.body.challenge, ...body },
      });
    const wrong = await finish({ emailCode: code === '00000000' ? '11111111' : '00000000' });
    expect(wrong.status).toBe(401);
    const both = await finish({ emailCode: code, code: '123456' });
    expect(both.status).toBe(400);
    const completed = await finish({ emailCode: code });
    expect(completed.status).toBe(200);
    expect(completed.body.session.amr).toEqual(['pwd', 'otp', 'mfa']);
    // Used once.
    server.clock.advance(HOUR);
    const again = await signIn(tenant, email, AUSTRALIA, home.device);
    expect(again.body.methods).toEqual(['email_code']);
    const reused = await server.json('POST', `/p/${tenant.projectId}/auth/login/totp`, {
      ...asUser(undefined, AUSTRALIA),
      body: { challenge: again.body.challenge, emailCode: code },
    });
    expect(reused.status).toBe(401);
  });

  it('scores an emailed sign-in code too; without TOTP a risky one is refused, its mailbox was the factor', async () => {
    await setPolicy(tenant, { mfa: 'adaptive', risk: { threshold: 50 }, emailSignIn: true });
    const email = `email-first-${Math.random().toString(36).slice(2, 10)}@example.test`;
    const user = await createUser(server, tenant, { email, emailVerified: true });
    const home = await signIn(tenant, email, LONDON);
    expect(home.body.status).toBe('signed_in');
    server.clock.advance(HOUR);
    const started = await server.json('POST', `/p/${tenant.projectId}/auth/email/start`, {
      ...asUser(undefined, US),
      body: { email },
    });
    expect(started.status).toBe(202);
    const [mail] = await smtp.mailTo(email);
    const code = /code is (\d{8})/.exec(mail?.raw ?? '')?.[1] as string;
    const verified = await server.json('POST', `/p/${tenant.projectId}/auth/email/verify`, {
      key: null,
      headers: { 'x-forwarded-for': US, cookie: `persona_device=${home.device}` },
      body: { email, code },
    });
    expect(verified.status).toBe(403);
    expect(verified.body.code).toBe('second_factor_unavailable');
    expect((await assessments(tenant, user.id)).at(-1)?.details).toMatchObject({
      decision: 'refused',
      reasons: ['impossible_travel:60', 'new_country:30', 'new_address:10'],
    });
    // No second emailed code was sent as a "second" factor.
    expect(smtp.messages.filter((message) => message.to.includes(email))).toHaveLength(1);
  });

  it('does not score a passkey sign-in (already multi-factor) but remembers it and its device', async () => {
    const user = await createUser(server, tenant);
    const token = (await signIn(tenant, user.username, LONDON)).body.token;
    const authenticator = new SoftAuthenticator(ORIGIN);
    const creation = await server.json(
      'POST',
      `/p/${tenant.projectId}/account/passkeys/options`,
      asUser(token),
    );
    const registered = await server.json('POST', `/p/${tenant.projectId}/account/passkeys`, {
      ...asUser(token),
      body: { name: 'laptop', response: authenticator.create(creation.body) },
    });
    expect(registered.status).toBe(201);
    const assessedBefore = (await assessments(tenant, user.id)).length;

    server.clock.advance(HOUR);
    const options = await server.json('POST', `/p/${tenant.projectId}/auth/passkey/options`, asUser());
    const signed = await server.json('POST', `/p/${tenant.projectId}/auth/passkey`, {
      ...asUser(undefined, US),
      body: { response: authenticator.get(options.body) },
    });
    expect(signed.status).toBe(200);
    expect(signed.body.session.amr).toContain('mfa');
    const cookie = (signed.headers as Headers)
      .getSetCookie()
      .find((value) => value.startsWith('persona_device='));
    expect(cookie).toMatch(/^persona_device=pcd_/);
    expect((await assessments(tenant, user.id)).length).toBe(assessedBefore);
    expect((await historyOf(user.id)).map((row) => row.country).sort()).toEqual(['GB', 'US']);
  });

  it('counts the failed attempts before a success', async () => {
    const user = await enrolledUser();
    for (let attempt = 0; attempt < 3; attempt++) {
      const wrong = await signIn(tenant, user.username, LONDON, undefined, 'not-the-password-at-all');
      expect(wrong.status).toBe(401);
    }
    const signed = await signIn(tenant, user.username, LONDON);
    // new device 30 + failed attempts 20 reach the threshold of 50.
    expect(signed.body.status).toBe('mfa_required');
    expect(signed.body.reason).toBe(
      "We need to confirm it's you: this is a new device, recent failed attempts.",
    );
    expect((await assessments(tenant, user.id)).at(-1)?.details?.reasons).toEqual([
      'new_device:30',
      'failed_attempts:20',
    ]);
  });

  it('scores many sign-ins in an hour as velocity', async () => {
    const user = await createUser(server, tenant);
    const first = await signIn(tenant, user.username, LONDON);
    for (let index = 0; index < 5; index++) {
      server.clock.advance(60_000);
      expect((await signIn(tenant, user.username, LONDON, first.device)).body.status).toBe('signed_in');
    }
    expect((await assessments(tenant, user.id)).at(-1)?.details).toMatchObject({
      score: 20,
      decision: 'allow',
      reasons: ['velocity:20'],
    });
  });

  it('lets the project tune the weights and threshold, validated', async () => {
    const invalid = await server.json('PUT', `/v1/projects/${other.projectId}/identity-policy`, {
      key: other.keys.admin,
      body: {
        registration: false,
        password: { minLength: 12, forbidCommon: true },
        mfa: 'adaptive',
        risk: { threshold: 0 },
        sessions: { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400 },
      },
    });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body.errors)).toContain('/risk/threshold');
    const notAdaptive = await setPolicy(other, { mfa: 'optional' });
    expect(notAdaptive.body.risk).toBeUndefined();
    const misplaced = await server.json('PUT', `/v1/projects/${other.projectId}/identity-policy`, {
      key: other.keys.admin,
      body: { ...notAdaptive.body, risk: { threshold: 20 } },
    });
    expect(misplaced.status).toBe(400);
    expect(misplaced.body.errors[0].pointer).toBe('#/risk');

    await setPolicy(other, { mfa: 'adaptive', risk: { threshold: 20, weights: { new_device: 0 } } });
    const user = await enrolledUser(other);
    // A new device counts for nothing here: the first sign-in scores 0.
    expect((await signIn(other, user.username, LONDON)).body.status).toBe('signed_in');
  });

  it('keeps no history and changes nothing in projects whose MFA is not adaptive', async () => {
    const plain = await createTenant(server, 'not adaptive');
    const user = await enrolledUser(plain);
    const first = await signIn(plain, user.username, LONDON);
    expect(first.body.status).toBe('mfa_required');
    expect(first.body.reason).toBeUndefined();
    expect(first.cookie).toBeUndefined();
    const completed = await server.json('POST', `/p/${plain.projectId}/auth/login/totp`, {
      ...asUser(undefined, LONDON),
      body: { challenge: first.body.challenge, code: codeAt(user.secret, server.clock.at) },
    });
    expect(completed.status).toBe(200);
    expect(await historyOf(user.id)).toHaveLength(0);
    expect(await assessments(plain, user.id)).toHaveLength(0);
  });

  it("shows admins a user's sign-ins without hashes or coordinates, per project", async () => {
    const user = await createUser(server, tenant);
    const home = await signIn(tenant, user.username, LONDON);
    server.clock.advance(48 * HOUR);
    await signIn(tenant, user.username, US, home.device);
    const path = `/v1/projects/${tenant.projectId}/users/${user.id}/sign-ins`;
    const listed = await server.json('GET', path, { key: tenant.keys.developer });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([
      { at: expect.any(String), country: 'US', newDevice: false, newAddress: true },
      { at: expect.any(String), country: 'GB', newDevice: true, newAddress: true },
    ]);
    const foreign = await server.json('GET', `/v1/projects/${other.projectId}/users/${user.id}/sign-ins`, {
      key: other.keys.developer,
    });
    expect(foreign.status).toBe(404);
    // Another project's key cannot even see the project.
    const crossKey = await server.json('GET', path, { key: other.keys.admin });
    expect(crossKey.status).toBe(404);

    // Erasing the user erases their history.
    const erased = await server.call('DELETE', `/v1/projects/${tenant.projectId}/users/${user.id}`, {
      key: tenant.keys.developer,
    });
    expect(erased.status).toBe(204);
    expect(await historyOf(user.id)).toHaveLength(0);
  });
});

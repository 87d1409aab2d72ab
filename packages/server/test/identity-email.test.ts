import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { enableEmailSignIn } from './identity-email-helpers.js';
import {
  asUser,
  createTenant,
  createUser,
  ENGINES,
  GOOD_PASSWORD,
  type IdentityTestServer,
  login,
  startIdentityServer,
  type Tenant,
} from './identity-helpers.js';
import { codeAndLink, SmtpCapture } from './smtp-capture.js';

let ips = 0;
/** A fresh client address per test, so the per-address request limit of one test does not touch another. */
function freshIp(): string {
  ips += 1;
  return `198.51.100.${ips}`;
}

function otherCode(code: string): string {
  return code === '00000000' ? '11111111' : '00000000';
}

describe.each(ENGINES)('email codes and magic links (%s)', (engine) => {
  let server: IdentityTestServer;
  let smtp: SmtpCapture;
  let tenant: Tenant;
  let other: Tenant;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    const smtpUrl = await smtp.start();
    server = await startIdentityServer(engine, {
      PERSONA_SMTP_URL: smtpUrl,
      PERSONA_SMTP_FROM: 'PersonaChain <no-reply@example.test>',
    });
    tenant = await createTenant(server, 'email codes');
    other = await createTenant(server, 'email codes other');
    await enableEmailSignIn(server, tenant);
    await enableEmailSignIn(server, other);
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const base = (t: Tenant = tenant) => `/p/${t.projectId}`;
  const uniqueEmail = () => `person${Math.random().toString(36).slice(2, 10)}@example.test`;

  /** A user who may sign in by email: email sign-in needs a verified address. */
  async function userWithEmail(t: Tenant = tenant) {
    const email = uniqueEmail();
    const user = await createUser(server, t, { email, emailVerified: true });
    return { ...user, email };
  }

  function start(email: string, ip: string, t: Tenant = tenant) {
    return server.json('POST', `${base(t)}/auth/email/start`, { ...asUser(undefined, ip), body: { email } });
  }

  function verify(email: string, code: string, ip: string, t: Tenant = tenant) {
    return server.json('POST', `${base(t)}/auth/email/verify`, {
      ...asUser(undefined, ip),
      body: { email, code },
    });
  }

  it('signs in with an emailed code once, with amr otp, and no code in the subject', async () => {
    const ip = freshIp();
    const user = await userWithEmail();
    const started = await start(user.email.toUpperCase(), ip);
    expect(started.status).toBe(202);
    expect(started.body.status).toBe('accepted');
    const [mail] = await smtp.mailTo(user.email);
    const { code } = codeAndLink(mail as never);
    expect(mail?.raw).toContain('From: PersonaChain <no-reply@example.test>');
    expect(mail?.subject).toBe('Your sign-in code');
    expect(mail?.subject).not.toContain(code);

    const signedIn = await verify(user.email, code, ip);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.status).toBe('signed_in');
    expect(signedIn.body.session.amr).toEqual(['otp']);
    expect(signedIn.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    const account = await server.json('GET', `${base()}/account`, asUser(signedIn.body.token));
    expect(account.body.emailVerified).toBe(true);

    const replay = await verify(user.email, code, ip);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('invalid_code');
  });

  it('refuses wrong codes and, after five, the right one too', async () => {
    const ip = freshIp();
    const user = await userWithEmail();
    await start(user.email, ip);
    const { code } = codeAndLink((await smtp.mailTo(user.email))[0] as never);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await verify(user.email, otherCode(code), ip)).status).toBe(401);
    }
    const sixth = await verify(user.email, code, ip);
    expect(sixth.status).toBe(401);
    expect(sixth.body.code).toBe('invalid_code');
  });

  it('refuses an expired code', async () => {
    const ip = freshIp();
    const user = await userWithEmail();
    await start(user.email, ip);
    const { code } = codeAndLink((await smtp.mailTo(user.email))[0] as never);
    server.clock.advance(10 * 60_000 + 1_000);
    expect((await verify(user.email, code, ip)).status).toBe(401);
  });

  it('answers the same for unknown and disabled users and mails them nothing', async () => {
    const ip = freshIp();
    const unknown = uniqueEmail();
    const disabled = await userWithEmail();
    const patched = await server.json('PATCH', `/v1/projects/${tenant.projectId}/users/${disabled.id}`, {
      key: tenant.keys.developer,
      body: { status: 'disabled' },
    });
    expect(patched.status).toBe(200);
    const known = await userWithEmail();

    const answers = [await start(unknown, ip), await start(disabled.email, ip), await start(known.email, ip)];
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(answers[2]?.body);
    }
    // The known user's mail was requested last; by the time it arrives the others were decided.
    await smtp.mailTo(known.email);
    expect(smtp.messages.filter((m) => m.to.includes(unknown) || m.to.includes(disabled.email))).toEqual([]);
    expect((await verify(unknown, '12345678', ip)).status).toBe(401);
  });

  it('limits sends per address silently, re-sends a live code, and replaces only an expired one', async () => {
    const ip = freshIp();
    const user = await userWithEmail();
    await start(user.email, ip);
    const first = codeAndLink((await smtp.mailTo(user.email, 1))[0] as never);
    const again = await start(user.email, ip);
    expect(again.status).toBe(202);
    server.clock.advance(61_000);
    await start(user.email, ip);
    const mails = await smtp.mailTo(user.email, 2);
    // Within the minute nothing went out: exactly two messages, the second after the minute, and the
    // second carries the same live code and link.
    expect(mails).toHaveLength(2);
    expect(codeAndLink(mails[1] as never)).toEqual(first);
    server.clock.advance(10 * 60_000);
    await start(user.email, ip);
    const third = codeAndLink((await smtp.mailTo(user.email, 3))[2] as never);
    expect(third.token).not.toBe(first.token);
    expect((await verify(user.email, third.code, ip)).status).toBe(200);
  });

  it('limits code requests per client address with 429', async () => {
    const ip = freshIp();
    let last = 0;
    for (let i = 0; i < 31; i += 1) last = (await start(uniqueEmail(), ip)).status;
    expect(last).toBe(429);
    expect((await start(uniqueEmail(), freshIp())).status).toBe(202);
  });

  it('still asks a TOTP user for the second factor', async () => {
    const ip = freshIp();
    const user = await userWithEmail();
    const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const secret = (await server.json('POST', `${base()}/account/totp`, asUser(token))).body.secret as string;
    const totp = (at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });
    const confirmed = await server.json('POST', `${base()}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: totp(server.clock.at) },
    });
    expect(confirmed.status).toBe(200);
    server.clock.advance(30_000);

    await start(user.email, ip);
    const { code } = codeAndLink((await smtp.mailTo(user.email))[0] as never);
    const answer = await verify(user.email, code, ip);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('mfa_required');
    expect(answer.body.token).toBeUndefined();
    expect(answer.headers.get('set-cookie')).toBeNull();

    const finished = await server.json('POST', `${base()}/auth/login/totp`, {
      ...asUser(undefined, ip),
      body: { challenge: answer.body.challenge, code: totp(server.clock.at) },
    });
    expect(finished.status).toBe(200);
    expect(finished.body.session.amr).toEqual(['otp', 'mfa']);
  });

  it('verifies a signed-in user’s email with an emailed code', async () => {
    const email = uniqueEmail();
    const user = { ...(await createUser(server, tenant, { email })), email };
    const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const sent = await server.json('POST', `${base()}/account/email/verification`, asUser(token));
    expect(sent.status).toBe(202);
    const { code } = codeAndLink((await smtp.mailTo(user.email))[0] as never);
    expect((await smtp.mailTo(user.email))[0]?.subject).toMatch(/^Verify your email/);

    const wrong = await server.json('POST', `${base()}/account/email/verification/confirm`, {
      ...asUser(token),
      body: { code: otherCode(code) },
    });
    expect(wrong.status).toBe(401);
    const confirmed = await server.json('POST', `${base()}/account/email/verification/confirm`, {
      ...asUser(token),
      body: { code },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.emailVerified).toBe(true);
    const again = await server.json('POST', `${base()}/account/email/verification`, asUser(token));
    expect(again.status).toBe(409);

    const audited = await server.db
      .selectFrom('audit_events')
      .select('entry')
      .where('project_id', '=', tenant.projectId)
      .where('type', '=', 'user.email_verified')
      .execute();
    const entries = JSON.stringify(audited);
    expect(entries).toContain(user.id);
    expect(entries).not.toContain(user.email);
  });

  it('registration with email verification answers alike for a new and a taken address', async () => {
    const reg = await createTenant(server, 'email registration');
    const policyPath = `/v1/projects/${reg.projectId}/identity-policy`;
    const current = await server.json('GET', policyPath, { key: reg.keys.admin });
    expect(current.body.registrationVerifiesEmail).toBe(false);
    // The shape clients sent before the field existed is still accepted (and means false).
    const oldShape = await server.json('PUT', policyPath, {
      key: reg.keys.admin,
      body: { ...current.body, registrationVerifiesEmail: undefined, registration: true },
    });
    expect(oldShape.status).toBe(200);
    expect(oldShape.body.registrationVerifiesEmail).toBe(false);
    const put = await server.json('PUT', policyPath, {
      key: reg.keys.admin,
      body: { ...oldShape.body, registrationVerifiesEmail: true },
    });
    expect(put.body.registrationVerifiesEmail).toBe(true);

    const ip = freshIp();
    const register = (email: string, username: string) =>
      server.json('POST', `/p/${reg.projectId}/auth/register`, {
        ...asUser(undefined, ip),
        body: { username, email, password: 'another-lantern-field-77' },
      });
    const fresh = uniqueEmail();
    const owner = await userWithEmail(reg);
    const created = await register(fresh, `new${Date.now()}`);
    const taken = await register(owner.email, `dup${Date.now()}`);
    expect(created.status).toBe(202);
    expect(taken.status).toBe(202);
    expect(taken.body).toEqual(created.body);

    // The registrant of the taken address cannot tell it from a new one by signing in either.
    const signInNew = await login(server, reg.projectId, fresh, 'another-lantern-field-77', ip);
    const signInTaken = await login(server, reg.projectId, owner.email, 'another-lantern-field-77', ip);
    expect(signInNew.status).toBe(401);
    expect(signInTaken.status).toBe(401);
    expect(signInNew.body.code).toBe(signInTaken.body.code);

    const [notice] = await smtp.mailTo(owner.email);
    expect(notice?.subject).toBe('Someone tried to register with your address');
    expect(notice?.text).toContain('Someone tried to create an account');
    expect(notice?.text).not.toMatch(/\b\d{8}\b/);
    const [confirmation] = await smtp.mailTo(fresh);
    const { code } = codeAndLink(confirmation as never);
    const confirm = (email: string, value: string, password = 'another-lantern-field-77') =>
      server.json('POST', `/p/${reg.projectId}/auth/register/confirm`, {
        ...asUser(undefined, ip),
        body: { email, code: value, password },
      });
    expect((await confirm(fresh, otherCode(code))).status).toBe(401);
    expect((await confirm(owner.email, code)).status).toBe(401);
    expect((await confirm(fresh, code, 'not-the-chosen-password-1')).status).toBe(401);
    expect((await confirm(fresh, code)).status).toBe(200);

    const signedIn = await login(server, reg.projectId, fresh, 'another-lantern-field-77', freshIp());
    expect(signedIn.status).toBe(200);
    const account = await server.json('GET', `/p/${reg.projectId}/account`, asUser(signedIn.body.token));
    expect(account.body).toMatchObject({ email: fresh, emailVerified: true, status: 'active' });
    // The owner's account is untouched: the registrant's password does not open it.
    expect((await login(server, reg.projectId, owner.email, GOOD_PASSWORD, freshIp())).status).toBe(200);
  });

  it('a code of one project is useless in another', async () => {
    const ip = freshIp();
    const email = uniqueEmail();
    await createUser(server, tenant, { email, emailVerified: true });
    await createUser(server, other, { email, emailVerified: true });
    await start(email, ip, tenant);
    const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);
    expect((await verify(email, code, ip, other)).status).toBe(401);
    expect((await verify(email, code, ip, tenant)).status).toBe(200);
  });
});

describe('SMTP configuration', () => {
  const base = { PERSONA_DATA_DIR: '/tmp/persona-config-test' };

  it('is off without variables, and both must be set together', () => {
    expect(loadConfig(base).smtp).toBeNull();
    expect(() => loadConfig({ ...base, PERSONA_SMTP_URL: 'smtp://127.0.0.1:25' })).toThrow(
      /PERSONA_SMTP_URL and PERSONA_SMTP_FROM/,
    );
    expect(
      loadConfig({
        ...base,
        PERSONA_SMTP_URL: 'smtps://user:secret@mail.example.test:465',
        PERSONA_SMTP_FROM: 'Example <no-reply@example.test>',
      }).smtp,
    ).toEqual({ url: 'smtps://user:secret@mail.example.test:465', from: 'Example <no-reply@example.test>' });
  });

  it('refuses other schemes without echoing the password, and a From that is no address', () => {
    let message = '';
    try {
      loadConfig({
        ...base,
        PERSONA_SMTP_URL: 'http://user:secret@mail.example.test',
        PERSONA_SMTP_FROM: 'a@b.c',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/PERSONA_SMTP_URL must use smtp: or smtps:/);
    expect(message).not.toContain('secret');
    expect(() =>
      loadConfig({
        ...base,
        PERSONA_SMTP_URL: 'smtp://127.0.0.1:25',
        PERSONA_SMTP_FROM: 'x@y.z\r\nBcc: a@b.c',
      }),
    ).toThrow(/PERSONA_SMTP_FROM/);
    expect(() =>
      loadConfig({ ...base, PERSONA_SMTP_URL: 'smtp://127.0.0.1:25', PERSONA_SMTP_FROM: 'nobody' }),
    ).toThrow(/PERSONA_SMTP_FROM/);
  });
});

describe('email features without SMTP', () => {
  let server: IdentityTestServer;
  let tenant: Tenant;
  beforeAll(async () => {
    server = await startIdentityServer('sqlite');
    tenant = await createTenant(server, 'no smtp');
  });
  afterAll(() => server?.close());

  it('answers 409 email_not_configured', async () => {
    const started = await server.json('POST', `/p/${tenant.projectId}/auth/email/start`, {
      ...asUser(),
      body: { email: 'someone@example.test' },
    });
    expect(started.status).toBe(409);
    expect(started.body.code).toBe('email_not_configured');
    expect(started.body.detail).toBe('Email is not configured on this server.');
  });
});

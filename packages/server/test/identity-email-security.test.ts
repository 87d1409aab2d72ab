import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  updateIdentityPolicy,
} from './identity-helpers.js';
import { oktaUser, PATCH_SCHEMA, scimCall, scimKey } from './scim-helpers.js';
import { codeAndLink, SmtpCapture } from './smtp-capture.js';

let ips = 0;
function freshIp(): string {
  ips += 1;
  return `203.0.113.${ips}`;
}

const ATTACKER_PASSWORD = 'attacker-chosen-lantern-11';
const VICTIM_PASSWORD = 'victim-chosen-meadow-field-22';

/** The review's findings on email codes, magic links and pending registrations, end to end. */
describe.each(ENGINES)('email security (%s)', (engine) => {
  let server: IdentityTestServer;
  let smtp: SmtpCapture;
  let tenant: Tenant;

  beforeAll(async () => {
    smtp = new SmtpCapture();
    server = await startIdentityServer(engine, {
      PERSONA_SMTP_URL: await smtp.start(),
      PERSONA_SMTP_FROM: 'no-reply@example.test',
    });
    tenant = await createTenant(server, 'email security');
    await updateIdentityPolicy(server, tenant, { registration: true, registrationVerifiesEmail: true });
    await enableEmailSignIn(server, tenant);
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const base = () => `/p/${tenant.projectId}`;
  const uniqueEmail = () => `sec${Math.random().toString(36).slice(2, 10)}@example.test`;

  const register = (email: string, password: string, ip = freshIp()) =>
    server.json('POST', `${base()}/auth/register`, { ...asUser(undefined, ip), body: { email, password } });
  const confirm = (email: string, code: string, password: string) =>
    server.json('POST', `${base()}/auth/register/confirm`, {
      ...asUser(undefined, freshIp()),
      body: { email, code, password },
    });
  const start = (email: string, ip: string) =>
    server.json('POST', `${base()}/auth/email/start`, { ...asUser(undefined, ip), body: { email } });
  const verify = (email: string, code: string, ip = freshIp()) =>
    server.json('POST', `${base()}/auth/email/verify`, { ...asUser(undefined, ip), body: { email, code } });

  async function verifiedUser() {
    const email = uniqueEmail();
    return { ...(await createUser(server, tenant, { email, emailVerified: true })), email };
  }

  /** Lets the background sends of earlier requests arrive, then the mails to `email` so far. */
  async function settledMailTo(email: string, atLeast: number) {
    await smtp.mailTo(email, atLeast);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return smtp.messages.filter((message) => message.to.includes(email));
  }

  describe('pre-account-takeover through a pending registration', () => {
    it('attacker first: the mailbox owner cannot activate the attacker’s password', async () => {
      const victim = uniqueEmail();
      expect((await register(victim, ATTACKER_PASSWORD)).status).toBe(202);
      // The victim registers too; the answer is the same, and the attacker's password is not replaced.
      expect((await register(victim, VICTIM_PASSWORD)).status).toBe(202);
      const mails = await settledMailTo(victim, 1);
      expect(mails[0]?.subject).toBe('Confirm your new account');
      expect(mails[0]?.raw).toContain('An account was created with this address.');
      expect(mails[0]?.raw).toContain("If this wasn't you, ignore this email");
      const { code } = codeAndLink(mails.at(-1) as never);

      // The victim confirms with their own password: refused, the account stays pending.
      expect((await confirm(victim, code, VICTIM_PASSWORD)).status).toBe(401);
      expect((await login(server, tenant.projectId, victim, ATTACKER_PASSWORD, freshIp())).status).toBe(401);
      // The attacker, without the mailbox, cannot confirm either.
      expect((await confirm(victim, '00000000', ATTACKER_PASSWORD)).status).toBe(401);
      expect((await login(server, tenant.projectId, victim, ATTACKER_PASSWORD, freshIp())).status).toBe(401);

      // After a day the pending registration is gone and the victim can register the address.
      server.clock.advance(24 * 3_600_000 + 1_000);
      await server.identity.purgeExpired();
      expect((await register(victim, VICTIM_PASSWORD)).status).toBe(202);
      const fresh = codeAndLink((await smtp.mailTo(victim, mails.length + 1)).at(-1) as never);
      expect((await confirm(victim, fresh.code, VICTIM_PASSWORD)).status).toBe(200);
      expect((await login(server, tenant.projectId, victim, VICTIM_PASSWORD, freshIp())).status).toBe(200);
      expect((await login(server, tenant.projectId, victim, ATTACKER_PASSWORD, freshIp())).status).toBe(401);
    });

    it('victim first: a later registration does not replace the victim’s password', async () => {
      const victim = uniqueEmail();
      expect((await register(victim, VICTIM_PASSWORD)).status).toBe(202);
      await smtp.mailTo(victim, 1);
      server.clock.advance(61_000);
      expect((await register(victim, ATTACKER_PASSWORD)).status).toBe(202);
      const mails = await settledMailTo(victim, 2);
      const { code } = codeAndLink(mails.at(-1) as never);
      expect((await confirm(victim, code, VICTIM_PASSWORD)).status).toBe(200);
      expect((await login(server, tenant.projectId, victim, VICTIM_PASSWORD, freshIp())).status).toBe(200);
      expect((await login(server, tenant.projectId, victim, ATTACKER_PASSWORD, freshIp())).status).toBe(401);
    });

    it('a wrong password costs one of the code’s five attempts', async () => {
      const email = uniqueEmail();
      await register(email, VICTIM_PASSWORD);
      const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);
      for (let i = 0; i < 5; i += 1) expect((await confirm(email, code, ATTACKER_PASSWORD)).status).toBe(401);
      expect((await confirm(email, code, VICTIM_PASSWORD)).status).toBe(401);
    });

    it('two concurrent registrations of one new address both answer 202', async () => {
      const email = uniqueEmail();
      const answers = await Promise.all([
        register(email, VICTIM_PASSWORD),
        register(email, ATTACKER_PASSWORD),
      ]);
      expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
      expect(answers[0]?.body).toEqual(answers[1]?.body);
      const rows = await server.db
        .selectFrom('identity_users')
        .select('id')
        .where('project_id', '=', tenant.projectId)
        .where('email_normalized', '=', email)
        .execute();
      expect(rows).toHaveLength(1);
    });

    it('admin and SCIM creation take over an address or username held only by a pending registration', async () => {
      const email = uniqueEmail();
      expect((await register(email, ATTACKER_PASSWORD)).status).toBe(202);
      const created = await server.json('POST', `/v1/projects/${tenant.projectId}/users`, {
        key: tenant.keys.developer,
        body: { username: `admin${Date.now()}`, email, password: GOOD_PASSWORD },
      });
      expect(created.status).toBe(201);
      expect((await login(server, tenant.projectId, email, GOOD_PASSWORD, freshIp())).status).toBe(200);

      const scimEmail = uniqueEmail();
      expect((await register(scimEmail, ATTACKER_PASSWORD)).status).toBe(202);
      const scim = scimCall(server, await scimKey(server, tenant));
      const provisioned = await scim('POST', `${base()}/scim/v2/Users`, oktaUser(scimEmail));
      expect(provisioned.status).toBe(201);
      // A settled account still answers 409.
      const duplicate = await server.json('POST', `/v1/projects/${tenant.projectId}/users`, {
        key: tenant.keys.developer,
        body: { email },
      });
      expect(duplicate.status).toBe(409);
    });
  });

  describe('email sign-in policy', () => {
    it('is off by default, and then offers and sends nothing', async () => {
      const off = await createTenant(server, 'email sign-in off');
      const policy = await server.json('GET', `/v1/projects/${off.projectId}/identity-policy`, {
        key: off.keys.admin,
      });
      expect(policy.body.emailSignIn).toBe(false);
      const email = uniqueEmail();
      await createUser(server, off, { email, emailVerified: true });
      const started = await server.json('POST', `/p/${off.projectId}/auth/email/start`, {
        ...asUser(undefined, freshIp()),
        body: { email },
      });
      expect(started.status).toBe(403);
      expect(started.body.code).toBe('email_sign_in_disabled');
      const page = await server.call('GET', `/p/${off.projectId}/pages/account/sign-in`, { key: null });
      expect(await page.text()).not.toContain('Email me a sign-in code');
      const emailPage = await server.call('GET', `/p/${off.projectId}/pages/account/email`, { key: null });
      expect(emailPage.status).toBe(404);
      const onPage = await server.call('GET', `${base()}/pages/account/sign-in`, { key: null });
      expect(await onPage.text()).toContain('Email me a sign-in code');
    });

    it('mails only users whose email is verified', async () => {
      const ip = freshIp();
      const unverified = uniqueEmail();
      await createUser(server, tenant, { email: unverified });
      const verified = await verifiedUser();
      expect((await start(unverified, ip)).status).toBe(202);
      expect((await start(verified.email, ip)).status).toBe(202);
      await settledMailTo(verified.email, 1);
      expect(smtp.messages.filter((message) => message.to.includes(unverified))).toEqual([]);
    });
  });

  describe('codes bound to the address they were sent to', () => {
    it('a sign-in code dies when SCIM changes the email', async () => {
      const ip = freshIp();
      const scim = scimCall(server, await scimKey(server, tenant));
      const email = uniqueEmail();
      const created = await scim('POST', `${base()}/scim/v2/Users`, oktaUser(email));
      expect(created.status).toBe(201);
      await server.json('PATCH', `/v1/projects/${tenant.projectId}/users/${created.body.id}`, {
        key: tenant.keys.developer,
        body: { emailVerified: true },
      });
      await start(email, ip);
      const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);
      const moved = uniqueEmail();
      const patched = await scim('PATCH', `${base()}/scim/v2/Users/${created.body.id}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'Replace', path: 'emails[type eq "work"].value', value: moved }],
      });
      expect(patched.status).toBe(200);
      const live = await server.db
        .selectFrom('identity_email_codes')
        .select('id')
        .where('user_id', '=', created.body.id)
        .execute();
      expect(live).toEqual([]);
      expect((await verify(email, code)).status).toBe(401);
    });

    it('a verification code for address A cannot verify address B', async () => {
      const email = uniqueEmail();
      const user = await createUser(server, tenant, { email });
      const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD, freshIp())).body
        .token;
      expect((await server.json('POST', `${base()}/account/email/verification`, asUser(token))).status).toBe(
        202,
      );
      const { code } = codeAndLink((await smtp.mailTo(email))[0] as never);
      // The address changes underneath the live code (as any path that changes it without the service
      // would): the code is bound to A and refuses to verify B.
      await server.db
        .updateTable('identity_users')
        .set({ email: 'b-address@example.test', email_normalized: 'b-address@example.test' })
        .where('id', '=', user.id)
        .execute();
      const confirmed = await server.json('POST', `${base()}/account/email/verification/confirm`, {
        ...asUser(token),
        body: { code },
      });
      expect(confirmed.status).toBe(401);
      const account = await server.json('GET', `${base()}/account`, asUser(token));
      expect(account.body.emailVerified).toBe(false);
    });
  });

  describe('lock-out by flooding', () => {
    it('requests from other clients re-send the victim’s live code instead of replacing it', async () => {
      const victim = await verifiedUser();
      const victimIp = freshIp();
      await start(victim.email, victimIp);
      const first = codeAndLink((await smtp.mailTo(victim.email))[0] as never);
      // An attacker floods from many addresses; the global cap (3 a minute) stops the mail after two more.
      for (let i = 0; i < 6; i += 1) expect((await start(victim.email, freshIp())).status).toBe(202);
      const mails = await settledMailTo(victim.email, 3);
      expect(mails).toHaveLength(3);
      for (const mail of mails) expect(codeAndLink(mail as never)).toEqual(first);
      expect((await verify(victim.email, first.code, victimIp)).status).toBe(200);
    });

    it('concurrent requests from many clients pass the caps exactly and all carry one code', async () => {
      const victim = await verifiedUser();
      const answers = await Promise.all(Array.from({ length: 6 }, () => start(victim.email, freshIp())));
      expect(answers.every((answer) => answer.status === 202)).toBe(true);
      const mails = await settledMailTo(victim.email, 3);
      expect(mails).toHaveLength(3);
      const codes = new Set(mails.map((mail) => codeAndLink(mail as never).code));
      expect(codes.size).toBe(1);
    });
  });

  it('one code used twice at once signs in exactly once', async () => {
    const user = await verifiedUser();
    const ip = freshIp();
    await start(user.email, ip);
    const { code } = codeAndLink((await smtp.mailTo(user.email))[0] as never);
    const answers = await Promise.all([verify(user.email, code, ip), verify(user.email, code, ip)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401]);
  });
});

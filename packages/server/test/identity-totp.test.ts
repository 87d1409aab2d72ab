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
  updateIdentityPolicy,
} from './identity-helpers.js';

describe.each(ENGINES)('TOTP and recovery codes (%s)', (engine) => {
  let server: IdentityTestServer;
  let tenant: Tenant;

  beforeAll(async () => {
    server = await startIdentityServer(engine);
    tenant = await createTenant(server, 'identity totp');
  });
  afterAll(() => server?.close());

  const base = () => `/p/${tenant.projectId}`;

  /** A user with TOTP enrolled: their secret and recovery codes. */
  async function enrolledUser() {
    const user = await createUser(server, tenant);
    const token = (await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.token;
    const enrollment = await server.json('POST', `${base()}/account/totp`, asUser(token));
    expect(enrollment.status).toBe(200);
    expect(enrollment.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/PersonaChain:.+\?.*secret=/);
    const secret: string = enrollment.body.secret;
    const wrong = await server.json('POST', `${base()}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: codeAt(secret, server.clock.at) === '000000' ? '111111' : '000000' },
    });
    expect(wrong.status).toBe(403);
    const confirmed = await server.json('POST', `${base()}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: codeAt(secret, server.clock.at) },
    });
    expect(confirmed.status).toBe(200);
    const recoveryCodes: string[] = confirmed.body.recoveryCodes;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    // The next code is of a later step: the enrollment code cannot be replayed at sign-in.
    server.clock.advance(30_000);
    return { ...user, secret, recoveryCodes, token };
  }

  async function challenge(username: string): Promise<string> {
    const first = await login(server, tenant.projectId, username, GOOD_PASSWORD);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('mfa_required');
    expect(first.body.token).toBeUndefined();
    return first.body.challenge;
  }

  const second = (body: Record<string, unknown>) =>
    server.json('POST', `${base()}/auth/login/totp`, { ...asUser(), body });

  it('stores the secret encrypted, and signs in with a current code', async () => {
    const user = await enrolledUser();
    const row = await server.db
      .selectFrom('identity_users')
      .select(['totp_secret'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.totp_secret).not.toContain(user.secret);
    expect(Buffer.from(row.totp_secret as string, 'base64url').toString('latin1')).not.toContain(user.secret);

    const signed = await second({
      challenge: await challenge(user.username),
      code: codeAt(user.secret, server.clock.at),
    });
    expect(signed.status).toBe(200);
    expect(signed.body.session.amr).toEqual(['pwd', 'otp']);
  });

  it('refuses a wrong code, an old code, and a replayed code', async () => {
    const user = await enrolledUser();
    const id = await challenge(user.username);
    const now = server.clock.at;
    const current = codeAt(user.secret, now);
    const wrong = current === '123456' ? '654321' : '123456';
    expect((await second({ challenge: id, code: wrong })).body.code).toBe('invalid_code');
    const old = codeAt(user.secret, now - 90_000);
    if (old !== current) expect((await second({ challenge: id, code: old })).status).toBe(401);
    expect((await second({ challenge: id, code: current })).status).toBe(200);

    // The same code again, on a fresh challenge: a replay.
    const replay = await second({ challenge: await challenge(user.username), code: current });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('invalid_code');
    // The previous step's code (inside the ±1 window) is older than the one used: refused too.
    const previous = await second({
      challenge: await challenge(user.username),
      code: codeAt(user.secret, now - 30_000),
    });
    expect(previous.status).toBe(401);
    server.clock.advance(30_000);
    const next = await second({
      challenge: await challenge(user.username),
      code: codeAt(user.secret, server.clock.at),
    });
    expect(next.status).toBe(200);
  });

  it('a challenge dies after 5 attempts', async () => {
    const user = await enrolledUser();
    const id = await challenge(user.username);
    for (let i = 0; i < 5; i++) {
      expect(
        (
          await second({
            challenge: id,
            code: '000000' === codeAt(user.secret, server.clock.at) ? '111111' : '000000',
          })
        ).status,
      ).toBe(401);
    }
    const after = await second({ challenge: id, code: codeAt(user.secret, server.clock.at) });
    expect(after.status).toBe(401);
  });

  it('accepts each recovery code once, and regenerates them', async () => {
    const user = await enrolledUser();
    const [code] = user.recoveryCodes as [string];
    const used = await second({
      challenge: await challenge(user.username),
      recoveryCode: code.toUpperCase(),
    });
    expect(used.status).toBe(200);
    expect(used.body.session.amr).toEqual(['pwd', 'mfa']);
    const again = await second({ challenge: await challenge(user.username), recoveryCode: code });
    expect(again.status).toBe(401);

    const regenerated = await server.json('POST', `${base()}/account/totp/recovery-codes`, {
      ...asUser(used.body.token),
      body: { code: codeAt(user.secret, server.clock.at) },
    });
    expect(regenerated.status).toBe(200);
    const oldSecond = user.recoveryCodes[1] as string;
    expect(
      (await second({ challenge: await challenge(user.username), recoveryCode: oldSecond })).status,
    ).toBe(401);
    const fresh = regenerated.body.recoveryCodes[0];
    expect((await second({ challenge: await challenge(user.username), recoveryCode: fresh })).status).toBe(
      200,
    );
  });

  it('disables TOTP with a current code, and admins can reset it', async () => {
    const user = await enrolledUser();
    const disabled = await server.call('POST', `${base()}/account/totp/disable`, {
      ...asUser(user.token),
      body: { code: codeAt(user.secret, server.clock.at) },
    });
    expect(disabled.status).toBe(204);
    expect((await login(server, tenant.projectId, user.username, GOOD_PASSWORD)).body.status).toBe(
      'signed_in',
    );

    const other = await enrolledUser();
    const reset = await server.call('DELETE', `/v1/projects/${tenant.projectId}/users/${other.id}/mfa`, {
      key: tenant.keys.developer,
    });
    expect(reset.status).toBe(204);
    const signed = await login(server, tenant.projectId, other.username, GOOD_PASSWORD);
    expect(signed.body.status).toBe('signed_in');
    const codes = await server.db
      .selectFrom('identity_recovery_codes')
      .selectAll()
      .where('user_id', '=', other.id)
      .execute();
    expect(codes).toHaveLength(0);
  });

  it('backs off wrong codes sent inside a session, so a stolen session cannot guess its way to disabling TOTP', async () => {
    const user = await enrolledUser();
    const right = codeAt(user.secret, server.clock.at);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const refused = await server.call('POST', `${base()}/account/totp/disable`, {
        ...asUser(user.token),
        body: { code: wrong },
      });
      expect(refused.status).toBe(403);
    }
    const locked = await server.json('POST', `${base()}/account/totp/disable`, {
      ...asUser(user.token),
      body: { code: right },
    });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('locked');
    server.clock.advance(1_100);
    const allowed = await server.call('POST', `${base()}/account/totp/disable`, {
      ...asUser(user.token),
      body: { code: codeAt(user.secret, server.clock.at) },
    });
    expect(allowed.status).toBe(204);
  });

  it('when the project requires MFA, a new session may only enroll TOTP', async () => {
    const strict = await createTenant(server, 'identity strict');
    await updateIdentityPolicy(server, strict, { mfa: 'required' });
    const user = await createUser(server, strict);
    const signed = await login(server, strict.projectId, user.username, GOOD_PASSWORD);
    expect(signed.body.mfaEnrollmentRequired).toBe(true);
    const token = signed.body.token;
    const p = `/p/${strict.projectId}`;
    expect((await server.json('GET', `${p}/account/sessions`, asUser(token))).status).toBe(403);
    const enrollment = await server.json('POST', `${p}/account/totp`, asUser(token));
    const confirmed = await server.json('POST', `${p}/account/totp/confirm`, {
      ...asUser(token),
      body: { code: codeAt(enrollment.body.secret, server.clock.at) },
    });
    expect(confirmed.status).toBe(200);
    expect((await server.json('GET', `${p}/account/sessions`, asUser(token))).status).toBe(200);
    server.clock.advance(30_000);
    const refused = await server.json('POST', `${p}/account/totp/disable`, {
      ...asUser(token),
      body: { code: codeAt(enrollment.body.secret, server.clock.at) },
    });
    expect(refused.status).toBe(409);
  });
});

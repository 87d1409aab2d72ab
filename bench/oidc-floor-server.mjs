// The floor of bench/oidc-login.mjs: the same login flow served by oidc-provider alone — the engine
// ARCHITECTURE.md chose — with its in-memory adapter and none of the platform: no database, no
// users, no password check, no CSRF, no audit, no rate limits, no Fastify. What the platform adds to a
// login is the benchmark's latency minus this one's; this one is as fast as a login through the engine can
// be on the machine. Configured as the platform's issuers are (provider.ts): the same features, claims,
// PKCE, ES256 ID tokens, token lifetimes and a first-party grant made at sign-in, so no consent step.
// Listens on PERSONA_HOST:PERSONA_PORT (as bench/server.mjs starts servers) and answers /healthz.
// Never a way to run anything.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { TTL } from '../packages/server/dist/modules/oidc/token-lifetimes.js';

/** The one client; bench/oidc-login.mjs logs in with it. */
const FLOOR_CLIENT_ID = 'floor-spa';

const host = process.env.PERSONA_HOST ?? '127.0.0.1';
const port = Number(process.env.PERSONA_PORT ?? 0);
const redirectUri = process.env.FLOOR_REDIRECT_URI ?? 'http://127.0.0.1:9/callback';
const issuer = `http://${host}:${port}`;
const SCOPE = 'openid profile email';

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: FLOOR_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [{ ...signingKey, alg: 'ES256', use: 'sig', kid: 'floor' }] },
  scopes: SCOPE.split(' '),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  clientBasedCORS: () => false,
  findAccount: async (_ctx, accountId) => ({
    accountId,
    claims: async () => ({
      sub: accountId,
      preferred_username: accountId,
      email: `${accountId}@bench.test`,
      email_verified: true,
    }),
  }),
  claims: {
    sid: null,
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: TTL,
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    resourceIndicators: { enabled: true, defaultResource: async () => undefined },
  },
});

const escapeHtml = (text) => text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

/** The sign-in page: a form with the fields the benchmark's browser fills in. */
function signInPage(uid) {
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head><body>' +
    `<form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
    '<input name="identifier" autocomplete="username"><input name="password" type="password">' +
    '<button type="submit">Sign in</button></form></body></html>'
  );
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The interaction routes: the page, then sign-in as whoever is named, with a first-party grant. */
async function interaction(req, res, path) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && action === undefined) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(signInPage(uid));
    return;
  }
  if (req.method !== 'POST' || action !== 'login') {
    res.writeHead(404).end();
    return;
  }
  const accountId = (await readForm(req)).get('identifier');
  if (!accountId) {
    res.writeHead(400).end();
    return;
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const oidc = provider.callback();
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', issuer).pathname;
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  if (!path.startsWith('/interaction/')) {
    oidc(req, res);
    return;
  }
  interaction(req, res, path).catch((error) => {
    process.stderr.write(`floor interaction: ${error.stack}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, host);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

import {
  deriveKeyEncryptionKey,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
} from '@personachain/crypto';
import { describe, expect, it } from 'vitest';
import { AccessTokenVerifier } from '../src/modules/oidc/access-tokens.js';
import type { ClientIdentity } from '../src/modules/oidc/clients.js';
import { IssuerKeys } from '../src/modules/oidc/signing-keys.js';
import { memoryKeyStates } from './oidc-helpers.js';

const PUBLIC_URL = 'https://persona.test';
const AUDIENCE = `${PUBLIC_URL}/v1`;
const PROJECT_A = `prj_${'a'.repeat(32)}`;
const PROJECT_B = `prj_${'b'.repeat(32)}`;
const CLIENT = `oc_${'c'.repeat(32)}`;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An EdDSA JWT signed by the key store, as the provider signs through its external-signing keys. */
async function signToken(keys: IssuerKeys, keyStore: LocalKeyStore, projectId: string, claims: object) {
  const key = (await keys.list(projectId)).find(
    (candidate) => candidate.alg === 'EdDSA' && candidate.state === 'active',
  );
  if (!key) throw new Error('no key');
  const input = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid })}.${b64(claims)}`;
  const signature = await keyStore.sign(key.kid, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

const BEARER = { scheme: 'Bearer' } as const;

function setup(now: () => number) {
  const keyStore = new LocalKeyStore({
    kek: deriveKeyEncryptionKey(randomBytes(32)),
    repository: new MemoryKeyRepository(),
  });
  const keys = new IssuerKeys(keyStore, memoryKeyStates(), now);
  const identity: ClientIdentity = {
    clientId: CLIENT,
    projectId: PROJECT_A,
    orgId: `org_${'0'.repeat(32)}`,
    role: 'developer',
  };
  const verifier = new AccessTokenVerifier(
    PUBLIC_URL,
    AUDIENCE,
    keys,
    async (projectId, clientId) =>
      projectId === identity.projectId && clientId === CLIENT ? identity : undefined,
    now,
  );
  return { keyStore, keys, verifier };
}

const claimsAt = (nowSeconds: number, extra: object = {}) => ({
  iss: `${PUBLIC_URL}/p/${PROJECT_A}/oidc`,
  aud: AUDIENCE,
  client_id: CLIENT,
  sub: CLIENT,
  jti: 'j1',
  iat: nowSeconds,
  exp: nowSeconds + 600,
  scope: 'issuers:read read:other',
  ...extra,
});

describe('access-token verifier', () => {
  it('turns a valid token into the client\u2019s principal with its platform scopes', async () => {
    const now = Date.now();
    const { keyStore, keys, verifier } = setup(() => now);
    const token = await signToken(keys, keyStore, PROJECT_A, claimsAt(Math.floor(now / 1000)));
    expect(await verifier.authenticate(token, BEARER)).toMatchObject({
      kind: 'project',
      keyId: CLIENT,
      role: 'developer',
      projectId: PROJECT_A,
      scopes: ['issuers:read'],
    });
  });

  it('refuses expired tokens, even ones verified before', async () => {
    let now = Date.now();
    const { keyStore, keys, verifier } = setup(() => now);
    const token = await signToken(keys, keyStore, PROJECT_A, claimsAt(Math.floor(now / 1000)));
    expect(await verifier.authenticate(token, BEARER)).not.toBeNull();
    now += 601_000;
    expect(await verifier.authenticate(token, BEARER)).toBeNull();
  });

  it('refuses another audience and a token signed by another project\u2019s key', async () => {
    const now = Date.now();
    const seconds = Math.floor(now / 1000);
    const { keyStore, keys, verifier } = setup(() => now);
    expect(
      await verifier.authenticate(
        await signToken(keys, keyStore, PROJECT_A, claimsAt(seconds, { aud: 'https://other.test' })),
        BEARER,
      ),
    ).toBeNull();
    // Signed by project B's key but claiming project A's issuer.
    expect(
      await verifier.authenticate(await signToken(keys, keyStore, PROJECT_B, claimsAt(seconds)), BEARER),
    ).toBeNull();
  });

  it('accepts a DPoP-bound token only with the DPoP scheme and a proof key of the bound thumbprint', async () => {
    const now = Date.now();
    const seconds = Math.floor(now / 1000);
    const { keyStore, keys, verifier } = setup(() => now);
    const bound = await signToken(keys, keyStore, PROJECT_A, claimsAt(seconds, { cnf: { jkt: 'thumb-1' } }));
    expect(await verifier.authenticate(bound, { scheme: 'DPoP', jkt: 'thumb-1' })).toMatchObject({
      keyId: CLIENT,
    });
    // Verified once and cached: the binding is still checked on every use.
    expect(await verifier.authenticate(bound, BEARER)).toBeNull();
    expect(await verifier.authenticate(bound, { scheme: 'DPoP', jkt: 'thumb-2' })).toBeNull();

    const unbound = await signToken(keys, keyStore, PROJECT_A, claimsAt(seconds, { jti: 'j2' }));
    expect(await verifier.authenticate(unbound, { scheme: 'DPoP', jkt: 'thumb-1' })).toBeNull();
    expect(await verifier.authenticate(unbound, BEARER)).not.toBeNull();

    // A confirmation the API cannot check (mTLS) refuses the token whatever the scheme.
    const mtls = await signToken(keys, keyStore, PROJECT_A, claimsAt(seconds, { cnf: { 'x5t#S256': 'x' } }));
    expect(await verifier.authenticate(mtls, BEARER)).toBeNull();
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { base64url, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { NONCE_TTL_SECONDS, NonceCodec } from '../src/modules/oid4vci/nonces.js';
import { OAuthError } from '../src/modules/oid4vci/oauth-error.js';
import { type ProofExpectations, verifyProof } from '../src/modules/oid4vci/proof.js';
import { OfferSecrets, sameDigest, secretHash } from '../src/modules/oid4vci/secrets.js';

const MASTER = new Uint8Array(32).fill(7);
const PROJECT = `prj_${'1'.repeat(32)}`;
const OTHER = `prj_${'2'.repeat(32)}`;

describe('c_nonces', () => {
  const codec = new NonceCodec(MASTER);
  const now = 1_800_000_000;

  it('live for NONCE_TTL_SECONDS, for the project that issued them only', () => {
    const { nonce, expiresAt } = codec.issue(PROJECT, now);
    expect(expiresAt).toBe(now + NONCE_TTL_SECONDS);
    expect(codec.check(PROJECT, nonce, now + NONCE_TTL_SECONDS - 1)).toBe(expiresAt);
    expect(codec.check(PROJECT, nonce, now + NONCE_TTL_SECONDS)).toBeUndefined();
    expect(codec.check(OTHER, nonce, now)).toBeUndefined();
    expect(new NonceCodec(new Uint8Array(32).fill(8)).check(PROJECT, nonce, now)).toBeUndefined();
  });

  it('refuses altered and malformed nonces', () => {
    const { nonce } = codec.issue(PROJECT, now);
    const bytes = base64url.decode(nonce);
    // A later expiry written into the nonce breaks its MAC.
    bytes[16 + 7] = (bytes[16 + 7] ?? 0) ^ 1;
    expect(codec.check(PROJECT, base64url.encode(bytes), now)).toBeUndefined();
    for (const bad of ['', 'abc', `${nonce}A`, nonce.slice(1), `${nonce.slice(0, -1)}+`]) {
      expect(codec.check(PROJECT, bad, now)).toBeUndefined();
    }
    expect(codec.issue(PROJECT, now).nonce).not.toBe(nonce);
  });
});

describe('offer secrets', () => {
  it('derives the code from the offer id under the master key; tx_code digests are bound to the offer', () => {
    const secrets = new OfferSecrets(MASTER);
    const offer = `cof_${'a'.repeat(32)}`;
    expect(secrets.preAuthorizedCode(offer)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secrets.preAuthorizedCode(offer)).toBe(secrets.preAuthorizedCode(offer));
    expect(new OfferSecrets(new Uint8Array(32)).preAuthorizedCode(offer)).not.toBe(
      secrets.preAuthorizedCode(offer),
    );
    const digest = secrets.txCodeDigest(offer, '123456');
    expect(sameDigest(digest, secrets.txCodeDigest(offer, '123456'))).toBe(true);
    expect(sameDigest(digest, secrets.txCodeDigest(offer, '123457'))).toBe(false);
    expect(sameDigest(digest, secrets.txCodeDigest(`cof_${'b'.repeat(32)}`, '123456'))).toBe(false);
    expect(sameDigest(digest, digest.slice(2))).toBe(false);
    expect(secretHash('x')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('proof of possession JWTs', () => {
  const audience = 'https://issuer.test/oid4vci/prj_1';
  const now = new Date('2026-01-01T00:00:00Z');
  const iat = now.getTime() / 1000;
  const ed = generateKeyPairSync('ed25519');
  const edJwk = ed.publicKey.export({ format: 'jwk' }) as JWK;
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p256Jwk = p256.publicKey.export({ format: 'jwk' }) as JWK;
  const did = 'did:example:holder';
  const expectations: ProofExpectations = {
    audience,
    now,
    resolveDidKey: async (url) => (url === `${did}#key-1` ? edJwk : undefined),
  };
  const jwt = (
    header: Record<string, unknown>,
    payload: Record<string, unknown> = { aud: audience, iat, nonce: 'n' },
    key = ed.privateKey,
  ) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'openid4vci-proof+jwt', ...header })
      .sign(key);
  const refused = async (proof: string | Promise<string>, code = 'invalid_proof') => {
    const error = await verifyProof(await proof, expectations).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).code).toBe(code);
    return (error as OAuthError).message;
  };

  it('accepts a DID-named key and a bare public JWK (EdDSA and ES256)', async () => {
    const byDid = await verifyProof(await jwt({ kid: `${did}#key-1` }), expectations);
    expect(byDid).toEqual({ nonce: 'n', key: { did, jwk: { kty: 'OKP', crv: 'Ed25519', x: edJwk.x } } });
    const byJwk = await verifyProof(await jwt({ jwk: edJwk }), expectations);
    expect(byJwk.key).toEqual({ did: null, jwk: { kty: 'OKP', crv: 'Ed25519', x: edJwk.x } });
    const es256 = await new SignJWT({ aud: [audience, 'x'], iat, nonce: 'n' })
      .setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: p256Jwk })
      .sign(p256.privateKey);
    expect((await verifyProof(es256, expectations)).key.jwk).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: p256Jwk.x,
      y: p256Jwk.y,
    });
  });

  it('refuses what the spec refuses', async () => {
    await refused('not.a.jwt');
    await refused(jwt({ kid: `${did}#key-1`, typ: 'JWT' }));
    await refused(jwt({ kid: `${did}#key-1`, x5c: ['MIIB'] }));
    await refused(jwt({}));
    await refused(jwt({ kid: `${did}#key-1`, jwk: edJwk }));
    await refused(jwt({ kid: 'key-1' }));
    await refused(jwt({ kid: did }));
    await refused(jwt({ kid: `${did}#key-2` }));
    await refused(jwt({ jwk: { ...edJwk, d: 'private' } }));
    // A P-256 key for EdDSA, and a signature of another key than the one named.
    await refused(jwt({ jwk: p256Jwk }));
    await refused(jwt({ kid: `${did}#key-1` }, undefined, generateKeyPairSync('ed25519').privateKey));
    expect(
      await refused(jwt({ kid: `${did}#key-1` }, { aud: 'https://other.test', iat, nonce: 'n' })),
    ).toContain('aud');
    await refused(jwt({ kid: `${did}#key-1` }, { aud: audience, nonce: 'n' }));
    await refused(jwt({ kid: `${did}#key-1` }, { aud: audience, iat: iat - 301, nonce: 'n' }));
    await refused(jwt({ kid: `${did}#key-1` }, { aud: audience, iat: iat + 301, nonce: 'n' }));
    expect(
      await refused(jwt({ kid: `${did}#key-1` }, { aud: audience, iat, nonce: 'n', exp: iat - 10 })),
    ).toContain('expired');
    await refused(jwt({ kid: `${did}#key-1` }, { aud: audience, iat }), 'invalid_nonce');
    // Unsigned (alg none) and HMAC proofs.
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'openid4vci-proof+jwt', jwk: edJwk }));
    const body = base64url.encode(JSON.stringify({ aud: audience, iat, nonce: 'n' }));
    await refused(`${header}.${body}.`);
    const hmac = await new SignJWT({ aud: audience, iat, nonce: 'n' })
      .setProtectedHeader({ alg: 'HS256', typ: 'openid4vci-proof+jwt', kid: `${did}#key-1` })
      .sign(new Uint8Array(32));
    await refused(hmac);
  });

  it('says why a DID key could not be resolved', async () => {
    const error = await verifyProof(await jwt({ kid: 'did:example:gone#k' }), {
      ...expectations,
      resolveDidKey: async () => {
        throw new Error('notFound');
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).code).toBe('invalid_proof');
    expect((error as OAuthError).message).toContain('notFound');
  });
});

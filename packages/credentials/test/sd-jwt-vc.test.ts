import { readFileSync } from 'node:fs';
import {
  exportJwk,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
  type SignatureAlgorithm,
} from '@personachain/crypto';
import { base64url, decodeProtectedHeader, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCompactJws } from '../src/jose/compact.js';
import { keyStoreJwsSigner, type ResolveKey } from '../src/jose/index.js';
import { issueSdJwtVc, presentSdJwtVc, verifySdJwtVc } from '../src/sd-jwt/index.js';
import { failure, key } from './jose-helpers.js';

const ISSUER = 'https://issuer.example';
const VERIFIER = 'https://verifier.example';
const nowSeconds = Math.floor(Date.parse('2026-06-01T00:00:00Z') / 1000);
const now = nowSeconds * 1000;

const claims = {
  vct: 'https://credentials.example/identity_credential',
  iss: ISSUER,
  given_name: 'Erika',
  family_name: 'Mustermann',
  birthdate: '1963-08-12',
  address: { street_address: 'Heidestraße 17', locality: 'Köln', country: 'DE' },
  nationalities: ['DE', 'FR'],
};
const disclosable = [
  ['given_name'],
  ['family_name'],
  ['birthdate'],
  ['address'],
  ['address', 'street_address'],
  ['nationalities', 0],
  ['nationalities', 1],
] as const;

async function setup(algorithm: SignatureAlgorithm = 'P-256') {
  const issuer = await key(algorithm, `${ISSUER}#key-1`);
  const holder = await key('Ed25519', 'holder-key');
  const resolveKey: ResolveKey = async (kid, iss) =>
    kid === issuer.signer.kid && iss === ISSUER ? issuer.jwk : undefined;
  const sdJwt = await issueSdJwtVc({
    claims,
    signer: issuer.signer,
    disclosable,
    holderKey: holder.jwk,
    issuedAt: nowSeconds - 60,
    expiresAt: nowSeconds + 3600,
  });
  return { issuer, holder, resolveKey, sdJwt };
}

function present(
  sdJwt: string,
  holder: Awaited<ReturnType<typeof key>>,
  nonce = 'nonce-1',
  audience = VERIFIER,
) {
  return presentSdJwtVc({
    sdJwt,
    disclose: [['given_name'], ['address', 'locality'], ['nationalities', 1]],
    keyBinding: { signer: holder.signer, nonce, audience, issuedAt: nowSeconds },
  });
}

describe('SD-JWT VC issue / present / verify', () => {
  for (const [algorithm, alg] of [
    ['Ed25519', 'EdDSA'],
    ['P-256', 'ES256'],
    ['P-384', 'ES384'],
  ] as const) {
    it(`${algorithm}: typ dc+sd-jwt, only the presented claims survive verification`, async () => {
      const { holder, resolveKey, sdJwt } = await setup(algorithm);
      expect(decodeProtectedHeader(sdJwt.split('~')[0] as string)).toEqual({
        typ: 'dc+sd-jwt',
        alg,
        kid: `${ISSUER}#key-1`,
      });
      expect(sdJwt.endsWith('~')).toBe(true);

      const all = await verifySdJwtVc(sdJwt, { resolveKey, now });
      expect(all.claims).toMatchObject(claims);

      const presentation = await present(sdJwt, holder);
      const verified = await verifySdJwtVc(presentation, {
        resolveKey,
        now,
        keyBinding: { nonce: 'nonce-1', audience: VERIFIER },
      });
      expect(verified.claims).toMatchObject({
        vct: claims.vct,
        iss: ISSUER,
        given_name: 'Erika',
        address: { locality: 'Köln', country: 'DE' },
        nationalities: ['FR'],
      });
      for (const absent of ['family_name', 'birthdate']) expect(verified.claims).not.toHaveProperty(absent);
      expect(verified.claims.address).not.toHaveProperty('street_address');
      expect(verified.keyBinding?.payload).toMatchObject({ nonce: 'nonce-1', aud: VERIFIER });
    });
  }

  it('issues with a KeyStore-backed signer', async () => {
    const keyStore = new LocalKeyStore({ kek: randomBytes(32), repository: new MemoryKeyRepository() });
    const record = await keyStore.createKey({ algorithm: 'P-384', purpose: 'sd-jwt-issuer' });
    const signer = await keyStoreJwsSigner(keyStore, record.id, `${ISSUER}#${record.id}`);
    const jwk = exportJwk('P-384', record.publicKey) as JWK;
    const sdJwt = await issueSdJwtVc({ claims, signer, disclosable: [['given_name']] });
    const verified = await verifySdJwtVc(sdJwt, { resolveKey: async () => jwk });
    expect(verified.claims.given_name).toBe('Erika');
  });

  it('rejects a tampered disclosure and a tampered issuer JWT', async () => {
    const { resolveKey, sdJwt } = await setup();
    const [jwt, first, ...rest] = sdJwt.split('~') as [string, string, ...string[]];
    const [salt, name] = JSON.parse(new TextDecoder().decode(base64url.decode(first))) as [
      string,
      string,
      unknown,
    ];
    const forgedDisclosure = base64url.encode(JSON.stringify([salt, name, 'Mallory']));
    expect(
      await failure(verifySdJwtVc([jwt, forgedDisclosure, ...rest].join('~'), { resolveKey, now })),
    ).toBe('invalid-disclosure');
    expect(await failure(verifySdJwtVc([jwt, first, first, ...rest].join('~'), { resolveKey, now }))).toBe(
      'invalid-disclosure',
    );
    const [h, , s] = jwt.split('.');
    const forgedPayload = base64url.encode(
      JSON.stringify({ vct: claims.vct, iss: ISSUER, given_name: 'Mallory' }),
    );
    expect(
      await failure(verifySdJwtVc([`${h}.${forgedPayload}.${s}`, ''].join('~'), { resolveKey, now })),
    ).toBe('invalid-signature');
  });

  it('refuses a disclosure that would overwrite a claim the issuer signed in the clear', async () => {
    const issuer = await key('P-256', `${ISSUER}#key-1`);
    const resolveKey: ResolveKey = async () => issuer.jwk;
    const clash = base64url.encode(JSON.stringify(['c2FsdA', 'given_name', 'Eve']));
    const digest = base64url.encode(
      new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(clash))),
    );
    const jwt = await signCompactJws(
      { typ: 'dc+sd-jwt' },
      { ...claims, _sd: [digest], _sd_alg: 'sha-256' },
      issuer.signer,
    );
    expect(await failure(verifySdJwtVc(`${jwt}~${clash}~`, { resolveKey, now }))).toBe('invalid-disclosure');
    expect((await verifySdJwtVc(`${jwt}~`, { resolveKey, now })).claims.given_name).toBe('Erika');
  });

  it('checks the KB-JWT: nonce, audience, presence, signer and age', async () => {
    const { holder, resolveKey, sdJwt } = await setup();
    const keyBinding = { nonce: 'nonce-1', audience: VERIFIER };
    const presentation = await present(sdJwt, holder);
    expect(
      await failure(
        verifySdJwtVc(presentation, { resolveKey, now, keyBinding: { ...keyBinding, nonce: 'other' } }),
      ),
    ).toBe('nonce-mismatch');
    expect(
      await failure(
        verifySdJwtVc(presentation, {
          resolveKey,
          now,
          keyBinding: { ...keyBinding, audience: 'https://evil.example' },
        }),
      ),
    ).toBe('audience-mismatch');
    expect(await failure(verifySdJwtVc(presentation, { resolveKey, now: now + 4_000_000, keyBinding }))).toBe(
      'expired',
    );
    expect(await failure(verifySdJwtVc(presentation, { resolveKey, now: now + 600_000, keyBinding }))).toBe(
      'key-binding-invalid',
    );

    const withoutKb = await presentSdJwtVc({ sdJwt, disclose: [['given_name']] });
    expect(await failure(verifySdJwtVc(withoutKb, { resolveKey, now, keyBinding }))).toBe(
      'key-binding-required',
    );

    const mallory = await key('Ed25519', 'holder-key');
    const stolen = await present(sdJwt, mallory);
    expect(await failure(verifySdJwtVc(stolen, { resolveKey, now, keyBinding }))).toBe('invalid-signature');
  });

  it('enforces exp and nbf, and needs the issuer key', async () => {
    const { issuer, resolveKey } = await setup();
    const expired = await issueSdJwtVc({
      claims,
      signer: issuer.signer,
      issuedAt: nowSeconds - 7200,
      expiresAt: nowSeconds - 3600,
    });
    expect(await failure(verifySdJwtVc(expired, { resolveKey, now }))).toBe('expired');
    const early = await issueSdJwtVc({
      claims,
      signer: issuer.signer,
      issuedAt: nowSeconds,
      notBefore: nowSeconds + 3600,
    });
    expect(await failure(verifySdJwtVc(early, { resolveKey, now }))).toBe('not-yet-valid');
    await expect(verifySdJwtVc(early, { resolveKey, now: now + 3_600_000 })).resolves.toBeDefined();
    expect(await failure(verifySdJwtVc(expired, { resolveKey: async () => undefined, now }))).toBe(
      'unknown-key',
    );
    const other = await key('P-256', `${ISSUER}#key-1`);
    expect(
      await failure(verifySdJwtVc(expired, { resolveKey: async () => other.jwk, now: now - 5_400_000 })),
    ).toBe('invalid-signature');
  });

  it('rejects another typ, a missing vct and disallowed algorithms', async () => {
    const { resolveKey, sdJwt } = await setup();
    const [jwt, ...rest] = sdJwt.split('~') as [string, ...string[]];
    const [, payload, signature] = jwt.split('.');
    const retyped = base64url.encode(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: `${ISSUER}#key-1` }));
    expect(
      await failure(
        verifySdJwtVc([`${retyped}.${payload}.${signature}`, ...rest].join('~'), { resolveKey, now }),
      ),
    ).toBe('invalid-media-type');
    const hmac = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'dc+sd-jwt' }));
    expect(
      await failure(
        verifySdJwtVc([`${hmac}.${payload}.${signature}`, ...rest].join('~'), { resolveKey, now }),
      ),
    ).toBe('unsupported-alg');
    const noVct = base64url.encode(JSON.stringify({ iss: ISSUER }));
    expect(
      await failure(
        verifySdJwtVc([`${jwt.split('.')[0]}.${noVct}.${signature}`, ''].join('~'), { resolveKey, now }),
      ),
    ).toBe('malformed');
    expect(await failure(verifySdJwtVc('not an sd-jwt', { resolveKey, now }))).toBe('malformed');
  });

  it('refuses to make reserved claims disclosable and checks claim paths', async () => {
    const { issuer } = await setup();
    for (const path of [['vct'], ['iss'], ['missing'], ['address', 0], []] as const) {
      expect(await failure(issueSdJwtVc({ claims, signer: issuer.signer, disclosable: [path] }))).toBe(
        'invalid-argument',
      );
    }
  });

  it('never fetches a status list itself', async () => {
    const { issuer, resolveKey } = await setup();
    const withStatus = await issueSdJwtVc({
      claims: { ...claims, status: { status_list: { idx: 3, uri: 'https://status.example/1' } } },
      signer: issuer.signer,
      issuedAt: nowSeconds,
    });
    expect(await failure(verifySdJwtVc(withStatus, { resolveKey, now }))).toBe('status-unavailable');
  });
});

describe('RFC 9901 Appendix A.3 (SD-JWT VC example)', () => {
  const vector = JSON.parse(
    readFileSync(new URL('./vectors/sd-jwt-rfc9901-a3.json', import.meta.url), 'utf8'),
  ) as {
    issuerKey: JWK;
    issuer: string;
    vct: string;
    keyBinding: { nonce: string; audience: string; iat: number };
    issuance: string;
    presentation: string;
  };
  const resolveKey: ResolveKey = async (kid, iss) =>
    kid === undefined && iss === vector.issuer ? vector.issuerKey : undefined;
  const at = vector.keyBinding.iat * 1000;

  it('verifies the issued SD-JWT with all disclosures', async () => {
    const verified = await verifySdJwtVc(vector.issuance, { resolveKey, now: at });
    expect(verified.claims).toMatchObject({
      vct: vector.vct,
      given_name: 'Erika',
      family_name: 'Mustermann',
      address: { locality: 'Köln', country: 'DE' },
      age_equal_or_over: { '18': true, '65': false },
    });
  });

  it('verifies the presentation with its KB-JWT; withheld claims are absent', async () => {
    const verified = await verifySdJwtVc(vector.presentation, {
      resolveKey,
      now: at,
      keyBinding: { nonce: vector.keyBinding.nonce, audience: vector.keyBinding.audience },
    });
    expect(verified.claims).toMatchObject({ nationalities: ['DE'], age_equal_or_over: { '18': true } });
    for (const absent of ['given_name', 'family_name', 'birthdate', 'address']) {
      expect(verified.claims).not.toHaveProperty(absent);
    }
    expect(Object.keys(verified.claims.age_equal_or_over as object)).toEqual(['18']);
  });

  it('rejects the presentation for another nonce or audience', async () => {
    const keyBinding = { nonce: vector.keyBinding.nonce, audience: vector.keyBinding.audience };
    expect(
      await failure(
        verifySdJwtVc(vector.presentation, {
          resolveKey,
          now: at,
          keyBinding: { ...keyBinding, nonce: 'x' },
        }),
      ),
    ).toBe('nonce-mismatch');
    expect(
      await failure(
        verifySdJwtVc(vector.presentation, {
          resolveKey,
          now: at,
          keyBinding: { ...keyBinding, audience: 'https://x.example' },
        }),
      ),
    ).toBe('audience-mismatch');
  });
});

import { readFileSync } from 'node:fs';
import {
  exportJwk,
  importJwk,
  LocalKeyStore,
  MemoryKeyRepository,
  randomBytes,
  type SignatureAlgorithm,
  signatureScheme,
} from '@personachain/crypto';
import {
  base64url,
  CompactSign,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { CredentialError } from '../src/errors.js';
import {
  createJwsSigner,
  issueVcJwt,
  keyStoreJwsSigner,
  type ResolveKey,
  verifyVcJwt,
} from '../src/jose/index.js';
import { failure } from './jose-helpers.js';

const ISSUER = 'did:example:issuer';
const now = Date.parse('2026-06-01T00:00:00Z');

const credential = {
  '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
  id: 'urn:uuid:0f6f3c58-1c1a-4f5e-9d4a-3f2f0c3b5e11',
  type: ['VerifiableCredential', 'ExampleAlumniCredential'],
  issuer: ISSUER,
  validFrom: '2026-01-01T00:00:00Z',
  validUntil: '2027-01-01T00:00:00Z',
  credentialSubject: { id: 'did:example:alice', alumniOf: 'Example University' },
};

const algorithms = [
  ['Ed25519', 'EdDSA'],
  ['P-256', 'ES256'],
  ['P-384', 'ES384'],
  ['P-521', 'ES512'],
] as const;

async function issuerKey(algorithm: SignatureAlgorithm, kid = `${ISSUER}#key-1`) {
  const scheme = signatureScheme(algorithm);
  const { publicKey, secretKey } = await scheme.generateKeyPair();
  const signer = createJwsSigner({ kid, algorithm, sign: (message) => scheme.sign(secretKey, message) });
  return {
    kid,
    signer,
    publicJwk: exportJwk(algorithm, publicKey) as JWK,
    privateJwk: exportJwk(algorithm, publicKey, secretKey) as JWK,
  };
}

function resolverFor(keys: Record<string, JWK>): ResolveKey {
  return async (kid) => (kid === undefined ? undefined : keys[kid]);
}

/** Signs arbitrary headers/payloads with jose, to build documents our issuer refuses to make. */
async function joseSign(privateJwk: JWK, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const key = await importJWK(privateJwk, header.alg as string);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

describe('vc+jwt round trips', () => {
  for (const [algorithm, alg] of algorithms) {
    it(`${algorithm}: issues ${alg} with the VC-JOSE-COSE header and verifies with ours and with jose`, async () => {
      const key = await issuerKey(algorithm);
      const jws = await issueVcJwt({ credential, signer: key.signer });
      expect(decodeProtectedHeader(jws)).toEqual({ typ: 'vc+jwt', cty: 'vc', alg, kid: key.kid });

      const verified = await verifyVcJwt(jws, { resolveKey: resolverFor({ [key.kid]: key.publicJwk }), now });
      expect(verified.credential).toEqual(credential);
      expect(verified.issuer).toBe(ISSUER);

      const { payload, protectedHeader } = await jwtVerify(jws, await importJWK(key.publicJwk, alg), {
        typ: 'vc+jwt',
        algorithms: [alg],
      });
      expect(payload).toEqual(credential);
      expect(protectedHeader.cty).toBe('vc');
    });
  }

  it('accepts the fully-specified Ed25519 alg (RFC 9864) on verification', async () => {
    const key = await issuerKey('Ed25519');
    const jws = await joseSign(key.privateJwk, { alg: 'Ed25519', typ: 'vc+jwt', kid: key.kid }, credential);
    const verified = await verifyVcJwt(jws, { resolveKey: resolverFor({ [key.kid]: key.publicJwk }), now });
    expect(verified.credential.id).toBe(credential.id);
  });

  it('signs through a KeyStore: the JWS verifies with jose and with verifyVcJwt', async () => {
    const keyStore = new LocalKeyStore({ kek: randomBytes(32), repository: new MemoryKeyRepository() });
    const record = await keyStore.createKey({ algorithm: 'P-256', purpose: 'credential-issuer' });
    const signer = await keyStoreJwsSigner(keyStore, record.id, `${ISSUER}#${record.id}`);
    expect(signer.alg).toBe('ES256');
    const jws = await issueVcJwt({ credential, signer });
    const jwk = exportJwk(record.algorithm, await keyStore.getPublicKey(record.id)) as JWK;
    await expect(jwtVerify(jws, await importJWK(jwk, 'ES256'), { typ: 'vc+jwt' })).resolves.toBeDefined();
    const verified = await verifyVcJwt(jws, { resolveKey: resolverFor({ [signer.kid]: jwk }), now });
    expect(verified.credential).toEqual(credential);
  });

  it('passes kid and issuer to the resolver, and adds requested JWT claims', async () => {
    const key = await issuerKey('Ed25519');
    const seen: unknown[] = [];
    const jws = await issueVcJwt({
      credential,
      signer: key.signer,
      claims: { iss: ISSUER, jti: credential.id },
    });
    const verified = await verifyVcJwt(jws, {
      resolveKey: async (kid, controller) => {
        seen.push([kid, controller]);
        return key.publicJwk;
      },
      now,
    });
    expect(seen).toEqual([[key.kid, ISSUER]]);
    expect(verified.credential).toMatchObject({ iss: ISSUER, jti: credential.id });
  });
});

// w3c/vc-jose-cose-test-suite tests/input/cid-p521.json @54b42f14: the suite's ES512 issuer key.
const suiteP521 = {
  id: 'https://example.issuer/6c427e8392ab4057b93356fbb9022ecb#key-3',
  publicKeyJwk: {
    alg: 'ES512',
    crv: 'P-521',
    kid: 'KQsihxP-LTeTZO2ETEfduP153UBIiFRhI8nSklMSmm0',
    kty: 'EC',
    x: 'Ac8mt4TvYd3TOrYtTk_YTQ5QQMpl58OnrU7uRxQEUoOO_6QnRBM0Xan8KQI_0dPKzcKBak0ZSEXcc5SNFUBHYfbP',
    y: 'ADP_cowssurHA7uMHy4IODl247oQjCxZWFX7Gtr3cFmfVIwEyKGegrJh9ooZy5FsvFVbYwAmLKVfGZs7O15RBsO-',
  },
  d: 'ABLav_lS-i3hVtEiYGNHwl7xdAu93Qc0O1httqelzCTs8uEmiSjkoKX6tCKwz--beZSL5a8qtdoC4mazTMtvsS4h',
};

describe('vc+jwt ES512 (P-521)', () => {
  async function suiteSigner() {
    const { secretKey } = await importJwk({ ...suiteP521.publicKeyJwk, d: suiteP521.d });
    const scheme = signatureScheme('P-521');
    return createJwsSigner({
      kid: suiteP521.id,
      algorithm: 'P-521',
      sign: (message) => scheme.sign(secretKey as Uint8Array, message),
    });
  }

  it('signs with the test suite’s P-521 key; the suite’s public JWK (alg ES512) verifies it here and in jose', async () => {
    const signer = await suiteSigner();
    expect(signer.alg).toBe('ES512');
    const jws = await issueVcJwt({ credential, signer });
    expect(base64url.decode(jws.split('.')[2] as string)).toHaveLength(132);
    const publicJwk = suiteP521.publicKeyJwk as JWK;
    const verified = await verifyVcJwt(jws, { resolveKey: resolverFor({ [suiteP521.id]: publicJwk }), now });
    expect(verified.credential).toEqual(credential);
    await expect(
      jwtVerify(jws, await importJWK(publicJwk, 'ES512'), { typ: 'vc+jwt', algorithms: ['ES512'] }),
    ).resolves.toBeDefined();
  });

  it('verifies an ES512 vc+jwt signed by jose', async () => {
    const jws = await joseSign(
      { ...suiteP521.publicKeyJwk, d: suiteP521.d } as JWK,
      { alg: 'ES512', typ: 'vc+jwt', cty: 'vc', kid: suiteP521.id },
      credential,
    );
    const verified = await verifyVcJwt(jws, {
      resolveKey: resolverFor({ [suiteP521.id]: suiteP521.publicKeyJwk as JWK }),
      now,
    });
    expect(verified.issuer).toBe(ISSUER);
  });

  it('rejects an ES512 JWS under a P-384 key, a key marked ES384, and a DER or truncated signature', async () => {
    const signer = await suiteSigner();
    const jws = await issueVcJwt({ credential, signer });
    const p384 = await issuerKey('P-384');
    expect(await failure(verifyVcJwt(jws, { resolveKey: async () => p384.publicJwk, now }))).toBe(
      'invalid-key',
    );
    const markedEs384 = { ...suiteP521.publicKeyJwk, alg: 'ES384' } as JWK;
    expect(await failure(verifyVcJwt(jws, { resolveKey: async () => markedEs384, now }))).toBe('invalid-key');
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const truncated = base64url.encode(base64url.decode(signature).subarray(0, 96));
    expect(
      await failure(
        verifyVcJwt(`${header}.${payload}.${truncated}`, {
          resolveKey: async () => suiteP521.publicKeyJwk as JWK,
          now,
        }),
      ),
    ).toBe('invalid-signature');
    const derSigner = createJwsSigner({
      kid: suiteP521.id,
      algorithm: 'P-521',
      sign: async () => new Uint8Array(139),
    });
    expect(await failure(issueVcJwt({ credential, signer: derSigner }))).toBe('invalid-signature');
  });
});

describe('vc+jwt rejections', () => {
  it('rejects a tampered payload and a tampered signature', async () => {
    const key = await issuerKey('Ed25519');
    const resolveKey = resolverFor({ [key.kid]: key.publicJwk });
    const jws = await issueVcJwt({ credential, signer: key.signer });
    const [header, , signature] = jws.split('.');
    const forged = base64url.encode(
      JSON.stringify({
        ...credential,
        credentialSubject: { id: 'did:example:mallory', alumniOf: 'Example University' },
      }),
    );
    expect(await failure(verifyVcJwt(`${header}.${forged}.${signature}`, { resolveKey, now }))).toBe(
      'invalid-signature',
    );
    const sig = base64url.decode(signature as string);
    sig[0] = (sig[0] as number) ^ 1;
    expect(
      await failure(
        verifyVcJwt(`${header}.${jws.split('.')[1]}.${base64url.encode(sig)}`, { resolveKey, now }),
      ),
    ).toBe('invalid-signature');
  });

  it('EdDSA: refuses a signature segment that is not strict base64url or not 64 bytes, and a bad JWK', async () => {
    const key = await issuerKey('Ed25519');
    const resolveKey = resolverFor({ [key.kid]: key.publicJwk });
    const jws = await issueVcJwt({ credential, signer: key.signer });
    expect(await failure(verifyVcJwt(`${jws.slice(0, -2)}!${jws.slice(-1)}`, { resolveKey, now }))).toBe(
      'invalid-signature',
    );
    expect(await failure(verifyVcJwt(`${jws}AAAA`, { resolveKey, now }))).toBe('invalid-signature');
    const badKeys: JWK[] = [
      { ...key.publicJwk, x: (key.publicJwk.x as string).slice(0, 40) },
      { ...key.publicJwk, crv: 'X25519' },
      { ...key.publicJwk, alg: 'ES256' },
      key.privateJwk,
    ];
    for (const jwk of badKeys) {
      expect(await failure(verifyVcJwt(jws, { resolveKey: async () => jwk, now }))).toBe('invalid-key');
    }
  });

  it('rejects a signature by another key, and an unknown key', async () => {
    const key = await issuerKey('P-256');
    const other = await issuerKey('P-256');
    const jws = await issueVcJwt({ credential, signer: key.signer });
    expect(await failure(verifyVcJwt(jws, { resolveKey: async () => other.publicJwk, now }))).toBe(
      'invalid-signature',
    );
    expect(await failure(verifyVcJwt(jws, { resolveKey: async () => undefined, now }))).toBe('unknown-key');
    const ed = await issuerKey('Ed25519');
    expect(await failure(verifyVcJwt(jws, { resolveKey: async () => ed.publicJwk, now }))).toBe(
      'invalid-key',
    );
  });

  it('enforces validFrom/validUntil and nbf/exp, with clock skew', async () => {
    const key = await issuerKey('Ed25519');
    const resolveKey = resolverFor({ [key.kid]: key.publicJwk });
    const jws = await issueVcJwt({ credential, signer: key.signer });
    expect(await failure(verifyVcJwt(jws, { resolveKey, now: Date.parse('2027-01-01T00:00:01Z') }))).toBe(
      'expired',
    );
    expect(await failure(verifyVcJwt(jws, { resolveKey, now: Date.parse('2025-12-31T23:59:59Z') }))).toBe(
      'not-yet-valid',
    );
    await expect(
      verifyVcJwt(jws, { resolveKey, now: Date.parse('2027-01-01T00:00:30Z'), clockSkewSeconds: 60 }),
    ).resolves.toBeDefined();

    const seconds = Math.floor(now / 1000);
    const expiredJwt = await issueVcJwt({ credential, signer: key.signer, claims: { exp: seconds - 1 } });
    expect(await failure(verifyVcJwt(expiredJwt, { resolveKey, now }))).toBe('expired');
    const futureJwt = await issueVcJwt({ credential, signer: key.signer, claims: { nbf: seconds + 600 } });
    expect(await failure(verifyVcJwt(futureJwt, { resolveKey, now }))).toBe('not-yet-valid');
  });

  it('rejects alg none and HS256 before resolving any key', async () => {
    let resolved = false;
    const resolveKey: ResolveKey = async () => {
      resolved = true;
      return undefined;
    };
    const unsecured = new UnsecuredJWT(credential).encode();
    expect(await failure(verifyVcJwt(unsecured, { resolveKey, now }))).toBe('unsupported-alg');
    const hmac = await new SignJWT(credential)
      .setProtectedHeader({ alg: 'HS256', typ: 'vc+jwt', kid: `${ISSUER}#key-1` })
      .sign(randomBytes(32));
    expect(await failure(verifyVcJwt(hmac, { resolveKey, now }))).toBe('unsupported-alg');
    expect(resolved).toBe(false);
  });

  it('requires typ vc+jwt and a matching cty', async () => {
    const key = await issuerKey('Ed25519');
    const resolveKey = resolverFor({ [key.kid]: key.publicJwk });
    const sign = (header: Record<string, unknown>) =>
      joseSign(key.privateJwk, { alg: 'EdDSA', kid: key.kid, ...header }, credential);
    expect(await failure(verifyVcJwt(await sign({ typ: 'JWT' }), { resolveKey, now }))).toBe(
      'invalid-media-type',
    );
    expect(await failure(verifyVcJwt(await sign({}), { resolveKey, now }))).toBe('invalid-media-type');
    expect(await failure(verifyVcJwt(await sign({ typ: 'vp+jwt' }), { resolveKey, now }))).toBe(
      'invalid-media-type',
    );
    expect(await failure(verifyVcJwt(await sign({ typ: 'vc+jwt', cty: 'vp' }), { resolveKey, now }))).toBe(
      'invalid-media-type',
    );
    await expect(
      verifyVcJwt(await sign({ typ: 'application/vc+jwt' }), { resolveKey, now }),
    ).resolves.toBeDefined();
  });

  it('rejects vc/vp claims, an iss that differs from issuer, and a bare kid without iss', async () => {
    const key = await issuerKey('Ed25519');
    const resolveKey = resolverFor({ [key.kid]: key.publicJwk, thumbprint: key.publicJwk });
    const sign = (payload: unknown, kid = key.kid) =>
      joseSign(key.privateJwk, { alg: 'EdDSA', typ: 'vc+jwt', kid }, payload);
    expect(await failure(verifyVcJwt(await sign({ ...credential, vc: {} }), { resolveKey, now }))).toBe(
      'malformed',
    );
    expect(
      await failure(
        verifyVcJwt(await sign({ ...credential, iss: 'did:example:other' }), { resolveKey, now }),
      ),
    ).toBe('issuer-mismatch');
    expect(await failure(verifyVcJwt(await sign(credential, 'thumbprint'), { resolveKey, now }))).toBe(
      'malformed',
    );
    await expect(
      verifyVcJwt(await sign({ ...credential, iss: ISSUER }, 'thumbprint'), { resolveKey, now }),
    ).resolves.toBeDefined();
    expect(
      await failure(verifyVcJwt(await sign({ ...credential, issuer: 'not a url' }), { resolveKey, now })),
    ).toBe('malformed');
  });

  it('rejects structurally broken input as malformed', async () => {
    const resolveKey: ResolveKey = async () => undefined;
    for (const input of [
      42,
      '',
      'a.b',
      'a.b.c.d',
      `${base64url.encode('{"alg":"EdDSA"}')}.${base64url.encode('[1]')}.AA`,
    ]) {
      expect(await failure(verifyVcJwt(input, { resolveKey, now }))).toBe('malformed');
    }
  });

  it('refuses to issue what is not a VCDM 2.0 credential, or vc/vp claims', async () => {
    const key = await issuerKey('Ed25519');
    const bad = [
      { ...credential, '@context': ['https://www.w3.org/2018/credentials/v1'] },
      { ...credential, type: ['ExampleAlumniCredential'] },
      { ...credential, credentialSubject: {} },
      { ...credential, validFrom: '2026-01-01' },
      { ...credential, validFrom: '2028-01-01T00:00:00Z' },
    ];
    for (const entry of bad) {
      await expect(issueVcJwt({ credential: entry, signer: key.signer })).rejects.toBeInstanceOf(
        CredentialError,
      );
    }
    expect(await failure(issueVcJwt({ credential: { ...credential, vp: {} }, signer: key.signer }))).toBe(
      'invalid-credential',
    );
    const noUrlKid = createJwsSigner({ kid: 'key-1', algorithm: 'Ed25519', sign: key.signer.sign });
    expect(await failure(issueVcJwt({ credential, signer: noUrlKid }))).toBe('malformed');
  });

  it('refuses a signer whose signature has the wrong length (e.g. DER ECDSA)', async () => {
    const signer = createJwsSigner({
      kid: `${ISSUER}#k`,
      algorithm: 'P-256',
      sign: async () => new Uint8Array(70),
    });
    expect(await failure(issueVcJwt({ credential, signer }))).toBe('invalid-signature');
    expect(() =>
      createJwsSigner({ kid: 'k', algorithm: 'ML-DSA-44', sign: async () => new Uint8Array() }),
    ).toThrow(CredentialError);
  });
});

describe('W3C vc-jose-cose-test-suite inputs', () => {
  const suite = JSON.parse(
    readFileSync(new URL('./vectors/jose-vc-jose-cose-test-suite.json', import.meta.url), 'utf8'),
  ) as {
    keys: Record<string, JWK & { kid: string }>;
    tokens: Record<string, string>;
  };
  // The suite's tokens name their key by its JWK kid (a thumbprint) and carry iss.
  const resolveKey: ResolveKey = async (kid) => Object.values(suite.keys).find((key) => key.kid === kid);
  const at = Date.parse('2025-01-01T00:00:00Z');

  it('verifies credential-jose-minimal (ES256)', async () => {
    const verified = await verifyVcJwt(suite.tokens['credential-jose-minimal'], { resolveKey, now: at });
    expect(verified.issuer).toBe('https://example.issuer/vc-jose-cose');
    expect(verified.credential.id).toBe('http://university.example/credentials/1872');
  });

  it('rejects credential-jose-bad-signature, -bad-media-type and -vc-vp-claims', async () => {
    expect(
      await failure(verifyVcJwt(suite.tokens['credential-jose-bad-signature'], { resolveKey, now: at })),
    ).toBe('invalid-signature');
    expect(
      await failure(verifyVcJwt(suite.tokens['credential-jose-bad-media-type'], { resolveKey, now: at })),
    ).toBe('invalid-media-type');
    expect(
      await failure(verifyVcJwt(suite.tokens['credential-jose-vc-vp-claims'], { resolveKey, now: at })),
    ).toBe('malformed');
  });
});

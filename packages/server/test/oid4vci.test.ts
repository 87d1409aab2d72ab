import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  clientAuthenticationAnonymous,
  HashAlgorithm,
  preAuthorizedCodeGrantIdentifier,
} from '@openid4vc/oauth2';
import {
  type IssuerMetadataResult,
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
} from '@openid4vc/openid4vci';
import {
  assertionKeyResolver,
  createDidKey,
  createJwsSigner,
  presentSdJwtVc,
  verifySdJwtVc,
} from '@personachain/credentials';
import { base64url, decodeJwt, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

/**
 * OpenID4VCI 1.0 pre-authorized issuance end to end. The wallet is @openid4vc/openid4vci's
 * Openid4vciClient (offer resolution, metadata, token with tx_code, nonce, proof JWT, credential request);
 * the negative cases speak HTTP by hand with proofs made here, since the client refuses to send most of
 * them. The server's public URL is https://issuer.test (the library requires https); the wallet's fetch
 * sends that origin to the test server.
 */

const PUBLIC_URL = 'https://issuer.test';
const TYPE = 'IdentityVerificationCredential';
const CLAIMS = {
  ageOver18: true,
  documentCountry: 'UTO',
  documentType: 'PASSPORT',
  verifiedAt: '2026-01-02T03:04:05Z',
};

const engines = (['sqlite', 'postgres'] as const).filter((engine) => engine === 'sqlite' || PG_URL);
if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

interface Holder {
  did: string;
  kid: string;
  jwk: JWK;
  privateKey: KeyObject;
}

function newHolder(): Holder {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const did = createDidKey('Ed25519', base64url.decode(jwk.x as string));
  return { did, kid: `${did}#${did.slice('did:key:'.length)}`, jwk, privateKey };
}

/** A proof JWT as a wallet makes it; `overrides` make the broken ones. */
async function proofJwt(
  holder: Holder,
  claims: { aud: string; nonce?: string | undefined; iat?: number },
  header: Record<string, unknown> = {},
  signWith: KeyObject = holder.privateKey,
): Promise<string> {
  const payload: Record<string, unknown> = {
    aud: claims.aud,
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
  };
  if (claims.nonce !== undefined) payload.nonce = claims.nonce;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'openid4vci-proof+jwt', kid: holder.kid, ...header })
    .sign(signWith);
}

describe.each(engines)('OpenID4VCI pre-authorized issuance, on %s', (engine) => {
  let server: TestServer;
  let a: Tenant;
  let b: Tenant;
  let issuer: { id: string; did: string };
  let issuerB: { id: string };

  const issuerId = (tenant: Tenant) => `${PUBLIC_URL}/oid4vci/${tenant.projectId}`;
  const local = (url: string) => url.replace(PUBLIC_URL, server.url);
  const walletFetch = (input: string | URL | Request, init?: RequestInit) =>
    fetch(local(input instanceof Request ? input.url : String(input)), init);

  const wallet = (holder: Holder) =>
    new Openid4vciClient({
      callbacks: {
        fetch: walletFetch as typeof fetch,
        hash: async (data, alg) => {
          expect(alg).toBe(HashAlgorithm.Sha256);
          return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
        },
        generateRandom: (length) => crypto.getRandomValues(new Uint8Array(length)),
        clientAuthentication: clientAuthenticationAnonymous(),
        signJwt: async (_signer, { header, payload }) => ({
          jwt: await new SignJWT(payload as Record<string, unknown>)
            .setProtectedHeader(header as { alg: string })
            .sign(holder.privateKey),
          signerJwk: holder.jwk as never,
        }),
      },
    });

  const offer = (tenant: Tenant, body: Record<string, unknown>, key = tenant.keys.developer) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/credential-offers`, { key, body });

  const makeOffer = async (body: Record<string, unknown> = {}, tenant = a) => {
    const made = await offer(tenant, {
      issuerId: tenant === a ? issuer.id : issuerB.id,
      credentialType: TYPE,
      claims: CLAIMS,
      ...body,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body as {
      offerId: string;
      credentialOfferUri: string;
      offerLink: string;
      txCode: string | null;
      expiresAt: string;
      credentialConfigurationIds: string[];
    };
  };

  const tokenRequest = (tenant: Tenant, params: Record<string, string>) =>
    server.json('POST', `/oid4vci/${tenant.projectId}/token`, {
      key: null,
      rawBody: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  const codeOf = async (created: { credentialOfferUri: string }) => {
    const got = await server.json('GET', new URL(created.credentialOfferUri).pathname, { key: null });
    expect(got.status).toBe(200);
    return got.body.grants[preAuthorizedCodeGrantIdentifier]['pre-authorized_code'] as string;
  };

  /** An access token for a fresh offer (by hand, as any wallet would). */
  const accessTokenFor = async (body: Record<string, unknown> = {}, tenant = a) => {
    const created = await makeOffer(body, tenant);
    const token = await tokenRequest(tenant, {
      grant_type: preAuthorizedCodeGrantIdentifier,
      'pre-authorized_code': await codeOf(created),
      ...(created.txCode ? { tx_code: created.txCode } : {}),
    });
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    return { created, accessToken: token.body.access_token as string };
  };

  const nonce = async (tenant = a) => {
    const got = await server.json('POST', `/oid4vci/${tenant.projectId}/nonce`, { key: null });
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    return got.body.c_nonce as string;
  };

  const credentialRequest = (tenant: Tenant, accessToken: string | null, body: unknown) =>
    server.json('POST', `/oid4vci/${tenant.projectId}/credential`, {
      key: accessToken,
      body,
    });

  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${a.projectId}/verifier/credentials/verify`, {
      key: a.keys.viewer,
      body: { verifiableCredential },
    });

  const derive = (verifiableCredential: unknown, selectivePointers: string[]) =>
    server.json('POST', `/v1/projects/${a.projectId}/holder/credentials/derive`, {
      key: a.keys.viewer,
      body: { verifiableCredential, options: { selectivePointers } },
    });

  /** Resolves DIDs through the platform's DID Resolution endpoint (the issuer is a did:web it hosts). */
  const resolveKey = assertionKeyResolver(async (did) => {
    const resolved = await server.json('GET', `/1.0/identifiers/${encodeURIComponent(did)}`, { key: null });
    return resolved.body;
  });

  beforeAll(async () => {
    server = await startTestServer(
      { PERSONA_PUBLIC_URL: PUBLIC_URL, PERSONA_CREDENTIAL_THREADS: '1' },
      engine,
    );
    a = await createTenant(server, 'Issuer A');
    b = await createTenant(server, 'Issuer B');
    const created = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.admin,
      body: {
        name: 'KYC',
        didMethod: 'did:web',
        suites: ['eddsa-rdfc-2022', 'bbs-2023'],
        statusPurposes: ['revocation'],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    issuer = created.body;
    const createdB = await server.json('POST', `/v1/projects/${b.projectId}/issuers`, {
      key: b.keys.admin,
      body: { name: 'B', didMethod: 'did:key', suites: ['bbs-2023'] },
    });
    expect(createdB.status).toBe(201);
    issuerB = createdB.body;
  });
  afterAll(() => server.close());

  it('offers both formats, with path-inserted issuer and authorization server metadata', async () => {
    const holder = newHolder();
    const created = await makeOffer({ subjectDid: holder.did, reference: 'vrf_metadata' });
    expect(created).toMatchObject({
      offerId: expect.stringMatching(/^cof_[0-9a-f]{32}$/),
      credentialOfferUri: `${issuerId(a)}/offers/${created.offerId}`,
      offerLink: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(created.credentialOfferUri)}`,
      txCode: expect.stringMatching(/^\d{6}$/),
      credentialConfigurationIds: [`${TYPE}_bbs`, `${TYPE}_sd_jwt`],
    });

    const metadata = await server.json(
      'GET',
      `/.well-known/openid-credential-issuer/oid4vci/${a.projectId}`,
      { key: null },
    );
    expect(metadata.status).toBe(200);
    expect(metadata.body).toMatchObject({
      credential_issuer: issuerId(a),
      credential_endpoint: `${issuerId(a)}/credential`,
      nonce_endpoint: `${issuerId(a)}/nonce`,
      display: [{ name: 'Issuer A app', locale: 'en' }],
    });
    const configurations = metadata.body.credential_configurations_supported;
    const proofTypes = { jwt: { proof_signing_alg_values_supported: ['EdDSA', 'ES256'] } };
    expect(configurations[`${TYPE}_bbs`]).toEqual({
      format: 'ldp_vc',
      cryptographic_binding_methods_supported: ['did:key', 'did:web', 'did:persona'],
      credential_signing_alg_values_supported: ['bbs-2023'],
      proof_types_supported: proofTypes,
      credential_definition: {
        '@context': [
          'https://www.w3.org/ns/credentials/v2',
          'https://www.w3.org/ns/credentials/undefined-terms/v2',
        ],
        type: ['VerifiableCredential', TYPE],
      },
      credential_metadata: { display: [{ name: 'Identity Verification Credential', locale: 'en' }] },
    });
    expect(configurations[`${TYPE}_sd_jwt`]).toMatchObject({
      format: 'dc+sd-jwt',
      vct: `${issuerId(a)}/types/${TYPE}`,
      cryptographic_binding_methods_supported: ['jwk', 'did:key', 'did:web', 'did:persona'],
      proof_types_supported: proofTypes,
    });
    const vct = await server.json('GET', `/oid4vci/${a.projectId}/types/${TYPE}`, { key: null });
    expect(vct.body).toMatchObject({
      vct: `${issuerId(a)}/types/${TYPE}`,
      name: 'Identity Verification Credential',
    });

    const as = await server.json('GET', `/.well-known/oauth-authorization-server/oid4vci/${a.projectId}`, {
      key: null,
    });
    expect(as.status).toBe(200);
    expect(as.body).toEqual({
      issuer: issuerId(a),
      token_endpoint: `${issuerId(a)}/token`,
      grant_types_supported: [preAuthorizedCodeGrantIdentifier],
      token_endpoint_auth_methods_supported: ['none'],
      'pre-authorized_grant_anonymous_access_supported': true,
    });

    // The library parses both documents as OpenID4VCI 1.0 metadata.
    const resolved = await wallet(holder).resolveIssuerMetadata(issuerId(a));
    expect(resolved.originalDraftVersion).toBe('V1');
    expect(resolved.authorizationServers[0]?.token_endpoint).toBe(`${issuerId(a)}/token`);

    const offerJson = await server.json('GET', new URL(created.credentialOfferUri).pathname, { key: null });
    expect(offerJson.headers.get('cache-control')).toBe('no-store');
    expect(offerJson.body).toEqual({
      credential_issuer: issuerId(a),
      credential_configuration_ids: [`${TYPE}_bbs`, `${TYPE}_sd_jwt`],
      grants: {
        [preAuthorizedCodeGrantIdentifier]: {
          'pre-authorized_code': expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          tx_code: { input_mode: 'numeric', length: 6, description: expect.any(String) },
        },
      },
    });
    // A project that never offered anything has no credential issuer.
    for (const path of [
      `/.well-known/openid-credential-issuer/oid4vci/${b.projectId}`,
      `/.well-known/oauth-authorization-server/oid4vci/${b.projectId}`,
    ]) {
      expect((await server.json('GET', path, { key: null })).status).toBe(404);
    }
  });

  it('issues a bbs-2023 credential that verifies and discloses selectively, and an SD-JWT VC, to a library wallet', async () => {
    const holder = newHolder();
    const created = await makeOffer({ subjectDid: holder.did, reference: 'vrf_flow' });
    const client = wallet(holder);
    const credentialOffer = await client.resolveCredentialOffer(created.offerLink);
    const issuerMetadata: IssuerMetadataResult = await client.resolveIssuerMetadata(
      credentialOffer.credential_issuer,
    );
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: created.txCode as string,
    });
    expect(accessTokenResponse).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    // Redeemed: the offer is gone and the code cannot be exchanged again.
    expect(
      (await server.json('GET', new URL(created.credentialOfferUri).pathname, { key: null })).status,
    ).toBe(404);

    const retrieve = async (credentialConfigurationId: string) => {
      const { c_nonce } = await client.requestNonce({ issuerMetadata });
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata,
        credentialConfigurationId,
        nonce: c_nonce,
        signer: { method: 'did', didUrl: holder.kid, alg: 'EdDSA' },
      });
      const { credentialResponse } = await client.retrieveCredentials({
        issuerMetadata,
        accessToken: accessTokenResponse.access_token,
        credentialConfigurationId,
        proofs: { jwt: [jwt] },
      });
      return (credentialResponse.credentials as Array<{ credential: unknown }>)[0]?.credential;
    };

    // bbs-2023: bound to the holder's DID, with a revocation entry and the mandatory pointers.
    const base = (await retrieve(`${TYPE}_bbs`)) as Record<string, any>;
    expect(base).toMatchObject({
      type: ['VerifiableCredential', TYPE],
      issuer: issuer.did,
      credentialSubject: { id: holder.did, ...CLAIMS },
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
      proof: { cryptosuite: 'bbs-2023' },
    });
    const baseCheck = await verify(base);
    expect(baseCheck.status).toBe(400);
    expect(baseCheck.body.errors.map((error: { code: string }) => error.code)).toEqual([
      'derived-proof-required',
    ]);
    const derived = await derive(base, ['/credentialSubject/ageOver18']);
    expect(derived.status, JSON.stringify(derived.body)).toBe(201);
    const disclosed = derived.body.verifiableCredential;
    // Selecting a claim selects its object's id too (the DI selection algorithm): the holder's DID.
    expect(disclosed.credentialSubject).toEqual({ id: holder.did, ageOver18: true });
    expect(disclosed).toMatchObject({
      issuer: issuer.did,
      validFrom: base.validFrom,
      validUntil: base.validUntil,
    });
    const derivedCheck = await verify(disclosed);
    expect(derivedCheck.status, JSON.stringify(derivedCheck.body)).toBe(200);
    expect(derivedCheck.body.credentialStatus).toEqual([
      expect.objectContaining({ statusPurpose: 'revocation', status: false }),
    ]);

    // SD-JWT VC: every claim disclosable, bound to the holder key (cnf.jwk), signed by the issuer's DID.
    const sdJwt = (await retrieve(`${TYPE}_sd_jwt`)) as string;
    const full = await verifySdJwtVc(sdJwt, { resolveKey });
    expect(full.claims).toMatchObject({
      iss: issuer.did,
      vct: `${issuerId(a)}/types/${TYPE}`,
      sub: holder.did,
      cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: holder.jwk.x } },
      ...CLAIMS,
    });
    expect((full.claims.exp as number) - (full.claims.iat as number)).toBe(365 * 86_400);
    expect(decodeJwt(sdJwt.split('~')[0] as string)).not.toHaveProperty('ageOver18');
    const presentation = await presentSdJwtVc({
      sdJwt,
      disclose: [['ageOver18']],
      keyBinding: {
        signer: createJwsSigner({
          kid: holder.kid,
          algorithm: 'Ed25519',
          sign: async (message) => sign(null, message, holder.privateKey),
        }),
        nonce: 'verifier-nonce',
        audience: 'https://verifier.example',
      },
    });
    const shown = await verifySdJwtVc(presentation, {
      resolveKey,
      keyBinding: { nonce: 'verifier-nonce', audience: 'https://verifier.example' },
    });
    expect(shown.claims.ageOver18).toBe(true);
    for (const hidden of ['documentCountry', 'documentType', 'verifiedAt', 'sub']) {
      expect(shown.claims).not.toHaveProperty(hidden);
    }

    // Each configuration once per offer.
    const again = await retrieve(`${TYPE}_bbs`).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(Openid4vciRetrieveCredentialsError);
    expect(
      (again as Openid4vciRetrieveCredentialsError).response.credentialErrorResponseResult?.data,
    ).toMatchObject({
      error: 'credential_request_denied',
    });

    // The reversal: the bbs credential's status shows revoked; an unredeemed offer of the reference dies.
    const pending = await makeOffer({ reference: 'vrf_flow' });
    const revoked = await server.json('POST', `/v1/projects/${a.projectId}/credential-offers/revocations`, {
      key: a.keys.developer,
      body: { reference: 'vrf_flow', reason: 'provider_reversal' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toEqual({ offersCanceled: 2, credentialsRevoked: 1 });
    const afterRevocation = await verify(disclosed);
    expect(afterRevocation.status).toBe(400);
    expect(afterRevocation.body.errors).toContainEqual(expect.objectContaining({ code: 'revoked' }));
    expect(
      (await server.json('GET', new URL(pending.credentialOfferUri).pathname, { key: null })).status,
    ).toBe(404);
    const repeat = await server.json('POST', `/v1/projects/${a.projectId}/credential-offers/revocations`, {
      key: a.keys.developer,
      body: { reference: 'vrf_flow' },
    });
    expect(repeat.body).toEqual({ offersCanceled: 0, credentialsRevoked: 0 });

    const audit = await server.json('GET', `/v1/projects/${a.projectId}/audit?limit=100`, {
      key: a.keys.auditor,
    });
    const types = audit.body.data
      .filter((entry: any) => [created.offerId, pending.offerId].includes(entry.subject))
      .map((entry: any) => entry.type);
    expect(types.sort()).toEqual([
      'credential_offer.canceled',
      'credential_offer.canceled',
      'credential_offer.created',
      'credential_offer.created',
      'credential_offer.redeemed',
    ]);
  });

  it('refuses a missing or wrong tx_code, a reused code, and cancels the offer after five wrong codes', async () => {
    const created = await makeOffer();
    const code = await codeOf(created);
    const grant = { grant_type: preAuthorizedCodeGrantIdentifier, 'pre-authorized_code': code };
    const missing = await tokenRequest(a, grant);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const wrong = created.txCode === '000000' ? '000001' : '000000';
    expect((await tokenRequest(a, { ...grant, tx_code: wrong })).body.error).toBe('invalid_grant');
    const ok = await tokenRequest(a, { ...grant, tx_code: created.txCode as string });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 });
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const reused = await tokenRequest(a, { ...grant, tx_code: created.txCode as string });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');

    const guessed = await makeOffer();
    const guessedGrant = { ...grant, 'pre-authorized_code': await codeOf(guessed) };
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await tokenRequest(a, { ...guessedGrant, tx_code: String(attempt).padStart(6, '9') });
      expect(answer.body.error).toBe('invalid_grant');
    }
    const late = await tokenRequest(a, { ...guessedGrant, tx_code: guessed.txCode as string });
    expect(late.body).toMatchObject({ error: 'invalid_grant' });
    expect(
      (await server.json('GET', new URL(guessed.credentialOfferUri).pathname, { key: null })).status,
    ).toBe(404);

    // Without a tx_code, sending one is a mistake; other grants and other media types are refused.
    const plain = await makeOffer({ txCode: false });
    expect(plain.txCode).toBeNull();
    const plainGrant = { ...grant, 'pre-authorized_code': await codeOf(plain) };
    expect((await tokenRequest(a, { ...plainGrant, tx_code: '123456' })).body.error).toBe('invalid_request');
    expect((await tokenRequest(a, { ...plainGrant, grant_type: 'authorization_code' })).body.error).toBe(
      'unsupported_grant_type',
    );
    const json = await server.json('POST', `/oid4vci/${a.projectId}/token`, { key: null, body: plainGrant });
    expect(json.body.error).toBe('invalid_request');
    const repeated = await server.json('POST', `/oid4vci/${a.projectId}/token`, {
      key: null,
      rawBody: `${new URLSearchParams(plainGrant)}&grant_type=x`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(repeated.body.error).toBe('invalid_request');
    expect((await tokenRequest(a, plainGrant)).status).toBe(200);
  });

  it('refuses an expired offer', async () => {
    // Expiry has second granularity: an offer of 2 s lives at least one whole second, long enough to read
    // its code on a loaded machine, and is dead once its `expiresAt` has passed.
    const created = await makeOffer({ ttlSeconds: 2, txCode: false });
    const code = await codeOf(created);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(created.expiresAt) - Date.now() + 50));
    expect(
      (await server.json('GET', new URL(created.credentialOfferUri).pathname, { key: null })).status,
    ).toBe(404);
    const token = await tokenRequest(a, {
      grant_type: preAuthorizedCodeGrantIdentifier,
      'pre-authorized_code': code,
    });
    expect(token.body.error).toBe('invalid_grant');
  });

  it('checks the proof: audience, nonce, key, iat, binding and subject DID', async () => {
    const holder = newHolder();
    const { accessToken } = await accessTokenFor({ subjectDid: holder.did });
    const request = (jwt: string, configuration = `${TYPE}_bbs`) =>
      credentialRequest(a, accessToken, {
        credential_configuration_id: configuration,
        proofs: { jwt: [jwt] },
      });
    const expectError = async (jwt: string, error: string, configuration?: string) => {
      const answer = await request(jwt, configuration);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.error, JSON.stringify(answer.body)).toBe(error);
      return answer;
    };
    const aud = issuerId(a);

    await expectError(await proofJwt(holder, { aud: issuerId(b), nonce: await nonce() }), 'invalid_proof');
    await expectError(await proofJwt(holder, { aud }), 'invalid_nonce');
    await expectError(await proofJwt(holder, { aud, nonce: 'made-up' }), 'invalid_nonce');
    await expectError(await proofJwt(holder, { aud, nonce: await nonce(b) }), 'invalid_nonce');
    await expectError(
      await proofJwt(holder, { aud, nonce: await nonce(), iat: Math.floor(Date.now() / 1000) - 600 }),
      'invalid_proof',
    );
    await expectError(await proofJwt(holder, { aud, nonce: await nonce() }, { typ: 'JWT' }), 'invalid_proof');
    // Signed by another key than the kid names.
    await expectError(
      await proofJwt(holder, { aud, nonce: await nonce() }, {}, newHolder().privateKey),
      'invalid_proof',
    );
    // Both kid and jwk, or a bare jwk for a DID-bound format.
    await expectError(
      await proofJwt(holder, { aud, nonce: await nonce() }, { jwk: holder.jwk }),
      'invalid_proof',
    );
    const bare = await proofJwt(holder, { aud, nonce: await nonce() }, { kid: undefined, jwk: holder.jwk });
    await expectError(bare, 'invalid_proof');
    // Another DID than the offer's subject.
    const stranger = newHolder();
    await expectError(await proofJwt(stranger, { aud, nonce: await nonce() }), 'invalid_proof');
    await expectError(
      await proofJwt(holder, { aud, nonce: await nonce() }),
      'unknown_credential_configuration',
      'OtherCredential_bbs',
    );

    // A good proof works once; its nonce never again.
    const c_nonce = await nonce();
    const good = await proofJwt(holder, { aud, nonce: c_nonce });
    const issued = await request(good);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    await expectError(await proofJwt(holder, { aud, nonce: c_nonce }), 'invalid_nonce', `${TYPE}_sd_jwt`);

    // The legacy single `proof` form is accepted too.
    const single = await credentialRequest(a, accessToken, {
      credential_configuration_id: `${TYPE}_sd_jwt`,
      proof: { proof_type: 'jwt', jwt: await proofJwt(holder, { aud, nonce: await nonce() }) },
    });
    expect(single.status, JSON.stringify(single.body)).toBe(200);
    expect(typeof single.body.credentials[0].credential).toBe('string');
  });

  it('binds an SD-JWT VC to a bare JWK when the offer names no DID', async () => {
    const holder = newHolder();
    const { accessToken } = await accessTokenFor();
    const jwt = await proofJwt(
      holder,
      { aud: issuerId(a), nonce: await nonce() },
      { kid: undefined, jwk: holder.jwk },
    );
    const issued = await credentialRequest(a, accessToken, {
      credential_configuration_id: `${TYPE}_sd_jwt`,
      proofs: { jwt: [jwt] },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const { claims } = await verifySdJwtVc(issued.body.credentials[0].credential, { resolveKey });
    expect(claims.cnf).toEqual({ jwk: { kty: 'OKP', crv: 'Ed25519', x: holder.jwk.x } });
    expect(claims).not.toHaveProperty('sub');
  });

  it('answers bad tokens and requests with OAuth errors', async () => {
    const holder = newHolder();
    const proof = async () => proofJwt(holder, { aud: issuerId(a), nonce: await nonce() });
    const body = async () => ({
      credential_configuration_id: `${TYPE}_bbs`,
      proofs: { jwt: [await proof()] },
    });
    const none = await credentialRequest(a, null, await body());
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_token');
    expect(none.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect((await credentialRequest(a, 'not-a-token', await body())).status).toBe(401);

    const { accessToken } = await accessTokenFor();
    const missingProof = await credentialRequest(a, accessToken, {
      credential_configuration_id: `${TYPE}_bbs`,
    });
    expect(missingProof.body.error).toBe('invalid_proof');
    const two = await credentialRequest(a, accessToken, {
      credential_configuration_id: `${TYPE}_bbs`,
      proofs: { jwt: [await proof(), await proof()] },
    });
    expect(two.body.error).toBe('invalid_proof');
    const noId = await credentialRequest(a, accessToken, { proofs: { jwt: [await proof()] } });
    expect(noId.body.error).toBe('invalid_credential_request');
    const malformed = await server.json('POST', `/oid4vci/${a.projectId}/credential`, {
      key: accessToken,
      rawBody: '{"credential_configuration_id":',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_credential_request');
  });

  it('keeps projects apart', async () => {
    const holder = newHolder();
    const created = await makeOffer({ txCode: false });
    const code = await codeOf(created);
    // Another project's endpoints know nothing of this offer, its code or its tokens.
    expect(
      (await server.json('GET', `/oid4vci/${b.projectId}/offers/${created.offerId}`, { key: null })).status,
    ).toBe(404);
    const elsewhere = await tokenRequest(b, {
      grant_type: preAuthorizedCodeGrantIdentifier,
      'pre-authorized_code': code,
    });
    expect(elsewhere.body.error).toBe('invalid_grant');
    const token = await tokenRequest(a, {
      grant_type: preAuthorizedCodeGrantIdentifier,
      'pre-authorized_code': code,
    });
    expect(token.status).toBe(200);
    const onB = await credentialRequest(b, token.body.access_token, {
      credential_configuration_id: `${TYPE}_bbs`,
      proofs: { jwt: [await proofJwt(holder, { aud: issuerId(b), nonce: await nonce(b) })] },
    });
    expect(onB.status).toBe(401);

    // B's keys cannot use A's issuer, nor cancel A's offers; A's viewer cannot make offers.
    const foreignIssuer = await offer(b, { issuerId: issuer.id, credentialType: TYPE, claims: CLAIMS });
    expect(foreignIssuer.status).toBe(404);
    const cancelFromB = await server.json(
      'DELETE',
      `/v1/projects/${b.projectId}/credential-offers/${created.offerId}`,
      { key: b.keys.developer },
    );
    expect(cancelFromB.status).toBe(404);
    const cancelIntoA = await server.json(
      'DELETE',
      `/v1/projects/${a.projectId}/credential-offers/${created.offerId}`,
      { key: b.keys.owner },
    );
    expect(cancelIntoA.status).toBe(404);
    expect(
      (await offer(a, { issuerId: issuer.id, credentialType: TYPE, claims: CLAIMS }, a.keys.viewer)).status,
    ).toBe(403);

    // A's own cancellation ends the access token as well.
    const cancel = await server.json(
      'DELETE',
      `/v1/projects/${a.projectId}/credential-offers/${created.offerId}`,
      {
        key: a.keys.developer,
      },
    );
    expect(cancel.status).toBe(204);
    const afterCancel = await credentialRequest(a, token.body.access_token, {
      credential_configuration_id: `${TYPE}_bbs`,
      proofs: { jwt: [await proofJwt(holder, { aud: issuerId(a), nonce: await nonce() })] },
    });
    expect(afterCancel.status).toBe(401);
  });

  it('validates offers', async () => {
    const bad = async (body: Record<string, unknown>, pointer: string) => {
      const answer = await offer(a, { issuerId: issuer.id, credentialType: TYPE, claims: CLAIMS, ...body });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.errors.map((error: { pointer: string }) => error.pointer)).toContain(pointer);
    };
    await bad({ credentialType: 'lowercase' }, '#/credentialType');
    await bad({ claims: {} }, '#/claims');
    await bad({ claims: { iss: 'x' } }, '#/claims/iss');
    await bad({ claims: { nested: { a: 1 } } }, '#/claims/nested');
    await bad({ subjectDid: 'not a did' }, '#/subjectDid');
    await bad({ ttlSeconds: 0 }, '#/ttlSeconds');
    // What an issuer's keys can sign decides the formats: a P-384 key signs JWS only (SD-JWT, ES384).
    const ecdsa = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.admin,
      body: { name: 'P-384 only', didMethod: 'did:key', suites: ['ecdsa-rdfc-2019'], keyTypes: ['P-384'] },
    });
    expect(ecdsa.status).toBe(201);
    expect((await makeOffer({ issuerId: ecdsa.body.id })).credentialConfigurationIds).toEqual([
      `${TYPE}_sd_jwt`,
    ]);
    expect((await makeOffer({}, b)).credentialConfigurationIds).toEqual([`${TYPE}_bbs`]);
  });
});

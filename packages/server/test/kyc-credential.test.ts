import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createDidKey } from '@personachain/credentials';
import { base64url, type JWK, SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';
import {
  captureClient,
  createSession,
  localProvider,
  passportScan,
  td3,
  waitForStatus,
} from './kyc-helpers.js';

const PUBLIC_URL = 'https://issuer.test';
const PRE_AUTHORIZED = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';

function holder() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const did = createDidKey('Ed25519', base64url.decode(jwk.x as string));
  return { did, kid: `${did}#${did.slice('did:key:'.length)}`, privateKey };
}

/** A local webhook receiver that verifies every delivery with the standardwebhooks library. */
async function receiver() {
  const received: { type: string; data: Record<string, unknown>; id: string }[] = [];
  let secret = '';
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      try {
        const payload = new Webhook(secret).verify(body, request.headers as Record<string, string>) as {
          type: string;
          data: Record<string, unknown>;
        };
        received.push({ ...payload, id: String(request.headers['webhook-id']) });
        response.writeHead(204).end();
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    setSecret: (value: string) => {
      secret = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('an approved verification becomes a credential the holder discloses selectively', () => {
  let server: TestServer;
  let tenant: Tenant;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  const local = (url: string) => url.replace(PUBLIC_URL, '');

  beforeAll(async () => {
    server = await startTestServer(
      { PERSONA_PUBLIC_URL: PUBLIC_URL, PERSONA_OUTBOUND_TRUSTED_HOSTS: '127.0.0.1' },
      'sqlite',
      { kyc: { worker: { intervalMs: 50 } }, webhooks: { pollIntervalMs: 20 } },
    );
    tenant = await createTenant(server, 'KYC credentials');
    await localProvider(server, tenant);
    const issuer = await server.json('POST', `/v1/projects/${tenant.projectId}/issuers`, {
      key: tenant.keys.admin,
      body: {
        name: 'KYC',
        didMethod: 'did:web',
        suites: ['eddsa-rdfc-2022', 'bbs-2023'],
        statusPurposes: ['revocation'],
      },
    });
    expect(issuer.status, JSON.stringify(issuer.body)).toBe(201);
    const settings = await server.json('PATCH', `/v1/projects/${tenant.projectId}/verification-settings`, {
      key: tenant.keys.admin,
      body: { issuerId: issuer.body.id },
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    hooks = await receiver();
    const endpoint = await server.json('POST', `/v1/projects/${tenant.projectId}/webhooks`, {
      key: tenant.keys.developer,
      body: { url: hooks.url, eventTypes: ['verification.*'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    hooks.setSecret(endpoint.body.secret);
  });
  afterAll(async () => {
    await server.close();
    await hooks.close();
  });

  it('offers the credential over OpenID4VCI, tells the project by webhook, and revokes it on reversal', async () => {
    const person = holder();
    const { id, token } = await createSession(server, tenant, {
      subject: person.did,
      checks: [{ type: 'document' }, { type: 'age', minimumAge: 18 }],
    });
    const client = captureClient(server, token);
    await client.upload('document-front', passportScan(), 'image/jpeg');
    await client.fields({ mrz: td3({ birth: '740812', expiry: '350415' }) });
    await client.submit();
    const session = await waitForStatus(server, tenant, id, [
      'approved',
      'declined',
      'needs_review',
      'error',
    ]);
    expect(session.status).toBe('approved');
    expect(session.credentialOffer).toMatchObject({
      offerLink: expect.stringMatching(/^openid-credential-offer:\/\/\?credential_offer_uri=/),
      txCode: expect.stringMatching(/^\d{6}$/),
    });

    // The project hears of every move, signed per Standard Webhooks, with the offer on approval.
    const deadline = Date.now() + 5_000;
    while (!hooks.received.some((event) => event.type === 'verification.approved') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const types = hooks.received.filter((event) => event.data.session_id === id).map((event) => event.type);
    expect(types).toEqual([
      'verification.awaiting_input',
      'verification.submitted',
      'verification.processing',
      'verification.approved',
    ]);
    const approved = hooks.received.find((event) => event.type === 'verification.approved');
    expect(approved?.data).toMatchObject({
      session_id: id,
      status: 'approved',
      credential_offer_uri: session.credentialOffer.credentialOfferUri,
    });
    expect(JSON.stringify(hooks.received)).not.toMatch(/ERIKSSON|1974/);

    // The wallet: offer → token (with the tx_code) → nonce → proof of possession → credential.
    const offer = (await server.json('GET', local(session.credentialOffer.credentialOfferUri), { key: null }))
      .body;
    const issuerId = offer.credential_issuer as string;
    const tokenResponse = await server.json('POST', local(`${issuerId}/token`), {
      key: null,
      rawBody: new URLSearchParams({
        grant_type: PRE_AUTHORIZED,
        'pre-authorized_code': offer.grants[PRE_AUTHORIZED]['pre-authorized_code'],
        tx_code: session.credentialOffer.txCode,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(tokenResponse.status, JSON.stringify(tokenResponse.body)).toBe(200);
    const nonce = (await server.json('POST', local(`${issuerId}/nonce`), { key: null })).body.c_nonce;
    const proof = await new SignJWT({ aud: issuerId, nonce, iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'openid4vci-proof+jwt', kid: person.kid })
      .sign(person.privateKey);
    const issued = await server.json('POST', local(`${issuerId}/credential`), {
      key: tokenResponse.body.access_token,
      body: { credential_configuration_id: offer.credential_configuration_ids[0], proofs: { jwt: [proof] } },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const credential = issued.body.credentials[0].credential;
    expect(credential.credentialSubject).toMatchObject({
      id: person.did,
      ageOver18: true,
      documentCountry: 'UTO',
    });
    expect(JSON.stringify(credential)).not.toMatch(/ERIKSSON|1974|L898902C3/);

    const verify = async (verifiableCredential: unknown) =>
      server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
        key: tenant.keys.viewer,
        body: { verifiableCredential },
      });
    // A bbs-2023 base proof is for the holder only: verifiers check what the holder derives from it.
    const derived = await server.json('POST', `/v1/projects/${tenant.projectId}/holder/credentials/derive`, {
      key: tenant.keys.viewer,
      body: {
        verifiableCredential: credential,
        options: { selectivePointers: ['/credentialSubject/ageOver18'] },
      },
    });
    expect(derived.status, JSON.stringify(derived.body)).toBe(201);
    const disclosed = derived.body.verifiableCredential.credentialSubject;
    expect(disclosed.ageOver18).toBe(true);
    expect(disclosed.documentCountry).toBeUndefined();
    const derivedCheck = (await verify(derived.body.verifiableCredential)).body;
    expect(derivedCheck, JSON.stringify(derivedCheck)).toMatchObject({ verified: true });

    // A reviewer reverses the approval: the session is declined and the credential revoked.
    const reversed = await server.json(
      'POST',
      `/v1/projects/${tenant.projectId}/verifications/${id}/reversal`,
      {
        key: tenant.keys.reviewer,
        body: { reason: 'document reported stolen' },
      },
    );
    expect(reversed.status, JSON.stringify(reversed.body)).toBe(200);
    expect(reversed.body).toMatchObject({ status: 'declined', decidedBy: 'reviewer' });
    const afterReversal = (await verify(derived.body.verifiableCredential)).body;
    expect(afterReversal.credentialStatus?.[0]).toMatchObject({ statusPurpose: 'revocation', status: true });
  });
});

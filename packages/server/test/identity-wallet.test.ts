import { randomUUID } from 'node:crypto';
import {
  buildPersonaCreate,
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createJwsSigner,
  createPresentation,
  createRawKeySigner,
  didKeyResolver,
  type IssueVpJwtInput,
  issueVpCose,
  issueVpJwt,
  issueVpSdJwt,
  type JwsSigner,
  parseVpCoseDataUrl,
  signPresentation,
  VP_SD_JWT_DATA_URL,
  verifyVpCoseHolder,
  verifyVpJwtHolder,
  verifyVpSdJwtHolder,
  vpCoseDataUrl,
} from '@personachain/credentials';
import { encodePublicKeyMultibase, signatureScheme } from '@personachain/crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519Signer, body as operationBody } from './dids-persona-helpers.js';
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
import { freePort, registerClient } from './oidc-helpers.js';
import { Browser, expectRp } from './page-browser.js';

const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';

/** The relying party's callback: never contacted, the browser stops at it. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** The holder's part of the library verifier of each VC-JOSE-COSE presentation format, by data: URL. */
const HOLDER_VERIFIERS = {
  'application/vp+jwt': {
    prefix: 'data:application/vp+jwt,',
    verify: (id: string, options: Parameters<typeof verifyVpJwtHolder>[1]) =>
      verifyVpJwtHolder(id.slice('data:application/vp+jwt,'.length), options),
  },
  'application/vp+sd-jwt': {
    prefix: VP_SD_JWT_DATA_URL,
    verify: (id: string, options: Parameters<typeof verifyVpJwtHolder>[1]) =>
      verifyVpSdJwtHolder(id.slice(VP_SD_JWT_DATA_URL.length), options),
  },
  'application/vp+cose': {
    prefix: 'data:application/vp+cose;base64,',
    verify: (id: string, options: Parameters<typeof verifyVpJwtHolder>[1]) =>
      verifyVpCoseHolder(parseVpCoseDataUrl(id), options),
  },
} as const;

/** A self-custodied wallet: an Ed25519 did:key whose secret key only the test holds. */
async function selfCustodied() {
  const ed25519 = signatureScheme('Ed25519');
  const { publicKey, secretKey } = await ed25519.generateKeyPair();
  const did = createDidKey('Ed25519', publicKey);
  const kid = `${did}#${did.slice(8)}`;
  const signer = createRawKeySigner({ id: kid, algorithm: 'Ed25519', secretKey });
  const jwsSigner = createJwsSigner({
    kid,
    algorithm: 'Ed25519',
    sign: async (bytes) => ed25519.sign(secretKey, bytes),
  });
  const resolver = createDidResolver();
  const documentLoader = createDocumentLoader({
    resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
  });
  return { did, signer, jwsSigner, documentLoader };
}
type Wallet = Awaited<ReturnType<typeof selfCustodied>>;

/** A DID Auth presentation: `holder` claimed, signed by `signedBy` (the holder's own wallet unless given). */
function didAuth(holder: string, challenge: string, domain: string, signedBy: Wallet) {
  return signPresentation({
    presentation: createPresentation({ holder }),
    suite: 'eddsa-rdfc-2022',
    signer: signedBy.signer,
    challenge,
    domain,
    documentLoader: signedBy.documentLoader,
  });
}

/** The EnvelopedVerifiablePresentation id of each VC-JOSE-COSE presentation a wallet may answer DID Auth with. */
const DID_AUTH_ENVELOPES = {
  'vp+jwt': async (input: IssueVpJwtInput) => `data:application/vp+jwt,${await issueVpJwt(input)}`,
  'vp+sd-jwt': async (input: IssueVpJwtInput) => `${VP_SD_JWT_DATA_URL}${await issueVpSdJwt(input)}`,
  'vp+cose': async (input: IssueVpJwtInput) => vpCoseDataUrl(await issueVpCose(input)),
} as const;
type DidAuthEnvelope = keyof typeof DID_AUTH_ENVELOPES;

/** An enveloped DID Auth presentation: `holder` claimed, the challenge as `nonce`, the domain as `aud`. */
async function envelopedDidAuth(
  format: DidAuthEnvelope,
  holder: string,
  nonce: string,
  audience: string,
  signer: JwsSigner,
) {
  const presentation = createPresentation({ holder });
  const id = await DID_AUTH_ENVELOPES[format]({ presentation, signer, nonce, audience });
  return { '@context': V2, type: 'EnvelopedVerifiablePresentation', id };
}

describe.each(ENGINES)('end users’ DIDs and wallets on %s', (engine) => {
  let server: IdentityTestServer;
  let a: Tenant;
  let b: Tenant;
  let issuer: { id: string; did: string };
  /** Issues VC-JOSE-COSE credentials (vc+sd-jwt, vc+cose): what enveloped presentations carry. */
  let enveloping: { id: string; did: string };
  let publicUrl: string;

  const signIn = async (tenant: Tenant) => {
    const user = await createUser(server, tenant);
    const signed = await login(server, tenant.projectId, user.username, GOOD_PASSWORD);
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    return { id: user.id, username: user.username, token: signed.body.token as string };
  };
  const account = (method: string, path: string, token: string, body?: unknown, tenant = a) =>
    server.json(method, `/p/${tenant.projectId}/account${path}`, {
      ...asUser(token),
      ...(body === undefined ? {} : { body }),
    });
  const challenge = async (token: string, tenant = a) => {
    const issued = await account('POST', '/dids/challenge', token, undefined, tenant);
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body as { challenge: string; domain: string };
  };
  /** Proves and links the wallet's DID to the user behind `token`. */
  const linkSelf = async (token: string, wallet: Wallet, tenant = a) => {
    const { challenge: c, domain } = await challenge(token, tenant);
    const presentation = await didAuth(wallet.did, c, domain, wallet);
    return account('POST', '/dids', token, { presentation }, tenant);
  };
  const issue = async (subject: string, extra: Record<string, unknown> = {}) => {
    const issued = await server.json('POST', `/v1/issuers/${issuer.id}/credentials/issue`, {
      key: a.keys.developer,
      body: {
        credential: {
          '@context': [V2, EXAMPLES],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential', 'ExampleDegreeCredential'],
          issuer: issuer.did,
          validFrom: '2026-01-01T00:00:00Z',
          credentialSubject: { id: subject, name: 'Alice Example', degree: 'BSc' },
          ...extra,
        },
      },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body.verifiableCredential as Record<string, unknown>;
  };
  /** An EnvelopedVerifiableCredential about `subject`, secured as `format` by the enveloping issuer. */
  const issueEnveloped = async (subject: string, format: 'application/vc+sd-jwt' | 'application/vc+cose') => {
    const issued = await server.json('POST', `/v1/issuers/${enveloping.id}/credentials/issue`, {
      key: a.keys.developer,
      body: {
        credential: {
          '@context': [V2, EXAMPLES],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential', 'ExampleDegreeCredential'],
          issuer: enveloping.did,
          credentialSubject: { id: subject, name: 'Alice Example', degree: 'BSc' },
        },
        options: { format },
      },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    return issued.body.verifiableCredential as Record<string, unknown>;
  };
  const verifyPresentation = (verifiablePresentation: unknown, options: Record<string, unknown>) =>
    server.json('POST', `/v1/projects/${a.projectId}/verifier/presentations/verify`, {
      key: a.keys.viewer,
      body: { verifiablePresentation, options },
    });

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startIdentityServer(engine, { PERSONA_PORT: String(port), PERSONA_PUBLIC_URL: publicUrl });
    a = await createTenant(server, 'Wallet A');
    b = await createTenant(server, 'Wallet B');
    const created = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.developer,
      body: { name: 'University', didMethod: 'did:key', suites: ['eddsa-rdfc-2022'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    issuer = created.body;
    const registry = await server.json('POST', `/v1/projects/${a.projectId}/issuers`, {
      key: a.keys.developer,
      body: { name: 'Registry', didMethod: 'did:key', suites: ['vc+sd-jwt', 'vc+cose'] },
    });
    expect(registry.status, JSON.stringify(registry.body)).toBe(201);
    enveloping = registry.body;
  });
  afterAll(() => server.close());

  describe('DID Auth', () => {
    it('links a DID whose key signed a presentation answering the challenge for the domain', async () => {
      const user = await signIn(a);
      const wallet = await selfCustodied();
      const { challenge: c, domain } = await challenge(user.token);
      expect(domain).toBe(publicUrl);
      const linked = await account('POST', '/dids', user.token, {
        presentation: await didAuth(wallet.did, c, domain, wallet),
      });
      expect(linked.status, JSON.stringify(linked.body)).toBe(201);
      expect(linked.body).toMatchObject({ did: wallet.did, custody: 'self' });
      const listed = await account('GET', '/dids', user.token);
      expect(listed.body.items.map((d: any) => d.did)).toEqual([wallet.did]);
      const admin = await server.json('GET', `/v1/projects/${a.projectId}/users/${user.id}/dids`, {
        key: a.keys.developer,
      });
      expect(admin.status).toBe(200);
      expect(admin.body.items).toEqual(listed.body.items);
    });

    describe.each(Object.keys(DID_AUTH_ENVELOPES) as DidAuthEnvelope[])(
      'by a %s EnvelopedVerifiablePresentation',
      (format) => {
        it('links the holder DID when the nonce is the challenge and aud the domain, once', async () => {
          const user = await signIn(a);
          const wallet = await selfCustodied();
          const { challenge: c, domain } = await challenge(user.token);
          const presentation = await envelopedDidAuth(format, wallet.did, c, domain, wallet.jwsSigner);
          const linked = await account('POST', '/dids', user.token, { presentation });
          expect(linked.status, JSON.stringify(linked.body)).toBe(201);
          expect(linked.body).toMatchObject({ did: wallet.did, custody: 'self' });
          const listed = await account('GET', '/dids', user.token);
          expect(listed.body.items.map((d: any) => d.did)).toEqual([wallet.did]);
          const replayed = await account('POST', '/dids', user.token, { presentation });
          expect(replayed.status).toBe(403);
          expect(replayed.body.code).toBe('invalid_challenge');
        });

        it('refuses a nonce that is not an open challenge, and an aud that is not the domain', async () => {
          const user = await signIn(a);
          const wallet = await selfCustodied();
          const { challenge: c, domain } = await challenge(user.token);
          const wrongNonce = await account('POST', '/dids', user.token, {
            presentation: await envelopedDidAuth(
              format,
              wallet.did,
              'not-the-challenge',
              domain,
              wallet.jwsSigner,
            ),
          });
          expect(wrongNonce.status).toBe(403);
          expect(wrongNonce.body.code).toBe('invalid_challenge');

          const wrongAud = await account('POST', '/dids', user.token, {
            presentation: await envelopedDidAuth(
              format,
              wallet.did,
              c,
              'https://evil.example',
              wallet.jwsSigner,
            ),
          });
          expect(wrongAud.status).toBe(400);
          expect(wrongAud.body.errors.map((e: any) => e.code)).toContain('domain-mismatch');
          // The failed attempt spent the challenge: a good presentation answering it is refused now.
          const reused = await account('POST', '/dids', user.token, {
            presentation: await envelopedDidAuth(format, wallet.did, c, domain, wallet.jwsSigner),
          });
          expect(reused.status).toBe(403);
          expect((await account('GET', '/dids', user.token)).body.items).toEqual([]);
        });

        it('refuses a presentation whose holder is not the DID whose key signed it', async () => {
          const user = await signIn(a);
          const victim = await selfCustodied();
          const attacker = await selfCustodied();
          const first = await challenge(user.token);
          const byOtherDid = await account('POST', '/dids', user.token, {
            presentation: await envelopedDidAuth(
              format,
              victim.did,
              first.challenge,
              first.domain,
              attacker.jwsSigner,
            ),
          });
          expect(byOtherDid.status).toBe(400);
          expect(byOtherDid.body.errors.map((e: any) => e.code)).toEqual(['issuer-mismatch']);
          // The attacker's key behind the victim's key id: the victim's key does not verify the signature.
          const second = await challenge(user.token);
          const underVictimKid: JwsSigner = { ...attacker.jwsSigner, kid: victim.jwsSigner.kid };
          const underVictimKey = await account('POST', '/dids', user.token, {
            presentation: await envelopedDidAuth(
              format,
              victim.did,
              second.challenge,
              second.domain,
              underVictimKid,
            ),
          });
          expect(underVictimKey.status).toBe(400);
          expect(underVictimKey.body.errors.map((e: any) => e.code)).toEqual(['invalid-signature']);
          expect((await account('GET', '/dids', user.token)).body.items).toEqual([]);
        });
      },
    );

    it('refuses another envelope, a malformed one or one without a plain holder before spending the challenge', async () => {
      const user = await signIn(a);
      const wallet = await selfCustodied();
      const { challenge: c, domain } = await challenge(user.token);
      const envelope = (id: string) => ({ '@context': V2, type: 'EnvelopedVerifiablePresentation', id });
      const signed = await envelopedDidAuth('vp+jwt', wallet.did, c, domain, wallet.jwsSigner);
      for (const id of [
        `data:application/vp+ld+json,${JSON.stringify(createPresentation({ holder: wallet.did }))}`,
        signed.id.replace('data:application/vp+jwt,', 'data:application/vp+sd-jwt,'),
        `${VP_SD_JWT_DATA_URL}not-a-jwt~`,
        'data:application/vp+cose;base64,AAAA',
      ]) {
        const refused = await account('POST', '/dids', user.token, { presentation: envelope(id) });
        expect(refused.status, id).toBe(400);
        expect(refused.body.errors).toEqual([
          expect.objectContaining({
            pointer: '#/presentation/id',
            detail: expect.stringContaining('vp+cose'),
          }),
        ]);
      }
      // A holder only in a Disclosure is not one: DID Auth reads the issuer-signed payload's own claims.
      const withheld = await issueVpSdJwt({
        presentation: createPresentation({ holder: wallet.did }),
        signer: wallet.jwsSigner,
        nonce: c,
        audience: domain,
        disclosable: ['/holder'],
      });
      const holderless = await account('POST', '/dids', user.token, {
        presentation: envelope(`${VP_SD_JWT_DATA_URL}${withheld}`),
      });
      expect(holderless.status).toBe(400);
      expect(holderless.body.errors.map((e: any) => e.pointer)).toEqual(['#/presentation/holder']);
      // Refused before the challenge was looked up: it still answers a good presentation.
      const linked = await account('POST', '/dids', user.token, { presentation: signed });
      expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    });

    it('links a did:persona whose authentication key signed', async () => {
      const user = await signIn(a);
      const signing = await signatureScheme('Ed25519').generateKeyPair();
      const rotation = await ed25519Signer();
      const created = await buildPersonaCreate(
        {
          rotationKeys: [rotation.key],
          verificationMethods: [
            {
              id: 'key-1',
              publicKeyMultibase: encodePublicKeyMultibase('Ed25519', signing.publicKey),
              relationships: ['authentication'],
            },
          ],
        },
        rotation,
      );
      const made = await server.json('POST', `/v1/projects/${a.projectId}/dids`, {
        key: a.keys.developer,
        body: operationBody(created),
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      // The wallet reads its DID's document from the platform's resolver, as any client would.
      const documentLoader = createDocumentLoader({
        resolveDidUrl: async (url) => {
          const [did] = url.split('#') as [string];
          const resolved = await server.json('GET', `/1.0/identifiers/${did}`, { key: null });
          const document = resolved.body.didDocument;
          if (!url.includes('#')) return document;
          const method = document.verificationMethod.find((vm: { id: string }) => vm.id === url);
          return { '@context': document['@context'], ...method };
        },
      });
      const wallet = {
        ...(await selfCustodied()),
        documentLoader,
        did: created.did,
        signer: createRawKeySigner({
          id: `${created.did}#key-1`,
          algorithm: 'Ed25519',
          secretKey: signing.secretKey,
        }),
      };
      const linked = await linkSelf(user.token, wallet);
      expect(linked.status, JSON.stringify(linked.body)).toBe(201);
      expect(linked.body).toMatchObject({ did: created.did, custody: 'self' });
    });

    it('refuses a wrong, a reused or an expired challenge, and a wrong domain', async () => {
      const user = await signIn(a);
      const wallet = await selfCustodied();
      const { challenge: c, domain } = await challenge(user.token);
      const wrong = await account('POST', '/dids', user.token, {
        presentation: await didAuth(wallet.did, 'not-the-challenge', domain, wallet),
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('invalid_challenge');

      const badDomain = await account('POST', '/dids', user.token, {
        presentation: await didAuth(wallet.did, c, 'https://evil.example', wallet),
      });
      expect(badDomain.status).toBe(400);
      expect(badDomain.body.errors.map((e: any) => e.code)).toContain('domain-mismatch');
      // The challenge was spent by the failed attempt: even a good presentation for it is refused now.
      const reused = await account('POST', '/dids', user.token, {
        presentation: await didAuth(wallet.did, c, domain, wallet),
      });
      expect(reused.status).toBe(403);

      const late = await challenge(user.token);
      server.clock.advance(6 * 60_000);
      const expired = await account('POST', '/dids', user.token, {
        presentation: await didAuth(wallet.did, late.challenge, late.domain, wallet),
      });
      expect(expired.status).toBe(403);
      expect((await account('GET', '/dids', user.token)).body.items).toEqual([]);
    });

    it('refuses a presentation signed by another DID than its holder, and a challenge used twice', async () => {
      const user = await signIn(a);
      const victim = await selfCustodied();
      const attacker = await selfCustodied();
      const { challenge: c, domain } = await challenge(user.token);
      const forged = await account('POST', '/dids', user.token, {
        presentation: await didAuth(victim.did, c, domain, attacker),
      });
      expect(forged.status).toBe(400);
      expect(forged.body.errors.map((e: any) => e.code)).toContain('holder-mismatch');

      const good = await challenge(user.token);
      const presentation = await didAuth(attacker.did, good.challenge, good.domain, attacker);
      expect((await account('POST', '/dids', user.token, { presentation })).status).toBe(201);
      const replayed = await account('POST', '/dids', user.token, { presentation });
      expect(replayed.status).toBe(403);
    });

    it('refuses a DID another user of the project already linked', async () => {
      const first = await signIn(a);
      const second = await signIn(a);
      const wallet = await selfCustodied();
      expect((await linkSelf(first.token, wallet)).status).toBe(201);
      const taken = await linkSelf(second.token, wallet);
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('did_taken');
      // Another project may link the same DID to its own user.
      const other = await signIn(b);
      expect((await linkSelf(other.token, wallet, b)).status).toBe(201);
    });

    it('needs a session of the project', async () => {
      const user = await signIn(a);
      expect((await account('GET', '/dids', 'pcs_not-a-session')).status).toBe(401);
      expect((await account('GET', '/dids', user.token, undefined, b)).status).toBe(401);
    });
  });

  describe('custodial did:key', () => {
    it('creates a did:key for the user whose presentations the project verifier accepts', async () => {
      const user = await signIn(a);
      const created = await account('POST', '/dids', user.token, { method: 'did:key' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ custody: 'platform' });
      expect(created.body.did).toMatch(/^did:key:z6Mk/);
      const vc = await issue(created.body.did);
      const signed = await account('POST', '/presentations', user.token, {
        presentation: createPresentation({ verifiableCredential: [vc] }),
        options: { challenge: 'verifier-nonce', domain: 'https://rp.example' },
      });
      expect(signed.status, JSON.stringify(signed.body)).toBe(200);
      expect(signed.body.verifiablePresentation.holder).toBe(created.body.did);
      const verified = await server.json(
        'POST',
        `/v1/projects/${a.projectId}/verifier/presentations/verify`,
        {
          key: a.keys.viewer,
          body: {
            verifiablePresentation: signed.body.verifiablePresentation,
            options: { challenge: 'verifier-nonce', domain: 'https://rp.example' },
          },
        },
      );
      expect(verified.status, JSON.stringify(verified.body)).toBe(200);
      expect(verified.body.verified).toBe(true);

      // Unlinked, its key is retired: the user has nothing left to sign with.
      const unlinked = await account('DELETE', `/dids/${encodeURIComponent(created.body.did)}`, user.token);
      expect(unlinked.status).toBe(204);
      const after = await account('POST', '/presentations', user.token, {
        presentation: createPresentation(),
        options: { challenge: 'n' },
      });
      expect(after.status).toBe(404);
      expect(await keyStatuses(user.id)).toEqual(['retired']);
    });

    it.each(Object.keys(HOLDER_VERIFIERS) as (keyof typeof HOLDER_VERIFIERS)[])(
      'signs %s as the custodial DID; the verifier checks it with the challenge and domain',
      async (format) => {
        const user = await signIn(a);
        const created = await account('POST', '/dids', user.token, { method: 'did:key' });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const did = created.body.did as string;
        const credentials = [
          await issueEnveloped(did, 'application/vc+sd-jwt'),
          await issueEnveloped(did, 'application/vc+cose'),
        ];
        const options = { challenge: 'rp-nonce-1', domain: 'https://rp.example', format };
        const signed = await account('POST', '/presentations', user.token, {
          presentation: createPresentation({ verifiableCredential: credentials }),
          options,
        });
        expect(signed.status, JSON.stringify(signed.body)).toBe(200);
        const vp = signed.body.verifiablePresentation;
        // What the VC-API holder answers for the format: only the envelope, its data: URL the presentation.
        expect(Object.keys(vp).sort()).toEqual(['@context', 'id', 'type']);
        expect(vp).toMatchObject({ '@context': V2, type: 'EnvelopedVerifiablePresentation' });
        const { prefix, verify } = HOLDER_VERIFIERS[format];
        expect(vp.id.startsWith(prefix)).toBe(true);

        const verified = await verifyPresentation(vp, {
          challenge: 'rp-nonce-1',
          domain: 'https://rp.example',
        });
        expect(verified.status, JSON.stringify(verified.body)).toBe(200);
        expect(verified.body).toMatchObject({
          verified: true,
          credentialResults: [{ verified: true }, { verified: true }],
        });
        const replayed = await verifyPresentation(vp, {
          challenge: 'rp-nonce-2',
          domain: 'https://rp.example',
        });
        expect(replayed.status).toBe(400);
        expect(replayed.body.errors.map((e: any) => e.code)).toContain('challenge-mismatch');
        const elsewhere = await verifyPresentation(vp, {
          challenge: 'rp-nonce-1',
          domain: 'https://evil.example',
        });
        expect(elsewhere.status).toBe(400);
        expect(elsewhere.body.errors.map((e: any) => e.code)).toContain('domain-mismatch');

        // The library verifier: the user's DID is the holder, its authentication key signed, nonce and aud bound.
        const resolver = createDidResolver();
        const resolveKey = didKeyResolver((d) => resolver.resolve(d), 'authentication');
        const held = await verify(vp.id, { resolveKey, nonce: 'rp-nonce-1', audience: 'https://rp.example' });
        expect(held.holder).toBe(did);
        expect(held.envelopes).toHaveLength(2);
        await expect(verify(vp.id, { resolveKey, nonce: 'another-nonce' })).rejects.toMatchObject({
          code: 'nonce-mismatch',
        });
      },
    );

    it('refuses a VC-JOSE-COSE format over a Data Integrity credential, and a format with a cryptosuite', async () => {
      const user = await signIn(a);
      const created = await account('POST', '/dids', user.token, { method: 'did:key' });
      const vc = await issue(created.body.did);
      const notEnveloped = await account('POST', '/presentations', user.token, {
        presentation: createPresentation({ verifiableCredential: [vc] }),
        options: { challenge: 'n', format: 'application/vp+cose' },
      });
      expect(notEnveloped.status).toBe(400);
      expect(notEnveloped.body.code).toBe('invalid-presentation');
      const both = await account('POST', '/presentations', user.token, {
        presentation: createPresentation(),
        options: { challenge: 'n', format: 'application/vp+sd-jwt', cryptosuite: 'eddsa-rdfc-2022' },
      });
      expect(both.status).toBe(400);
      expect(both.body.errors.map((e: any) => e.pointer)).toEqual(['#/options/format']);
      const unknown = await account('POST', '/presentations', user.token, {
        presentation: createPresentation(),
        options: { challenge: 'n', format: 'application/vp+mystery' },
      });
      expect(unknown.status).toBe(400);
    });

    it('caps the DIDs of one account', async () => {
      const user = await signIn(a);
      for (let i = 0; i < 10; i++) {
        expect((await account('POST', '/dids', user.token, { method: 'did:key' })).status).toBe(201);
      }
      const over = await account('POST', '/dids', user.token, { method: 'did:key' });
      expect(over.status).toBe(409);
      expect(over.body.code).toBe('too_many_dids');
    });
  });

  describe('wallet', () => {
    it('keeps, lists, returns and deletes a credential about the user, sealed at rest', async () => {
      const user = await signIn(a);
      const wallet = await selfCustodied();
      expect((await linkSelf(user.token, wallet)).status).toBe(201);
      const vc = await issue(wallet.did);
      const stored = await account('POST', '/credentials', user.token, { verifiableCredential: vc });
      expect(stored.status, JSON.stringify(stored.body)).toBe(201);
      expect(stored.body).toMatchObject({
        types: ['VerifiableCredential', 'ExampleDegreeCredential'],
        issuer: issuer.did,
        validFrom: '2026-01-01T00:00:00Z',
        validUntil: null,
      });
      const listed = await account('GET', '/credentials', user.token);
      expect(listed.body.items).toEqual([stored.body]);
      const one = await account('GET', `/credentials/${stored.body.id}`, user.token);
      expect(one.status).toBe(200);
      expect(one.body.verifiableCredential).toEqual(vc);

      const row = await server.db
        .selectFrom('user_credentials')
        .selectAll()
        .where('id', '=', stored.body.id)
        .executeTakeFirstOrThrow();
      // Sealed: neither the ciphertext nor the clear metadata carries the subject's data.
      expect(Buffer.from(row.sealed, 'base64url').toString('latin1')).not.toContain('Alice');
      expect(JSON.stringify({ ...row, sealed: undefined })).not.toMatch(/Alice|BSc/);

      expect((await account('DELETE', `/credentials/${stored.body.id}`, user.token)).status).toBe(204);
      expect((await account('GET', `/credentials/${stored.body.id}`, user.token)).status).toBe(404);
      expect((await account('GET', '/credentials', user.token)).body.items).toEqual([]);
    });

    it('refuses a credential about someone else, and a tampered one', async () => {
      const user = await signIn(a);
      const wallet = await selfCustodied();
      expect((await linkSelf(user.token, wallet)).status).toBe(201);
      const stranger = await selfCustodied();
      const notMine = await account('POST', '/credentials', user.token, {
        verifiableCredential: await issue(stranger.did),
      });
      expect(notMine.status).toBe(403);
      expect(notMine.body.code).toBe('subject_not_linked');

      const vc = await issue(wallet.did);
      const tampered = {
        ...vc,
        credentialSubject: { ...(vc.credentialSubject as object), degree: 'PhD' },
      };
      const refused = await account('POST', '/credentials', user.token, { verifiableCredential: tampered });
      expect(refused.status).toBe(400);
      expect(refused.body.type).toBe('urn:personachain:problem:not-verified');
      expect((await account('GET', '/credentials', user.token)).body.items).toEqual([]);
    });

    it('lands a credential the admin API issues to the user in their wallet', async () => {
      const user = await signIn(a);
      const created = await account('POST', '/dids', user.token, { method: 'did:key' });
      const issued = await server.json('POST', `/v1/projects/${a.projectId}/users/${user.id}/credentials`, {
        key: a.keys.developer,
        body: {
          issuerId: issuer.id,
          credential: {
            '@context': [V2, EXAMPLES],
            type: ['VerifiableCredential', 'ExampleDegreeCredential'],
            credentialSubject: { degree: 'MSc' },
          },
        },
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      const listed = await account('GET', '/credentials', user.token);
      expect(listed.body.items).toEqual([issued.body]);
      const one = await account('GET', `/credentials/${issued.body.id}`, user.token);
      expect(one.body.verifiableCredential.credentialSubject).toEqual({
        degree: 'MSc',
        id: created.body.did,
      });
      expect(one.body.verifiableCredential.proof).toBeDefined();

      // The viewer role may not issue; another project's key does not see the user.
      const viewer = await server.json('POST', `/v1/projects/${a.projectId}/users/${user.id}/credentials`, {
        key: a.keys.viewer,
        body: { issuerId: issuer.id, credential: { '@context': [V2], type: ['VerifiableCredential'] } },
      });
      expect(viewer.status).toBe(403);
    });

    it('refuses admin issuance to a user without a linked DID', async () => {
      const user = await signIn(a);
      const issued = await server.json('POST', `/v1/projects/${a.projectId}/users/${user.id}/credentials`, {
        key: a.keys.developer,
        body: { issuerId: issuer.id, credential: { '@context': [V2], type: ['VerifiableCredential'] } },
      });
      expect(issued.status).toBe(400);
    });
  });

  it('releases the primary (first linked) DID as the `did` claim only for scope did', async () => {
    const config = (
      await registerClient(server, a, `${publicUrl}/p/${a.projectId}/oidc`, {
        name: 'Wallet RP',
        scopes: ['openid', 'did'],
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        skipConsent: true,
      })
    ).config;
    expect(config.serverMetadata().scopes_supported).toContain('did');
    const user = await signIn(a);
    const first = await linkSelf(user.token, await selfCustodied());
    expect((await account('POST', '/dids', user.token, { method: 'did:key' })).status).toBe(201);

    const signInWith = async (scope: string) => {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const browser = new Browser(publicUrl);
      const stop = await browser.navigate(url.href);
      const after = await browser.submit(stop, { identifier: user.username, password: GOOD_PASSWORD });
      return client.authorizationCodeGrant(config, expectRp(after), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    };
    const tokens = await signInWith('openid did');
    expect(tokens.claims()?.did).toBe(first.body.did);
    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.did).toBe(first.body.did);
    const without = await signInWith('openid');
    expect(without.claims()?.did).toBeUndefined();
  });

  it('keeps each project’s users’ DIDs and wallets to that project', async () => {
    const user = await signIn(a);
    await account('POST', '/dids', user.token, { method: 'did:key' });
    const dids = await server.json('GET', `/v1/projects/${a.projectId}/users/${user.id}/dids`, {
      key: b.keys.developer,
    });
    expect(dids.status).toBe(404);
    const inB = await server.json('GET', `/v1/projects/${b.projectId}/users/${user.id}/dids`, {
      key: b.keys.developer,
    });
    expect(inB.status).toBe(404);
    const issueInB = await server.json('POST', `/v1/projects/${b.projectId}/users/${user.id}/credentials`, {
      key: b.keys.developer,
      body: { issuerId: issuer.id, credential: { '@context': [V2], type: ['VerifiableCredential'] } },
    });
    expect(issueInB.status).toBe(404);
  });

  it('erasing a user removes their DIDs, challenges and wallet and retires their custodial keys', async () => {
    const user = await signIn(a);
    const custodial = await account('POST', '/dids', user.token, { method: 'did:key' });
    const wallet = await selfCustodied();
    expect((await linkSelf(user.token, wallet)).status).toBe(201);
    await challenge(user.token);
    const stored = await account('POST', '/credentials', user.token, {
      verifiableCredential: await issue(custodial.body.did),
    });
    expect(stored.status).toBe(201);

    const erased = await server.json('DELETE', `/v1/projects/${a.projectId}/users/${user.id}`, {
      key: a.keys.developer,
    });
    expect(erased.status).toBe(204);
    for (const table of ['user_dids', 'user_did_challenges', 'user_credentials'] as const) {
      const rows = await server.db
        .selectFrom(table)
        .select('user_id')
        .where('user_id', '=', user.id)
        .execute();
      expect(rows, table).toEqual([]);
    }
    expect(await keyStatuses(user.id)).toEqual(['retired']);
    // The DID is free again for another account.
    const next = await signIn(a);
    expect((await linkSelf(next.token, wallet)).status).toBe(201);
  });

  /** The statuses of the KeyStore keys made for the user's custodial DIDs. */
  async function keyStatuses(userId: string): Promise<string[]> {
    const rows = await server.db
      .selectFrom('keys')
      .select('record')
      .where('purpose', 'like', `user-did:%:${userId}:%`)
      .execute();
    return rows.map((row) => (JSON.parse(row.record) as { status: string }).status);
  }
});

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import {
  buildStatusListCredential,
  buildStatusListEntry,
  createDidKey,
  createDidResolver,
  createDocumentLoader,
  createRawKeySigner,
  issueCredential,
  STATUS_LIST_MIN_LENGTH,
  StatusList,
} from '@personachain/credentials';
import { signatureScheme } from '@personachain/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type Tenant, type TestServer } from './helpers.js';

/**
 * Another issuer's multi-bit Bitstring Status Lists (statusSize 2 and 3, `statusMessage`), served over
 * HTTPS from 127.0.0.1 — a host the operator trusts (PERSONA_DID_WEB_TRUSTED_HOSTS), with the test
 * certificate added to this process's CAs — and checked by the platform's verifier.
 */
const cert = readFileSync(new URL('./fixtures/localhost.crt', import.meta.url));
const key = readFileSync(new URL('./fixtures/localhost.key', import.meta.url));
const V2 = 'https://www.w3.org/ns/credentials/v2';
const EXAMPLES = 'https://www.w3.org/ns/credentials/examples/v2';
const TWO_BIT = ['pending_review', 'accepted', 'rejected', 'undefined'];
const THREE_BIT = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];

const messagesFor = (names: string[]) =>
  names.map((message, value) => ({ status: `0x${value.toString(16)}`, message }));

describe('multi-bit status lists of another issuer', () => {
  const defaultCAs = getCACertificates('default');
  let lists: Server;
  let listBase: string;
  let server: TestServer;
  let tenant: Tenant;
  let issuerDid: string;
  let issue: (credentialStatus: unknown) => Promise<Record<string, unknown>>;
  const documents = new Map<string, string>();

  const verify = (verifiableCredential: unknown) =>
    server.json('POST', `/v1/projects/${tenant.projectId}/verifier/credentials/verify`, {
      key: tenant.keys.viewer,
      body: { verifiableCredential, options: { checks: ['proof', 'credentialStatus'] } },
    });

  beforeAll(async () => {
    setDefaultCACertificates([...defaultCAs, cert.toString()]);
    lists = createServer({ cert, key }, (request, response) => {
      const body = documents.get(request.url ?? '');
      response.writeHead(body ? 200 : 404, { 'content-type': 'application/vc+ld+json' });
      response.end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => lists.listen(0, '127.0.0.1', resolve));
    const { port } = lists.address() as AddressInfo;
    listBase = `https://127.0.0.1:${port}`;
    server = await startTestServer({ PERSONA_DID_WEB_TRUSTED_HOSTS: `127.0.0.1:${port}` });
    tenant = await createTenant(server, 'Multi-bit verifier');

    const { publicKey, secretKey } = await signatureScheme('Ed25519').generateKeyPair();
    issuerDid = createDidKey('Ed25519', publicKey);
    const resolver = createDidResolver();
    const documentLoader = createDocumentLoader({
      resolveDidUrl: async (url) => (await resolver.dereference(url)).contentStream,
    });
    const signer = createRawKeySigner({
      id: `${issuerDid}#${issuerDid.slice(8)}`,
      algorithm: 'Ed25519',
      secretKey,
    });
    const publish = async (path: string, statusPurpose: string, list: StatusList) => {
      const unsigned = await buildStatusListCredential({
        id: `${listBase}${path}`,
        issuer: issuerDid,
        statusPurpose,
        list,
        validFrom: '2025-01-01T00:00:00Z',
      });
      const signed = await issueCredential({
        credential: unsigned,
        suite: 'eddsa-rdfc-2022',
        signer,
        documentLoader,
      });
      documents.set(path, JSON.stringify(signed));
    };
    const twoBit = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    for (let value = 0; value < 4; value++) twoBit.setValue(40 + value, value);
    await publish('/lists/message-2', 'message', twoBit);
    const threeBit = StatusList.create(STATUS_LIST_MIN_LENGTH, 3);
    threeBit.setValue(7, 5);
    await publish('/lists/message-3', 'message', threeBit);
    const suspension = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    suspension.setValue(9, 3);
    await publish('/lists/suspension-2', 'suspension', suspension);

    issue = (credentialStatus) =>
      issueCredential({
        credential: {
          '@context': [V2, EXAMPLES],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential', 'ExampleBillOfLadingCredential'],
          issuer: issuerDid,
          credentialSubject: { id: 'did:example:shipper', name: 'Cargo 7' },
          credentialStatus,
        },
        suite: 'eddsa-rdfc-2022',
        signer,
        documentLoader,
      });
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => lists?.close(resolve));
    setDefaultCACertificates(defaultCAs);
  });

  const entry = (path: string, statusPurpose: string, index: number, statusSize: number, names: string[]) =>
    buildStatusListEntry({
      statusListCredential: `${listBase}${path}`,
      statusPurpose,
      index,
      statusSize,
      statusMessage: messagesFor(names),
    });

  it('verifies a credential with message entries and reports each value and its message', async () => {
    const vc = await issue([
      ...[40, 41, 42, 43].map((index) => entry('/lists/message-2', 'message', index, 2, TWO_BIT)),
      entry('/lists/message-3', 'message', 7, 3, THREE_BIT),
    ]);
    const verified = await verify(vc);
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.checks).toContain('status');
    expect(verified.body.credentialStatus).toEqual([
      ...TWO_BIT.map((statusMessage, value) => ({
        path: `/credentialStatus/${value}`,
        statusPurpose: 'message',
        statusListCredential: `${listBase}/lists/message-2`,
        statusListIndex: String(40 + value),
        status: value !== 0,
        statusSize: 2,
        statusValue: value,
        statusMessage,
      })),
      {
        path: '/credentialStatus/4',
        statusPurpose: 'message',
        statusListCredential: `${listBase}/lists/message-3`,
        statusListIndex: '7',
        status: true,
        statusSize: 3,
        statusValue: 5,
        statusMessage: 's5',
      },
    ]);
  });

  it('fails a credential whose 2-bit suspension entry is not 0, reporting the value and message', async () => {
    const names = ['active', 'paused', 'under review', 'frozen'];
    const suspended = await verify(await issue(entry('/lists/suspension-2', 'suspension', 9, 2, names)));
    expect(suspended.status).toBe(400);
    expect(suspended.body.errors.map((error: { code: string }) => error.code)).toEqual(['suspended']);
    expect(suspended.body.credentialStatus).toMatchObject([
      { statusPurpose: 'suspension', status: true, statusSize: 2, statusValue: 3, statusMessage: 'frozen' },
    ]);
    const active = await verify(await issue(entry('/lists/suspension-2', 'suspension', 10, 2, names)));
    expect(active.status, JSON.stringify(active.body)).toBe(200);
    expect(active.body.credentialStatus).toMatchObject([
      { status: false, statusValue: 0, statusMessage: 'active' },
    ]);
  });

  it('fails entries whose statusMessage does not fit the size, and lists too short for the size', async () => {
    const listUrl = `${listBase}/lists/message-2`;
    const bad = {
      type: 'BitstringStatusListEntry',
      statusPurpose: 'message',
      statusListIndex: '42',
      statusListCredential: listUrl,
      statusSize: 2,
      statusMessage: messagesFor(TWO_BIT.slice(0, 2)),
    };
    const tooWide = { ...bad, statusSize: 3, statusMessage: messagesFor(THREE_BIT) };
    const failed = await verify(await issue([bad, tooWide]));
    expect(failed.status).toBe(400);
    // The 2-bit list holds 262,144 bits: 87,381 entries of 3 bits, fewer than 131,072.
    expect(
      failed.body.errors.map((error: { code: string; path: string }) => [error.code, error.path]),
    ).toEqual([
      ['malformed-value-error', '/credentialStatus/0'],
      ['status-list-length-error', '/credentialStatus/1'],
    ]);
  });
});

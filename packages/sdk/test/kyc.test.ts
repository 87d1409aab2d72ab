import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersonaApiError, VerificationCapture } from '../src/index.js';
import { ADMIN_KEY, startTestServer, type TestServer } from './server.js';

/** ICAO 9303 check digit (weights 7, 3, 1), to build a valid specimen MRZ with a future expiry. */
function checkDigit(value: string): number {
  const charValue = (c: string) => (c === '<' ? 0 : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55);
  return [...value].reduce((sum, c, i) => sum + charValue(c) * ([7, 3, 1][i % 3] as number), 0) % 10;
}

function passportMrz(): string[] {
  const number = 'L898902C3';
  const optional = 'ZE184226B<<<<<';
  const parts = [
    `${number}${checkDigit(number)}`,
    `740812${checkDigit('740812')}`,
    `350415${checkDigit('350415')}`,
    `${optional}${checkDigit(optional)}`,
  ];
  const line2 = `${parts[0]}UTO${parts[1]}F${parts[2]}${parts[3]}${checkDigit(parts.join(''))}`;
  return ['P<UTOERIKSSON<<ANNA<MARIA'.padEnd(44, '<'), line2];
}

describe('VerificationCapture: the end user side of a verification session', () => {
  let server: TestServer;
  let projectId: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };

  beforeAll(async () => {
    server = await startTestServer();
    const org = await api('POST', '/v1/organizations', { name: 'SDK KYC' });
    projectId = (await api('POST', `/v1/organizations/${org.body.id}/projects`, { name: 'app' })).body.id;
    expect(
      (await api('POST', `/v1/projects/${projectId}/verification-providers`, { kind: 'local', name: 'MRZ' }))
        .status,
    ).toBe(201);
  });
  afterAll(() => server.close());

  it('seals documents in the client, uploads them and submits; the session is approved', async () => {
    const created = await api('POST', `/v1/projects/${projectId}/verifications`, {
      subject: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
      checks: [{ type: 'document' }, { type: 'age', minimumAge: 21 }],
    });
    expect(created.status).toBe(201);
    const capture = new VerificationCapture({ baseUrl: server.url, clientToken: created.body.clientToken });
    const session = await capture.session();
    expect(session).toMatchObject({
      status: 'awaiting_input',
      requiredDocuments: ['document-front'],
      encryptionKey: { suite: 'X-Wing' },
    });
    await expect(capture.submit()).rejects.toMatchObject({ status: 409 });
    const uploaded = await capture.upload('document-front', new TextEncoder().encode('scan'), 'image/jpeg');
    expect(uploaded).toMatchObject({ kind: 'document-front', size: 4 + 28 });
    await capture.uploadFields({ mrz: passportMrz() });
    expect(await capture.submit()).toMatchObject({ status: 'submitted' });
    let status = 'submitted';
    for (let i = 0; i < 100 && !['approved', 'declined', 'needs_review', 'error'].includes(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await api('GET', `/v1/projects/${projectId}/verifications/${created.body.session.id}`)).body
        .status;
    }
    expect(status).toBe('approved');
  });

  it('reports refusals as PersonaApiError', async () => {
    const capture = new VerificationCapture({ baseUrl: server.url, clientToken: `vct_${'A'.repeat(43)}` });
    const error = await capture.session().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersonaApiError);
    expect(error).toMatchObject({ status: 401, type: 'urn:personachain:problem:unauthorized' });
  });
});

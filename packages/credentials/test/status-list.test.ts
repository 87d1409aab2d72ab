import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  addStatusEntries,
  buildStatusListCredential,
  buildStatusListEntry,
  CredentialError,
  createStatusChecker,
  type DocumentLoader,
  issueCredential,
  STATUS_LIST_MIN_LENGTH,
  StatusList,
  verifyCredential,
} from '../src/index.js';
import { documentLoader, newIssuer, v1Credential, v2Credential } from './data-integrity-helpers.js';

const LIST_URL = 'https://status.example/lists/1';
// Bitstring Status List v1.0, Example 3: an empty list of 131,072 entries.
const SPEC_ENCODED_LIST = 'uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as CredentialError).code;
  }
  return undefined;
}

async function rejection(promise: Promise<unknown>): Promise<CredentialError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CredentialError);
  return error as CredentialError;
}

describe('StatusList', () => {
  it('decodes the specification example: 131,072 unset entries', async () => {
    const list = await StatusList.decode(SPEC_ENCODED_LIST);
    expect(list.length).toBe(STATUS_LIST_MIN_LENGTH);
    expect(list.get(0)).toBe(false);
    expect(list.get(131_071)).toBe(false);
  });

  it('sets and reads bits, index 0 being the left-most bit, and round-trips through encodedList', async () => {
    const list = StatusList.create();
    list.set(0, true);
    list.set(9, true);
    list.set(131_071, true);
    list.set(9, false);
    list.set(10, true);
    const encoded = await list.encode();
    expect(encoded).toMatch(/^u[A-Za-z0-9_-]+$/);
    const raw = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
    expect(raw.length).toBe(16_384);
    expect([raw[0], raw[1], raw[16_383]]).toEqual([0b1000_0000, 0b0010_0000, 0b0000_0001]);
    const decoded = await StatusList.decode(encoded);
    const set = [0, 9, 10, 131_071].filter((index) => decoded.get(index));
    expect(set).toEqual([0, 10, 131_071]);
  });

  it('refuses short or ragged lists and indexes outside the list', () => {
    expect(codeOf(() => StatusList.create(1024))).toBe('invalid-argument');
    expect(codeOf(() => StatusList.create(STATUS_LIST_MIN_LENGTH + 1))).toBe('invalid-argument');
    const list = StatusList.create();
    expect(codeOf(() => list.get(STATUS_LIST_MIN_LENGTH))).toBe('range-error');
    expect(codeOf(() => list.set(-1, true))).toBe('range-error');
    expect(codeOf(() => list.get(1.5))).toBe('range-error');
  });

  it('refuses malformed encodings and GZIP bombs', async () => {
    expect((await rejection(StatusList.decode('zabc'))).code).toBe('malformed-value-error');
    expect((await rejection(StatusList.decode('u!!'))).code).toBe('malformed-value-error');
    const notGzip = `u${Buffer.from('not gzip').toString('base64url')}`;
    expect((await rejection(StatusList.decode(notGzip))).code).toBe('malformed-value-error');
    const bomb = `u${gzipSync(Buffer.alloc(4 * 1024 * 1024)).toString('base64url')}`;
    const refused = await rejection(StatusList.decode(bomb, 1024 * 1024));
    expect(refused.code).toBe('malformed-value-error');
    expect(refused.message).toMatch(/more than 1048576 bytes/);
  });
});

describe('status-list credentials and the checker', () => {
  async function published(
    issuer: Awaited<ReturnType<typeof newIssuer>>,
    list: StatusList,
    purpose = 'revocation',
  ) {
    const unsigned = await buildStatusListCredential({
      id: LIST_URL,
      issuer: issuer.did,
      statusPurpose: purpose,
      list,
      validFrom: '2025-01-01T00:00:00Z',
      ttl: 60_000,
    });
    return issueCredential({
      credential: unsigned,
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
    });
  }

  it('builds entries and the list credential the specification describes', async () => {
    const issuer = await newIssuer('Ed25519');
    const entry = buildStatusListEntry({
      statusListCredential: LIST_URL,
      statusPurpose: 'suspension',
      index: 94567,
    });
    expect(entry).toEqual({
      id: `${LIST_URL}#94567`,
      type: 'BitstringStatusListEntry',
      statusPurpose: 'suspension',
      statusListIndex: '94567',
      statusListCredential: LIST_URL,
    });
    const vc = await published(issuer, StatusList.create());
    expect(vc).toMatchObject({
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      id: LIST_URL,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: issuer.did,
      credentialSubject: {
        id: `${LIST_URL}#list`,
        type: 'BitstringStatusList',
        statusPurpose: 'revocation',
        ttl: 60_000,
      },
    });
    expect((await verifyCredential({ credential: vc, documentLoader })).verified).toBe(true);
  });

  it('adds entries to VC 2.0 and VC 1.1 credentials, which still issue and verify', async () => {
    const issuer = await newIssuer('Ed25519');
    const entries = ['revocation', 'suspension'].map((statusPurpose, index) =>
      buildStatusListEntry({ statusListCredential: `${LIST_URL}/${statusPurpose}`, statusPurpose, index }),
    );
    const v1 = addStatusEntries(v1Credential(issuer.did), entries);
    expect(v1['@context']).toEqual([
      'https://www.w3.org/2018/credentials/v1',
      'https://www.w3.org/ns/credentials/status/v1',
    ]);
    expect(v1.credentialStatus).toEqual(entries);
    const v2 = addStatusEntries(v2Credential(issuer.did), entries.slice(0, 1));
    expect(v2['@context']).toEqual(v2Credential(issuer.did)['@context']);
    expect(v2.credentialStatus).toEqual(entries[0]);
    for (const credential of [v1, v2]) {
      const vc = await issueCredential({
        credential,
        suite: 'eddsa-rdfc-2022',
        signer: issuer.signer,
        documentLoader,
      });
      expect((await verifyCredential({ credential: vc, documentLoader })).verified).toBe(true);
    }
  });

  it('reports each entry with its purpose and status, and the typed reason of each bad one', async () => {
    const issuer = await newIssuer('Ed25519');
    const stranger = await newIssuer('Ed25519');
    const list = StatusList.create();
    list.set(7, true);
    const lists: Record<string, unknown> = {
      [LIST_URL]: await published(issuer, list),
      [`${LIST_URL}/stranger`]: await published(stranger, list),
      [`${LIST_URL}/tampered`]: { ...(await published(issuer, list)), validFrom: '2025-01-02T00:00:00Z' },
    };
    const short = StatusList.create();
    const shortUnsigned = await buildStatusListCredential({
      id: `${LIST_URL}/short`,
      issuer: issuer.did,
      statusPurpose: 'revocation',
      list: short,
      validFrom: '2025-01-01T00:00:00Z',
    });
    (shortUnsigned.credentialSubject as Record<string, unknown>).encodedList =
      `u${gzipSync(Buffer.alloc(1024)).toString('base64url')}`;
    lists[`${LIST_URL}/short`] = await issueCredential({
      credential: shortUnsigned,
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
    });
    const check = createStatusChecker({
      documentLoader,
      loadStatusListCredential: async (url) => {
        if (!(url in lists)) throw new Error('404 Not Found');
        return lists[url];
      },
    });
    const entry = (index: string, extra: Record<string, unknown> = {}) => ({
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: index,
      statusListCredential: LIST_URL,
      ...extra,
    });
    const results = await check({
      issuer: issuer.did,
      credentialStatus: [
        entry('7'),
        entry('8'),
        { type: 'CredentialStatusList2017', id: 'https://other.example/status/1' },
        entry('131072'),
        entry('1', { statusPurpose: 'suspension' }),
        entry('1', { statusListCredential: `${LIST_URL}/stranger` }),
        entry('1', { statusListCredential: `${LIST_URL}/tampered` }),
        entry('1', { statusListCredential: `${LIST_URL}/missing` }),
        entry('1', { statusListCredential: `${LIST_URL}/short` }),
        entry('x'),
        entry('1', { statusSize: 2 }),
        entry('1', { id: LIST_URL }),
      ],
    });
    expect(results.slice(0, 2)).toEqual([
      {
        path: '/credentialStatus/0',
        purpose: 'revocation',
        statusListCredential: LIST_URL,
        statusListIndex: 7,
        status: true,
      },
      {
        path: '/credentialStatus/1',
        purpose: 'revocation',
        statusListCredential: LIST_URL,
        statusListIndex: 8,
        status: false,
      },
    ]);
    const failures = results
      .slice(2)
      .map((result) => ['error' in result ? result.error.code : 'ok', result.path]);
    expect(failures).toEqual([
      ['range-error', '/credentialStatus/3'],
      ['status-verification-error', '/credentialStatus/4'],
      ['status-verification-error', '/credentialStatus/5'],
      ['status-verification-error', '/credentialStatus/6'],
      ['status-retrieval-error', '/credentialStatus/7'],
      ['status-list-length-error', '/credentialStatus/8'],
      ['malformed-value-error', '/credentialStatus/9'],
      ['unsupported-status-size', '/credentialStatus/10'],
      ['malformed-value-error', '/credentialStatus/11'],
    ]);
    const expired = await check(
      { issuer: issuer.did, credentialStatus: entry('7') },
      { now: new Date('2024-12-31T00:00:00Z') },
    );
    expect(expired.map((result) => 'error' in result && result.error.code)).toEqual([
      'status-verification-error',
    ]);
    expect(await check({ issuer: issuer.did })).toEqual([]);
  });

  it('verifies a list once while the loader returns the same object', async () => {
    const issuer = await newIssuer('Ed25519');
    const document = await published(issuer, StatusList.create());
    let loads = 0;
    const counting: DocumentLoader = (url) => {
      loads += 1;
      return documentLoader(url);
    };
    const check = createStatusChecker({
      documentLoader: counting,
      loadStatusListCredential: async () => document,
    });
    const credential = {
      issuer: issuer.did,
      credentialStatus: buildStatusListEntry({
        statusListCredential: LIST_URL,
        statusPurpose: 'revocation',
        index: 3,
      }),
    };
    expect(await check(credential)).toMatchObject([{ status: false }]);
    const afterFirst = loads;
    expect(afterFirst).toBeGreaterThan(0);
    expect(await check(credential)).toMatchObject([{ status: false }]);
    expect(loads).toBe(afterFirst);
  });
});

import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
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
    const refused = await rejection(StatusList.decode(bomb, { maxBytes: 1024 * 1024 }));
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
        statusSize: 1,
        value: 1,
      },
      {
        path: '/credentialStatus/1',
        purpose: 'revocation',
        statusListCredential: LIST_URL,
        statusListIndex: 8,
        status: false,
        statusSize: 1,
        value: 0,
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
      ['malformed-value-error', '/credentialStatus/10'],
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

/** The `statusMessage` of an entry of `size` bits: one element per value, `0x…` hex, as §2.1 requires. */
function messagesFor(names: string[]): Array<{ status: string; message: string }> {
  return names.map((message, value) => ({ status: `0x${value.toString(16)}`, message }));
}

const TWO_BIT = ['pending_review', 'accepted', 'rejected', 'undefined'];
const THREE_BIT = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'];

describe('StatusList of multi-bit entries', () => {
  it('packs 2-bit values from index × 2, the left-most bit the most significant, and round-trips', async () => {
    const list = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    expect([list.length, list.statusSize]).toEqual([STATUS_LIST_MIN_LENGTH, 2]);
    list.setValue(0, 3);
    list.setValue(1, 2);
    list.setValue(5, 1);
    list.setValue(STATUS_LIST_MIN_LENGTH - 1, 2);
    const encoded = await list.encode();
    const raw = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
    expect(raw.length).toBe(2 * 16_384);
    expect([raw[0], raw[1], raw[raw.length - 1]]).toEqual([0b1110_0000, 0b0001_0000, 0b0000_0010]);
    const decoded = await StatusList.decode(encoded, { statusSize: 2 });
    expect([0, 1, 2, 5, STATUS_LIST_MIN_LENGTH - 1].map((index) => decoded.getValue(index))).toEqual([
      3, 2, 0, 1, 2,
    ]);
    expect([decoded.get(2), decoded.get(5)]).toEqual([false, true]);
    // The same bits read one per entry: entry 1 of the 2-bit list is bits 2 and 3.
    const single = decoded.withStatusSize(1);
    expect([single.length, single.get(2), single.get(3)]).toEqual([2 * STATUS_LIST_MIN_LENGTH, true, false]);
  });

  it('holds every 3-bit value, packed across byte boundaries', async () => {
    const list = StatusList.create(STATUS_LIST_MIN_LENGTH, 3);
    for (let value = 0; value < 8; value++) list.setValue(value, value);
    const raw = gunzipSync(Buffer.from((await list.encode()).slice(1), 'base64url'));
    // 000 001 010 011 100 101 110 111
    expect([...raw.subarray(0, 3)]).toEqual([0b0000_0101, 0b0011_1001, 0b0111_0111]);
    const decoded = await StatusList.decode(await list.encode(), { statusSize: 3 });
    expect(Array.from({ length: 8 }, (_, index) => decoded.getValue(index))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    list.setValue(7, 0);
    expect([list.getValue(6), list.getValue(7)]).toEqual([6, 0]);
  });

  it('refuses bad sizes, values that do not fit the size, and indexes outside the list', async () => {
    expect(codeOf(() => StatusList.create(STATUS_LIST_MIN_LENGTH, 0))).toBe('invalid-argument');
    expect(codeOf(() => StatusList.create(STATUS_LIST_MIN_LENGTH, 1.5))).toBe('invalid-argument');
    expect(codeOf(() => StatusList.create(STATUS_LIST_MIN_LENGTH, 33))).toBe('invalid-argument');
    const list = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    expect(codeOf(() => list.setValue(0, 4))).toBe('invalid-argument');
    expect(codeOf(() => list.setValue(0, -1))).toBe('invalid-argument');
    expect(codeOf(() => list.getValue(STATUS_LIST_MIN_LENGTH))).toBe('range-error');
    expect(codeOf(() => list.withStatusSize(0))).toBe('malformed-value-error');
    expect((await rejection(StatusList.decode(SPEC_ENCODED_LIST, { statusSize: 0 }))).code).toBe(
      'malformed-value-error',
    );
    // The specification's 131,072-bit example holds 65,536 entries of 2 bits.
    expect((await StatusList.decode(SPEC_ENCODED_LIST, { statusSize: 2 })).length).toBe(65_536);
  });
});

describe('multi-bit entries and the checker', () => {
  const urlOf = (name: string) => `https://status.example/lists/${name}`;

  async function publish(
    issuer: Awaited<ReturnType<typeof newIssuer>>,
    name: string,
    list: StatusList,
    purpose = 'message',
  ) {
    const unsigned = await buildStatusListCredential({
      id: urlOf(name),
      issuer: issuer.did,
      statusPurpose: purpose,
      list,
      validFrom: '2025-01-01T00:00:00Z',
    });
    return issueCredential({
      credential: unsigned,
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
    });
  }

  let issuer: Awaited<ReturnType<typeof newIssuer>>;
  let check: ReturnType<typeof createStatusChecker>;
  const lists: Record<string, unknown> = {};

  const entry = (name: string, index: number, extra: Record<string, unknown> = {}) => ({
    type: 'BitstringStatusListEntry',
    statusPurpose: 'message',
    statusListIndex: String(index),
    statusListCredential: urlOf(name),
    ...extra,
  });
  const two = (index: number, extra: Record<string, unknown> = {}) =>
    entry('two', index, { statusSize: 2, statusMessage: messagesFor(TWO_BIT), ...extra });
  const codesOf = async (credentialStatus: unknown[]) =>
    (await check({ issuer: issuer.did, credentialStatus })).map((result) =>
      'error' in result ? result.error.code : 'ok',
    );

  beforeAll(async () => {
    issuer = await newIssuer('Ed25519');
    const twoBit = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    for (let value = 0; value < 4; value++) twoBit.setValue(10 + value, value);
    const threeBit = StatusList.create(STATUS_LIST_MIN_LENGTH, 3);
    for (let value = 0; value < 8; value++) threeBit.setValue(100 + value, value);
    const singleBit = StatusList.create();
    singleBit.set(3, true);
    lists[urlOf('two')] = await publish(issuer, 'two', twoBit);
    lists[urlOf('three')] = await publish(issuer, 'three', threeBit);
    lists[urlOf('single')] = await publish(issuer, 'single', singleBit);
    // 131,072 bits: enough for single-bit entries, half the minimum for 2-bit ones.
    lists[urlOf('short')] = await publish(issuer, 'short', StatusList.create());
    check = createStatusChecker({
      documentLoader,
      loadStatusListCredential: async (url) => {
        if (!(url in lists)) throw new Error('404 Not Found');
        return lists[url];
      },
    });
  });

  it('reports each 2-bit value with its message', async () => {
    const results = await check({
      issuer: issuer.did,
      credentialStatus: [10, 11, 12, 13].map((index) => two(index)),
    });
    expect(results).toEqual(
      TWO_BIT.map((message, value) => ({
        path: `/credentialStatus/${value}`,
        purpose: 'message',
        statusListCredential: urlOf('two'),
        statusListIndex: 10 + value,
        status: value !== 0,
        statusSize: 2,
        value,
        message,
      })),
    );
  });

  it('reports each 3-bit value with its message, whatever the order of statusMessage', async () => {
    const shuffled = messagesFor(THREE_BIT).reverse();
    const results = await check({
      issuer: issuer.did,
      credentialStatus: THREE_BIT.map((_, value) =>
        entry('three', 100 + value, { statusSize: 3, statusMessage: shuffled }),
      ),
    });
    expect(results.map((result) => 'value' in result && [result.value, result.message])).toEqual(
      THREE_BIT.map((message, value) => [value, message]),
    );
  });

  it('reports messages of single-bit entries: their statusMessage, or "set"/"unset" for purpose message', async () => {
    const results = await check({
      issuer: issuer.did,
      credentialStatus: [
        entry('single', 3, { statusMessage: messagesFor(['valid', 'withdrawn']) }),
        entry('single', 3),
        entry('single', 4),
        entry('single', 3, { statusPurpose: 'message', statusSize: 1 }),
      ],
    });
    expect(results.map((result) => 'value' in result && [result.value, result.message])).toEqual([
      [1, 'withdrawn'],
      [1, 'set'],
      [0, 'unset'],
      [1, 'set'],
    ]);
  });

  it('refuses a missing or wrong statusMessage, bad hex, and a bad statusReference', async () => {
    const messages = messagesFor(TWO_BIT);
    expect(
      await codesOf([
        two(10, { statusMessage: undefined }),
        two(10, { statusMessage: messages.slice(0, 2) }),
        two(10, { statusMessage: messages.slice(0, 3) }),
        two(10, { statusMessage: [...messages, { status: '0x4', message: 'extra' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: '3', message: 'no prefix' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: '0xg', message: 'not hex' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: '0x4', message: 'out of range' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: '0x2', message: 'repeated' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: '0x3' }] }),
        two(10, { statusMessage: [...messages.slice(0, 3), { status: 3, message: 'number' }] }),
        two(10, { statusMessage: { status: '0x0', message: 'not an array' } }),
        entry('single', 3, { statusMessage: messagesFor(['only one']) }),
        two(10, { statusSize: '2' }),
        two(10, { statusReference: 'not a url' }),
        two(10, { statusReference: ['https://example.org/status-dictionary/', 7] }),
        two(10, { statusReference: ['https://example.org/a', 'https://example.org/b'] }),
      ]),
    ).toEqual([...Array(15).fill('malformed-value-error'), 'ok']);
  });

  it('needs 131,072 entries of the entry size, and the index × size inside the bits', async () => {
    expect(
      await codesOf([
        entry('short', 1, { statusSize: 2, statusMessage: messagesFor(TWO_BIT) }),
        entry('short', 1),
        two(STATUS_LIST_MIN_LENGTH - 1),
        two(STATUS_LIST_MIN_LENGTH),
        entry('two', 2 * STATUS_LIST_MIN_LENGTH - 1),
        entry('three', STATUS_LIST_MIN_LENGTH, { statusSize: 3, statusMessage: messagesFor(THREE_BIT) }),
      ]),
    ).toEqual(['status-list-length-error', 'ok', 'ok', 'range-error', 'ok', 'range-error']);
  });

  it('builds multi-bit entries that issue and verify, and refuses ones without the messages', async () => {
    const built = buildStatusListEntry({
      statusListCredential: urlOf('two'),
      statusPurpose: 'message',
      index: 12,
      statusSize: 2,
      statusMessage: messagesFor(TWO_BIT),
      statusReference: 'https://example.org/status-dictionary/',
    });
    expect(built).toEqual({
      id: `${urlOf('two')}#12`,
      type: 'BitstringStatusListEntry',
      statusPurpose: 'message',
      statusListIndex: '12',
      statusListCredential: urlOf('two'),
      statusSize: 2,
      statusMessage: messagesFor(TWO_BIT),
      statusReference: 'https://example.org/status-dictionary/',
    });
    const vc = await issueCredential({
      credential: addStatusEntries(v2Credential(issuer.did), [built]),
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
    });
    expect((await verifyCredential({ credential: vc, documentLoader })).verified).toBe(true);
    expect(await check(vc)).toMatchObject([{ value: 2, message: 'rejected', status: true }]);
    const base = { statusListCredential: urlOf('two'), statusPurpose: 'message', index: 1 };
    expect(codeOf(() => buildStatusListEntry({ ...base, statusSize: 2 }))).toBe('invalid-argument');
    expect(
      codeOf(() => buildStatusListEntry({ ...base, statusSize: 2, statusMessage: messagesFor(THREE_BIT) })),
    ).toBe('invalid-argument');
    expect(codeOf(() => buildStatusListEntry({ ...base, statusSize: 0 }))).toBe('invalid-argument');
    expect(codeOf(() => buildStatusListEntry({ ...base, statusReference: 'nope' }))).toBe('invalid-argument');
  });
});

/**
 * Ported from w3c/vc-bitstring-status-list-test-suite (@5cdc562, tests/10-data_model.js, tests/20-algorithms.js,
 * tests/20-verify.js): the entry an issuer adds, the status list credential it publishes, and the verifier's
 * status check, at library level (the HTTP side is packages/server/test/conformance-vc-api.test.ts). The
 * statusSize / statusMessage / statusReference assertions are from tests/10-data_model.js
 * @2d0fc7928fbf74fd1a26ea784e662402ef73d796 and the RANGE_ERROR one from tests/20-algorithms.js
 * @000610944251be028400524e8c76f2166368d7b0 (skipped there for want of fixtures).
 */
import { gunzipSync } from 'node:zlib';
import { base64urlnopad } from '@scure/base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addStatusEntries,
  buildStatusListCredential,
  buildStatusListEntry,
  createStatusChecker,
  issueCredential,
  STATUS_LIST_MIN_LENGTH,
  StatusList,
  validateCredential,
  verifyCredential,
} from '../src/index.js';
import { documentLoader, newIssuer, type TestIssuer, v2Credential } from './data-integrity-helpers.js';

type Json = Record<string, unknown>;
const LIST_URL = 'https://status.example/status/iss_1/revocation';

let issuer: TestIssuer;
let list: StatusList;
let listCredential: Json;
let credential: Json;
const entry = (index: number) =>
  buildStatusListEntry({ statusListCredential: LIST_URL, statusPurpose: 'revocation', index });

beforeAll(async () => {
  issuer = await newIssuer('Ed25519');
  list = StatusList.create();
  list.set(9, true);
  listCredential = await issueCredential({
    credential: await buildStatusListCredential({
      id: LIST_URL,
      issuer: issuer.did,
      statusPurpose: 'revocation',
      list,
      validFrom: '2025-01-01T00:00:00Z',
    }),
    suite: 'eddsa-rdfc-2022',
    signer: issuer.signer,
    documentLoader,
  });
  credential = await issueCredential({
    credential: addStatusEntries(v2Credential(issuer.did), [entry(3)]),
    suite: 'eddsa-rdfc-2022',
    signer: issuer.signer,
    documentLoader,
  });
});

const checker = () =>
  createStatusChecker({
    documentLoader,
    loadStatusListCredential: async (url) => {
      if (url !== LIST_URL) throw new Error('404 Not Found');
      return listCredential;
    },
  });

describe('Data Model: BitstringStatusList Entry', () => {
  it('the issued credential is a conforming VC 2.0 credential that verifies', async () => {
    expect(validateCredential(credential)).toEqual([]);
    expect((await verifyCredential({ credential, documentLoader })).verified).toBe(true);
  });

  it('The type property MUST be BitstringStatusListEntry; the purpose MUST be a string', () => {
    expect(credential.credentialStatus).toMatchObject({
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
    });
  });

  it('If present, the id MUST NOT be the URL of the status list', () => {
    const { id } = credential.credentialStatus as Json;
    expect(id).toBeTypeOf('string');
    expect(id).not.toBe(LIST_URL);
  });

  it('statusListIndex MUST be an integer >= 0 expressed as a base-10 string', () => {
    const { statusListIndex } = credential.credentialStatus as Json;
    expect(statusListIndex).toBe('3');
    expect(String(Number.parseInt(statusListIndex as string, 10))).toBe(statusListIndex);
  });

  it('statusListCredential MUST be a URL to a verifiable credential', () => {
    const { statusListCredential } = credential.credentialStatus as Json;
    expect(URL.canParse(statusListCredential as string)).toBe(true);
    expect(statusListCredential).toBe(listCredential.id);
  });
});

describe('Data Model: BitstringStatusList Credential', () => {
  it('is a conforming VC 2.0 document of type BitstringStatusListCredential with a string issuer', async () => {
    expect(validateCredential(listCredential)).toEqual([]);
    expect(listCredential['@context']).toContain('https://www.w3.org/ns/credentials/v2');
    expect(listCredential.type).toContain('BitstringStatusListCredential');
    expect(listCredential.issuer).toBeTypeOf('string');
    expect((await verifyCredential({ credential: listCredential, documentLoader })).verified).toBe(true);
  });

  it('credentialSubject.type MUST be BitstringStatusList, with statusPurpose and encodedList', () => {
    expect(listCredential.credentialSubject).toMatchObject({
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
      encodedList: expect.stringMatching(/^u[A-Za-z0-9_-]+$/),
    });
  });

  it('encodedList MUST be multibase base64url (no padding) of the GZIP of at least 16 KB of bits', () => {
    const { encodedList } = listCredential.credentialSubject as Json;
    const bits = gunzipSync(base64urlnopad.decode((encodedList as string).slice(1)));
    expect(bits.length * 8).toBeGreaterThanOrEqual(STATUS_LIST_MIN_LENGTH);
    // Index 0 is the left-most bit of the first byte: index 9 is bit 0x40 of the second byte.
    expect(bits[1]).toBe(0x40);
  });
});

describe('Algorithms and verify: validating the status', () => {
  it('an unset bit is reported false, a set bit true', async () => {
    const [unset] = await checker()(credential);
    expect(unset).toMatchObject({ purpose: 'revocation', statusListIndex: 3, status: false });
    const [revoked] = await checker()({ ...credential, credentialStatus: entry(9) });
    expect(revoked).toMatchObject({ statusListIndex: 9, status: true });
  });

  it.each([
    ['statusListIndex not a string', { statusListIndex: 3 }, 'malformed-value-error'],
    ['statusListIndex negative', { statusListIndex: '-1' }, 'malformed-value-error'],
    ['statusListCredential not a URL', { statusListCredential: 'not a url' }, 'malformed-value-error'],
    ['id equal to the list URL', { id: LIST_URL }, 'malformed-value-error'],
    ['statusSize of zero', { statusSize: 0 }, 'malformed-value-error'],
    ['statusPurpose missing', { statusPurpose: undefined }, 'malformed-value-error'],
    ['index beyond the list', { statusListIndex: String(STATUS_LIST_MIN_LENGTH) }, 'range-error'],
    [
      'list that cannot be retrieved',
      { statusListCredential: 'https://status.example/missing' },
      'status-retrieval-error',
    ],
    ['purpose the list is not for', { statusPurpose: 'suspension' }, 'status-verification-error'],
  ])('an entry with a %s is an error', async (_what, change, code) => {
    const [result] = await checker()({ ...credential, credentialStatus: { ...entry(3), ...change } });
    expect(result).toMatchObject({ error: expect.objectContaining({ code }) });
  });

  it('a status list credential that does not verify is a status-verification-error', async () => {
    const tampered = { ...listCredential, validFrom: '2025-02-01T00:00:00Z' };
    const check = createStatusChecker({ documentLoader, loadStatusListCredential: async () => tampered });
    const [result] = await check(credential);
    expect(result).toMatchObject({ error: expect.objectContaining({ code: 'status-verification-error' }) });
  });

  it('entries of other types (e.g. CredentialStatusList2017) are kept and not checked', async () => {
    expect(
      await checker()({
        ...credential,
        credentialStatus: { id: 'did:example:s', type: 'CredentialStatusList2017' },
      }),
    ).toEqual([]);
  });
});

describe('Data Model and validation: statusSize, statusMessage, statusReference', () => {
  const MESSAGE_URL = 'https://status.example/status/iss_1/message';
  const statusMessage = ['pending_review', 'accepted', 'rejected', 'undefined'].map((message, value) => ({
    status: `0x${value.toString(16)}`,
    message,
  }));
  let messageList: Json;
  const messageEntry = (index: number, extra: Json = {}) => ({
    ...buildStatusListEntry({
      statusListCredential: MESSAGE_URL,
      statusPurpose: 'message',
      index,
      statusSize: 2,
      statusMessage,
      statusReference: 'https://example.org/status-dictionary/',
    }),
    ...extra,
  });
  const check = (credentialStatus: unknown) =>
    createStatusChecker({
      documentLoader,
      loadStatusListCredential: async (url) => {
        if (url !== MESSAGE_URL) throw new Error('404 Not Found');
        return messageList;
      },
    })({ ...credential, credentialStatus });

  beforeAll(async () => {
    const bits = StatusList.create(STATUS_LIST_MIN_LENGTH, 2);
    bits.setValue(492_847 % STATUS_LIST_MIN_LENGTH, 2);
    messageList = await issueCredential({
      credential: await buildStatusListCredential({
        id: MESSAGE_URL,
        issuer: issuer.did,
        statusPurpose: 'message',
        list: bits,
        validFrom: '2025-01-01T00:00:00Z',
      }),
      suite: 'eddsa-rdfc-2022',
      signer: issuer.signer,
      documentLoader,
    });
  });

  it('If present, statusSize MUST be an integer greater than zero', async () => {
    for (const statusSize of [0, -1, 1.5, '2']) {
      const [result] = await check(messageEntry(1, { statusSize }));
      expect(result).toMatchObject({ error: expect.objectContaining({ code: 'malformed-value-error' }) });
    }
  });

  it('If statusSize is greater than 1, statusMessage MUST be present', async () => {
    const { statusMessage: _, ...withoutMessages } = messageEntry(1);
    const [result] = await check(withoutMessages);
    expect(result).toMatchObject({ error: expect.objectContaining({ code: 'malformed-value-error' }) });
  });

  // The suite compares the length with statusSize itself; the specification's text is "2 elements if
  // statusSize has 1 bit, 4 elements if statusSize has 2 bits, 8 elements if statusSize has 3 bits".
  it('statusMessage MUST be an array of as many elements as statusSize has values', async () => {
    expect(messageEntry(1).statusMessage).toHaveLength(2 ** 2);
    for (const wrong of [statusMessage.slice(0, 2), [...statusMessage, statusMessage[0]], statusMessage[0]]) {
      const [result] = await check(messageEntry(1, { statusMessage: wrong }));
      expect(result).toMatchObject({ error: expect.objectContaining({ code: 'malformed-value-error' }) });
    }
  });

  it('each statusMessage element MUST contain "status" (0x-prefixed hex) and "message"', async () => {
    for (const element of [{ status: '0x3' }, { message: 'm' }, { status: '3', message: 'm' }]) {
      const [result] = await check(
        messageEntry(1, { statusMessage: [...statusMessage.slice(0, 3), element] }),
      );
      expect(result).toMatchObject({ error: expect.objectContaining({ code: 'malformed-value-error' }) });
    }
  });

  it('If present, statusReference MUST be a URL or an array of URLs', async () => {
    const [ok] = await check(messageEntry(1));
    expect(ok).not.toHaveProperty('error');
    const [bad] = await check(messageEntry(1, { statusReference: ['https://example.org/', 'no url'] }));
    expect(bad).toMatchObject({ error: expect.objectContaining({ code: 'malformed-value-error' }) });
  });

  it('the status is the statusSize bits at credentialIndex × size, with its message', async () => {
    const index = 492_847 % STATUS_LIST_MIN_LENGTH;
    const [result] = await check(messageEntry(index));
    expect(result).toMatchObject({ purpose: 'message', statusSize: 2, value: 2, message: 'rejected' });
    const [unset] = await check(messageEntry(index + 1));
    expect(unset).toMatchObject({ value: 0, message: 'pending_review', status: false });
  });

  it('If credentialIndex × size is outside the bitstring, a RANGE_ERROR MUST be raised', async () => {
    const [result] = await check(messageEntry(STATUS_LIST_MIN_LENGTH));
    expect(result).toMatchObject({
      error: expect.objectContaining({ code: 'range-error', details: { specError: 'RANGE_ERROR' } }),
    });
  });

  it('fewer than 131,072 entries of statusSize bits is a STATUS_LIST_LENGTH_ERROR', async () => {
    // The single-bit list of the suite above holds 131,072 bits: 65,536 entries of 2 bits.
    const [result] = await checker()({
      ...credential,
      credentialStatus: messageEntry(1, { statusPurpose: 'revocation', statusListCredential: LIST_URL }),
    });
    expect(result).toMatchObject({
      error: expect.objectContaining({
        code: 'status-list-length-error',
        details: { specError: 'STATUS_LIST_LENGTH_ERROR' },
      }),
    });
  });
});

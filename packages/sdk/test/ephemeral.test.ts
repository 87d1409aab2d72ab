import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { fromBase64Url, generateEnvelopeKeyPair, toBase64Url } from '@personachain/crypto';
import { keyCommitment, signAttestation, verifyAttestation } from '@personachain/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EphemeralClient,
  EphemeralError,
  type EphemeralErrorCode,
  ephemeralKeyCommitment,
  ephemeralNodePublicKey,
  parseEphemeralLink,
  SECRET_KEY_OVERHEAD,
  verifyEphemeralAttestation,
} from '../src/index.js';
import { NODE_MAX_VALUE_BYTES, startTestNode, type TestNode } from './ephemeral-node.js';

async function expectCode(promise: Promise<unknown>, code: EphemeralErrorCode): Promise<EphemeralError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EphemeralError);
  expect((error as EphemeralError).code).toBe(code);
  return error as EphemeralError;
}

let node: TestNode;
let client: EphemeralClient;

/** The raw REPRAM API, as any HTTP client (or a hostile node operator) sees it. */
const raw = {
  get: async (key: string) => {
    const response = await fetch(`${node.url}/v1/data/${key}`);
    expect(response.status).toBe(200);
    return new Uint8Array(await response.arrayBuffer());
  },
  put: (key: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${node.url}/v1/data/${key}`, { method: 'PUT', body, headers }),
};

const randomKey = () => toBase64Url(crypto.getRandomValues(new Uint8Array(16)));

beforeAll(async () => {
  node = await startTestNode();
  client = new EphemeralClient({ nodeUrl: node.url });
});

afterAll(async () => {
  await node?.close();
});

describe('the compliance key commitment', () => {
  it("is the node's keyCommitment, byte for byte, on a fixed vector", () => {
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
    // base64url(SHA-256("personachain/ephemeral/key-commitment/v1\0" ‖ 00..0f ‖ UTF-8("vector/key-ü"))),
    // computed independently with Python's hashlib.
    const expected = 'fFbxBhlzlEW40eUHyg28GH6H69o3C9MM4d3529s51qw';
    expect(ephemeralKeyCommitment(salt, 'vector/key-ü')).toBe(expected);
    expect(keyCommitment(salt, 'vector/key-ü')).toBe(expected);
    const longSalt = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    expect(ephemeralKeyCommitment(longSalt, 'k')).toBe(keyCommitment(longSalt, 'k'));
    expect(() => ephemeralKeyCommitment(new Uint8Array(15), 'k')).toThrow(EphemeralError);
    expect(() => ephemeralKeyCommitment(new Uint8Array(65), 'k')).toThrow(EphemeralError);
  });
});

describe('secret-key mode (AES-256-GCM, key in the link fragment)', () => {
  it('round-trips a string and binary bytes; the node holds only ciphertext', async () => {
    const receipt = await client.put('meet me at the usual place', { ttl: 120 });
    expect(receipt.link).toMatch(
      new RegExp(`^${node.url}/v1/data/${receipt.key}#v=1&m=aes&k=[A-Za-z0-9_-]{43}$`),
    );
    expect(receipt.key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(receipt.writeToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(receipt.link).not.toContain(receipt.writeToken);
    expect(receipt).toMatchObject({ mode: 'aes', readOnce: false, ttl: 120, quorum: true });
    expect(receipt.replicas).toEqual({ acknowledged: 1, required: 1, total: 1 });
    expect(receipt.expiresAt.getTime() - receipt.createdAt.getTime()).toBe(120_000);
    expect(Math.abs(receipt.createdAt.getTime() - Date.now())).toBeLessThan(10_000);

    const value = await client.get(receipt.link);
    expect(value.text()).toBe('meet me at the usual place');
    expect(value.expiresAt?.getTime()).toBe(receipt.expiresAt.getTime());

    const stored = await raw.get(receipt.key);
    expect(stored.length).toBe(
      new TextEncoder().encode('meet me at the usual place').length + SECRET_KEY_OVERHEAD,
    );
    expect(Buffer.from(stored).includes(Buffer.from('usual place'))).toBe(false);
    const secret = fromBase64Url(parseEphemeralLink(receipt.link).secret as string);
    expect(Buffer.from(stored).includes(Buffer.from(secret))).toBe(false);

    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
    const binary = await client.put(bytes);
    expect(binary.ttl).toBe(600); // the node's default
    expect((await client.get(binary.link)).bytes).toEqual(bytes);
    // A reference works as well as a link; the empty value too.
    const empty = await client.put(new Uint8Array(0));
    const { key, secret: emptySecret } = parseEphemeralLink(empty.link);
    expect((await client.get({ key, secret: emptySecret as string })).bytes).toEqual(new Uint8Array(0));
  });

  it('refuses a wrong key, and a flipped ciphertext byte, without returning plaintext', async () => {
    const receipt = await client.put('original');
    const parsed = parseEphemeralLink(receipt.link);
    const wrongSecret = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    await expectCode(client.get({ key: receipt.key, secret: wrongSecret }), 'wrong-key');

    // Flip the last byte (part of the GCM tag) and write it back as the owner, through the raw API.
    const stored = await raw.get(receipt.key);
    stored[stored.length - 1] ^= 0x01;
    const overwrite = await raw.put(receipt.key, stored, { 'x-write-token': receipt.writeToken });
    expect(overwrite.status).toBe(201);
    await expectCode(client.get(receipt.link), 'tampered');

    // A flipped byte in the middle of the ciphertext, too.
    stored[stored.length - 1] ^= 0x01;
    stored[SECRET_KEY_OVERHEAD - 16 + 2] ^= 0x80;
    expect((await raw.put(receipt.key, stored, { 'x-write-token': receipt.writeToken })).status).toBe(201);
    await expectCode(client.get({ key: receipt.key, secret: parsed.secret as string }), 'tampered');
  });

  it('binds the storage key: a ciphertext copied under another key does not open', async () => {
    const receipt = await client.put('bound to its key');
    const copyKey = randomKey();
    expect((await raw.put(copyKey, await raw.get(receipt.key))).status).toBe(201);
    const { secret } = parseEphemeralLink(receipt.link);
    await expectCode(client.get({ key: copyKey, secret: secret as string }), 'tampered');
    // The original still opens.
    expect(await client.getText(receipt.link)).toBe('bound to its key');
  });

  it('refuses a stored value of an unknown format version', async () => {
    const key = randomKey();
    const body = new Uint8Array(100);
    body[0] = 2;
    expect((await raw.put(key, body)).status).toBe(201);
    const secret = toBase64Url(new Uint8Array(32));
    await expectCode(client.get({ key, secret }), 'unsupported-format');
  });
});

describe('recipient mode (HPKE X-Wing: the sender cannot decrypt)', () => {
  it('opens only with the recipient key pair, and binds the storage key', async () => {
    const recipient = await generateEnvelopeKeyPair('X-Wing');
    const other = await generateEnvelopeKeyPair('X-Wing');
    const receipt = await client.put('for your eyes only', {
      recipient: { suite: recipient.suite, publicKey: recipient.publicKey },
    });
    expect(receipt.mode).toBe('hpke');
    expect(receipt.link).toBe(`${node.url}/v1/data/${receipt.key}#v=1&m=hpke`);

    await expectCode(client.get(receipt.link), 'invalid-argument');
    await expectCode(client.get(receipt.link, { recipientKey: other }), 'wrong-key');
    expect(await client.getText(receipt.link, { recipientKey: recipient })).toBe('for your eyes only');

    const stored = await raw.get(receipt.key);
    // 2 header bytes + envelope header (24) + X-Wing enc (1120) + tag (16).
    expect(stored.length).toBe(new TextEncoder().encode('for your eyes only').length + 1162);
    const copyKey = randomKey();
    expect((await raw.put(copyKey, stored)).status).toBe(201);
    await expectCode(client.get({ key: copyKey }, { recipientKey: recipient }), 'tampered');

    stored[stored.length - 5] ^= 0x10;
    expect((await raw.put(receipt.key, stored, { 'x-write-token': receipt.writeToken })).status).toBe(201);
    await expectCode(client.get(receipt.link, { recipientKey: recipient }), 'tampered');
  });

  it('works with a classical DHKEM-X25519 recipient too', async () => {
    const recipient = await generateEnvelopeKeyPair('DHKEM-X25519');
    const receipt = await client.put(new Uint8Array([0, 1, 2, 255]), { recipient });
    expect((await client.get(receipt.link, { recipientKey: recipient })).bytes).toEqual(
      new Uint8Array([0, 1, 2, 255]),
    );
    await expectCode(
      client.get(receipt.link, { recipientKey: await generateEnvelopeKeyPair('X-Wing') }),
      'wrong-key',
    );
  });

  it('refuses to open a secret-key value with a key pair and the reverse', async () => {
    const recipient = await generateEnvelopeKeyPair('X-Wing');
    const aes = await client.put('aes value');
    await expectCode(client.get(aes.link, { recipientKey: recipient }), 'wrong-key');
    const hpke = await client.put('hpke value', { recipient });
    const secret = toBase64Url(new Uint8Array(32));
    await expectCode(client.get({ key: hpke.key, secret }), 'wrong-key');
  });
});

describe('read-once links', () => {
  it('burns on the first read; the second read is not-found', async () => {
    const receipt = await client.put('self-destructing', { readOnce: true });
    expect(receipt.link).toMatch(/#v=1&m=aes&k=[A-Za-z0-9_-]{43}&once=1$/);
    // The node itself refuses a read that would leave the value in place.
    expect((await fetch(`${node.url}/v1/data/${receipt.key}`)).status).toBe(409);
    expect(await client.getText(receipt.link)).toBe('self-destructing');
    const error = await expectCode(client.get(receipt.link), 'not-found');
    expect(error.message).toContain('already read');
    expect((await fetch(`${node.url}/v1/data/${receipt.key}`)).status).toBe(404);
  });
});

describe('ownership', () => {
  it('only the write token deletes; a deleted value is gone', async () => {
    const receipt = await client.put('mine');
    const stranger = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const refused = await expectCode(client.delete(receipt.key, stranger), 'forbidden');
    expect(refused.status).toBe(403);
    expect(await client.getText(receipt.link)).toBe('mine');
    // Nor can anyone overwrite it without the token.
    expect((await raw.put(receipt.key, new Uint8Array(8))).status).toBe(403);

    expect(await client.delete(receipt)).toBe(true);
    await expectCode(client.get(receipt.link), 'not-found');
    expect(await client.delete(receipt.key, receipt.writeToken)).toBe(false);
  });
});

describe('compliance writes', () => {
  it('return the salt and the commitment the node files attestations under', async () => {
    const receipt = await client.put('regulated', { compliance: true });
    const commitment = receipt.commitment;
    if (!commitment) throw new Error('a compliance receipt has a commitment');
    expect(fromBase64Url(commitment.salt)).toHaveLength(32);
    expect(commitment.keyCommitment).toBe(keyCommitment(fromBase64Url(commitment.salt), receipt.key));
    expect(receipt.link).not.toContain(commitment.salt);

    expect(await client.delete(receipt)).toBe(true);
    const answer = await client.attestations(commitment.keyCommitment);
    expect(answer.keyCommitment).toBe(commitment.keyCommitment);
    expect(answer.attestations).toEqual([
      expect.objectContaining({
        keyCommitment: commitment.keyCommitment,
        reason: 'deleted',
        nodeId: answer.nodeId,
        verified: true,
      }),
    ]);
    await expectCode(client.attestations('not-a-commitment'), 'invalid-argument');
  });
});

describe('attestation verification in the SDK', () => {
  it("accepts exactly what the node's signAttestation signs, as the node's verifier does", async () => {
    const key = await generateKeyPair('Ed25519');
    const signer = {
      nodeId: peerIdFromPrivateKey(key).toString(),
      sign: async (m: Uint8Array) => key.sign(m),
    };
    const commitment = ephemeralKeyCommitment(new Uint8Array(16).fill(7), 'k');
    const signed = await signAttestation(signer, {
      keyCommitment: commitment,
      deletedAt: 1_750_000_000_123,
      reason: 'burned',
    });
    expect(ephemeralNodePublicKey(signer.nodeId)).toEqual(key.publicKey.raw);
    expect(await verifyAttestation(signed)).toEqual({ valid: true });
    expect(await verifyEphemeralAttestation(signed)).toBe(true);

    const other = await generateKeyPair('Ed25519');
    const forgeries = [
      { ...signed, reason: 'expired' as const },
      { ...signed, deletedAt: '2025-06-15T15:06:40.124Z' },
      { ...signed, keyCommitment: ephemeralKeyCommitment(new Uint8Array(16).fill(8), 'k') },
      { ...signed, nodeId: peerIdFromPrivateKey(other).toString() },
      { ...signed, nodeId: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }, // a SHA-256 (RSA-style) peer id
      { ...signed, signature: signed.signature.slice(0, -2) },
    ];
    for (const forged of forgeries) {
      expect(await verifyEphemeralAttestation(forged), JSON.stringify(forged)).toBe(false);
      expect((await verifyAttestation(forged)).valid).toBe(false);
    }
  });
});

describe('limits and refusals', () => {
  it('checks the size before uploading, and surfaces the node limit as too-large', async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const small = new EphemeralClient({ nodeUrl: node.url, fetch: counting, maxValueBytes: 1024 });
    await expectCode(small.put(new Uint8Array(1024 - SECRET_KEY_OVERHEAD + 1)), 'too-large');
    expect(requests).toBe(0);
    await small.put(new Uint8Array(1024 - SECRET_KEY_OVERHEAD));
    expect(requests).toBe(1);

    // This client believes in the default 10 MiB; the node is configured lower and answers 413.
    const error = await expectCode(client.put(new Uint8Array(NODE_MAX_VALUE_BYTES + 1)), 'too-large');
    expect(error.status).toBe(413);
  });

  it('surfaces 429 with its Retry-After', async () => {
    const limited = await startTestNode({ REPRAM_RATE_LIMIT: '1', PERSONA_NODE_RATE_BURST: '1' });
    try {
      const limitedClient = new EphemeralClient({ nodeUrl: limited.url });
      await limitedClient.put('first');
      const error = await expectCode(limitedClient.put('second'), 'rate-limited');
      expect(error.status).toBe(429);
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('reports a TTL outside the node range with the node explanation', async () => {
    const error = await expectCode(client.put('x', { ttl: 5 }), 'rejected');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/60/);
    expect(error.message).toMatch(/3600/);
    await expectCode(client.put('x', { ttl: 1.5 }), 'invalid-argument');
  });

  it('parses links strictly', () => {
    const base = `${node.url}/v1/data/abc`;
    const secret = toBase64Url(new Uint8Array(32));
    expect(parseEphemeralLink(`${base}#v=1&m=aes&k=${secret}&future=x`)).toMatchObject({
      nodeUrl: node.url,
      key: 'abc',
      mode: 'aes',
      secret,
      readOnce: false,
    });
    const prefixed = parseEphemeralLink(`https://edge.example/ephemeral/v1/data/a%2Fb/c#v=1&m=hpke&once=1`);
    expect(prefixed).toMatchObject({
      nodeUrl: 'https://edge.example/ephemeral',
      key: 'a/b/c',
      readOnce: true,
    });
    const cases: [string, EphemeralErrorCode][] = [
      [`${base}#v=2&m=aes&k=${secret}`, 'unsupported-format'],
      [`${base}#v=1&m=rot13`, 'unsupported-format'],
      [`${base}#v=1&m=aes`, 'invalid-link'],
      [`${base}#v=1&m=aes&k=${secret.slice(1)}`, 'invalid-link'],
      [`${base}#m=aes&k=${secret}`, 'invalid-link'],
      [`${node.url}/v2/other#v=1&m=aes&k=${secret}`, 'invalid-link'],
      ['not a url', 'invalid-link'],
    ];
    for (const [link, code] of cases) {
      expect(() => parseEphemeralLink(link), link).toThrow(expect.objectContaining({ code }));
    }
  });
});

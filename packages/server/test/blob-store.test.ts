import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BlobStore,
  checkBlobKey,
  FileBlobStore,
  openBlobStore,
  S3BlobStore,
  type S3BlobStoreConfig,
  s3ClientFor,
} from '../src/store/blob-store.js';

const KEY = 'prj_0192/vrf_0193/vdc_0194';
const BAD_KEYS = [
  '',
  '../escape',
  'prj/../../escape',
  '/etc/passwd',
  'a//b',
  'a/b/',
  'a.b',
  'a\\b',
  'ümlaut',
  'a b',
];
const bytes = (...values: number[]) => new Uint8Array(values);

describe('FileBlobStore', () => {
  let dir: string;
  let store: FileBlobStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kyc-blobs-'));
    store = new FileBlobStore(join(dir, 'blobs'));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips, overwrites, answers null for absent keys and deletes idempotently', async () => {
    expect(await store.get(KEY)).toBeNull();
    await store.put(KEY, bytes(1, 2, 3));
    expect(await store.get(KEY)).toEqual(bytes(1, 2, 3));
    await store.put(KEY, bytes(9));
    expect(await store.get(KEY)).toEqual(bytes(9));
    await store.put('prj_0192/vrf_0193/vdc_empty', bytes());
    expect(await store.get('prj_0192/vrf_0193/vdc_empty')).toEqual(bytes());

    await store.delete(KEY);
    expect(await store.get(KEY)).toBeNull();
    await store.delete(KEY);
    await store.delete('prj_never/vrf_seen');
    // A key below an existing blob is absent, not an error.
    expect(await store.get('prj_0192/vrf_0193/vdc_empty/below')).toBeNull();
    await store.delete('prj_0192/vrf_0193/vdc_empty/below');
  });

  it('writes owner-only files and directories and leaves no temporary files', async () => {
    await store.put(KEY, bytes(1));
    await store.put(KEY, bytes(2));
    expect((await stat(join(dir, 'blobs', 'prj_0192', 'vrf_0193', 'vdc_0194'))).mode & 0o777).toBe(0o600);
    for (const path of ['blobs', 'blobs/prj_0192', 'blobs/prj_0192/vrf_0193']) {
      expect((await stat(join(dir, path))).mode & 0o777).toBe(0o700);
    }
    expect(await readdir(join(dir, 'blobs', 'prj_0192', 'vrf_0193'))).toEqual(['vdc_0194']);
  });

  it('removes directories left empty by a delete, up to the root', async () => {
    await store.put('prj_1/vrf_1/vdc_1', bytes(1));
    await store.put('prj_1/vrf_2/vdc_1', bytes(2));
    await store.delete('prj_1/vrf_1/vdc_1');
    expect(await readdir(join(dir, 'blobs', 'prj_1'))).toEqual(['vrf_2']);
    await store.delete('prj_1/vrf_2/vdc_1');
    expect(await readdir(join(dir, 'blobs'))).toEqual([]);
    // And the store still writes there afterwards.
    await store.put('prj_1/vrf_1/vdc_1', bytes(3));
    expect(await store.get('prj_1/vrf_1/vdc_1')).toEqual(bytes(3));
  });

  it('keeps concurrent puts and deletes in one directory consistent', async () => {
    const keys = Array.from({ length: 20 }, (_, index) => `prj_1/vrf_1/vdc_${index}`);
    await Promise.all(keys.map((key, index) => store.put(key, bytes(index))));
    await Promise.all(
      keys.map((key, index) => (index % 2 === 0 ? store.delete(key) : store.put(key, bytes(100 + index)))),
    );
    for (const [index, key] of keys.entries()) {
      expect(await store.get(key)).toEqual(index % 2 === 0 ? null : bytes(100 + index));
    }
  });

  it('keeps puts and deletes consistent across directories its threads prune and make concurrently', async () => {
    // Sessions of one project land on different threads; deleting a session's last blob prunes its
    // directory and tries the project's, while other threads put into sibling directories.
    const keys = Array.from({ length: 40 }, (_, index) => `prj_1/vrf_${index % 10}/vdc_${index}`);
    for (let round = 0; round < 3; round++) {
      await Promise.all(keys.map((key, index) => store.put(key, bytes(round * 100 + index))));
      await Promise.all(
        keys.map((key, index) =>
          (index + round) % 3 === 0 ? store.delete(key) : store.put(key, bytes(round * 1000 + index)),
        ),
      );
      for (const [index, key] of keys.entries()) {
        expect(await store.get(key)).toEqual((index + round) % 3 === 0 ? null : bytes(round * 1000 + index));
      }
      await Promise.all(keys.map((key) => store.delete(key)));
      expect(await readdir(join(dir, 'blobs'))).toEqual([]);
    }
  });

  it('fails the operations of a file thread that dies, and carries on with a new one', async () => {
    await store.put(KEY, bytes(7));
    const threads = (store as unknown as { threads: { worker?: { terminate(): Promise<number> } }[] })
      .threads;
    // One put started one thread: the one that holds KEY's directory.
    const [worker, ...others] = threads.flatMap((thread) => (thread.worker ? [thread.worker] : []));
    expect(others).toEqual([]);
    const exited = (worker as { terminate(): Promise<number> }).terminate();
    // Asked after the thread was told to stop, before it reported its exit.
    const pending = store.get(KEY);
    await exited;
    await expect(pending).rejects.toThrow(/file thread exited/);
    expect(await store.get(KEY)).toEqual(bytes(7));
  });

  it('finishes the operations asked before closing, then refuses new ones', async () => {
    const writes = Array.from({ length: 5 }, (_, index) =>
      store.put(`prj_1/vrf_1/vdc_${index}`, bytes(index)),
    );
    await store.close();
    await Promise.all(writes);
    expect((await readdir(join(dir, 'blobs', 'prj_1', 'vrf_1'))).sort()).toEqual([
      'vdc_0',
      'vdc_1',
      'vdc_2',
      'vdc_3',
      'vdc_4',
    ]);
    await expect(store.get('prj_1/vrf_1/vdc_0')).rejects.toThrow(/closed/);
  });

  it('refuses keys that could leave the root or are not plain segments', async () => {
    for (const key of BAD_KEYS) {
      await expect(store.put(key, bytes(1)), key).rejects.toThrow(RangeError);
      await expect(store.get(key), key).rejects.toThrow(RangeError);
      await expect(store.delete(key), key).rejects.toThrow(RangeError);
    }
    expect(() => checkBlobKey('x'.repeat(513))).toThrow(RangeError);
    expect(() => checkBlobKey(KEY)).not.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Checks an AWS Signature Version 4 the way S3 does (docs.aws.amazon.com/AmazonS3/latest/API/
 * sig-v4-header-based-auth.html): the canonical request over method, path (as sent), sorted query,
 * signed headers and the payload hash, signed with the key derived from the secret, date, region and service.
 */
function sigV4Valid(request: RecordedRequest, secret: string): boolean {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      String(request.headers.authorization),
    );
  if (!match) return false;
  const [, , date = '', region = '', signedHeaders = '', signature = ''] = match;
  const amzDate = String(request.headers['x-amz-date']);
  const payloadHash = String(request.headers['x-amz-content-sha256']);
  if (payloadHash !== sha256Hex(request.body) || !amzDate.startsWith(date)) return false;
  const url = new URL(request.url, 'http://s3');
  const query = [...url.searchParams]
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const headers = signedHeaders
    .split(';')
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonical = [request.method, url.pathname, query, headers, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === signature;
}

/**
 * A small S3 in the shape the SDK speaks to with path-style addressing: PUT/GET/DELETE /<bucket>/<key>,
 * SigV4 checked on every request, errors as S3's XML <Error> documents.
 */
class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  endpoint = '';

  constructor(
    private readonly bucket: string,
    private readonly secret: string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const url = request.url ?? '/';
      this.requests.push({ method: request.method ?? '', url, headers: request.headers, body });
      const path = decodeURIComponent(new URL(url, 'http://s3').pathname);
      const [, bucket, ...rest] = path.split('/');
      const key = rest.join('/');
      const error = (status: number, code: string, message: string) => {
        response.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'req-1' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
            `<Key>${key}</Key><RequestId>req-1</RequestId></Error>`,
        );
      };
      if (!sigV4Valid(this.requests.at(-1) as RecordedRequest, this.secret)) {
        return error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match');
      }
      if (bucket !== this.bucket) return error(404, 'NoSuchBucket', 'The specified bucket does not exist');
      if (request.method === 'PUT') {
        this.objects.set(key, body);
        response.writeHead(200, { etag: '"etag"' });
        return response.end();
      }
      if (request.method === 'GET') {
        const object = this.objects.get(key);
        if (!object) return error(404, 'NoSuchKey', 'The specified key does not exist.');
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': object.length,
        });
        return response.end(object);
      }
      if (request.method === 'DELETE') {
        this.objects.delete(key);
        response.writeHead(204);
        return response.end();
      }
      error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('S3BlobStore', () => {
  const credentials = { accessKeyId: 'AKIDTESTKEY', secretAccessKey: 'test-secret-key' };
  const s3 = new FakeS3('kyc-blobs', credentials.secretAccessKey);
  let config: S3BlobStoreConfig;
  let store: BlobStore;

  beforeAll(async () => {
    await s3.start();
    config = { bucket: 'kyc-blobs', endpoint: s3.endpoint, region: 'eu-west-1', prefix: '/uploads/' };
    store = new S3BlobStore(config, s3ClientFor(config, { credentials }));
  });
  afterAll(async () => {
    await store.close();
    await s3.stop();
  });

  it('puts, gets and deletes objects path-style under the prefix, signed with SigV4', async () => {
    s3.requests.length = 0;
    await store.put(KEY, bytes(1, 2, 3));
    expect(s3.objects.get(`uploads/${KEY}`)).toEqual(Buffer.from([1, 2, 3]));
    expect(await store.get(KEY)).toEqual(bytes(1, 2, 3));
    await store.put(KEY, bytes(4));
    expect(await store.get(KEY)).toEqual(bytes(4));
    await store.delete(KEY);
    expect(s3.objects.has(`uploads/${KEY}`)).toBe(false);

    expect(
      s3.requests.map((request) => [request.method, new URL(request.url, 'http://s3').pathname]),
    ).toEqual([
      ['PUT', `/kyc-blobs/uploads/${KEY}`],
      ['GET', `/kyc-blobs/uploads/${KEY}`],
      ['PUT', `/kyc-blobs/uploads/${KEY}`],
      ['GET', `/kyc-blobs/uploads/${KEY}`],
      ['DELETE', `/kyc-blobs/uploads/${KEY}`],
    ]);
    for (const request of s3.requests) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTESTKEY\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(request.headers['x-amz-content-sha256']).toBeDefined();
      expect(request.headers.authorization).not.toContain('test-secret-key');
    }
    // No flexible checksums (x-amz-checksum-*) towards an S3-compatible endpoint: not all of them take them.
    expect(
      Object.keys(s3.requests[0]?.headers ?? {}).filter((name) => name.startsWith('x-amz-checksum')),
    ).toEqual([]);
    expect(s3.requests[1]?.headers['x-amz-checksum-mode']).toBeUndefined();
    expect(s3.requests[0]?.body).toEqual(Buffer.from([1, 2, 3]));
  });

  it('is refused by the fake when the signature is wrong (the check is real)', async () => {
    const forged = new S3BlobStore(
      config,
      s3ClientFor(config, { credentials: { ...credentials, secretAccessKey: 'wrong' }, maxAttempts: 1 }),
    );
    await expect(forged.put(KEY, bytes(1))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    await forged.close();
  });

  it('answers null for a missing key, deletes absent keys, and throws for a missing bucket', async () => {
    expect(await store.get('prj_x/vrf_missing')).toBeNull();
    await store.delete('prj_x/vrf_missing');
    const wrong = { ...config, bucket: 'no-such-bucket' };
    const elsewhere = new S3BlobStore(wrong, s3ClientFor(wrong, { credentials, maxAttempts: 1 }));
    await expect(elsewhere.get(KEY)).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await elsewhere.close();
  });

  it('refuses bad keys before any request, and works without a prefix', async () => {
    s3.requests.length = 0;
    for (const key of BAD_KEYS) {
      await expect(store.put(key, bytes(1)), key).rejects.toThrow(RangeError);
    }
    expect(s3.requests).toEqual([]);

    const bare = { ...config, prefix: '' };
    const unprefixed = new S3BlobStore(bare, s3ClientFor(bare, { credentials }));
    await unprefixed.put('prj_1/vdc_1', bytes(7));
    expect(s3.objects.get('prj_1/vdc_1')).toEqual(Buffer.from([7]));
    await unprefixed.close();
  });
});

describe('openBlobStore', () => {
  it('opens the store the configuration names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kyc-blobs-'));
    const file = openBlobStore({ kind: 'file', dir });
    expect(file).toBeInstanceOf(FileBlobStore);
    await file.put('a/b', bytes(1));
    expect(await file.get('a/b')).toEqual(bytes(1));
    await file.close();
    await rm(dir, { recursive: true, force: true });

    const s3 = openBlobStore({ kind: 's3', bucket: 'b', endpoint: null, region: 'us-east-1', prefix: '' });
    expect(s3).toBeInstanceOf(S3BlobStore);
    await s3.close();
  });
});

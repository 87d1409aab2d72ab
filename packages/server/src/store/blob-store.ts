/**
 * Where sealed verification uploads (documents, selfies, the submitted fields) are kept. The store only
 * ever holds ciphertext: uploads are encrypted in the client and the platform puts them as they came.
 */
import { join, resolve } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { BlobStoreConfig } from '../config.js';
import { RequestThread } from '../request-thread.js';
import type { BlobFileAnswer, BlobFileRequest, BlobFileThreadData } from './blob-file-thread.js';

export interface BlobStore {
  /** Stores the bytes under the key, replacing what was there; readers see the old or the new bytes whole. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes under the key, or null when there are none. */
  get(key: string): Promise<Uint8Array | null>;
  /** Removes the key; removing an absent key is fine. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export function openBlobStore(config: BlobStoreConfig): BlobStore {
  return config.kind === 'file' ? new FileBlobStore(config.dir) : new S3BlobStore(config);
}

const KEY_PATTERN = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;
const MAX_KEY_LENGTH = 512;

/**
 * Keys are slash-separated segments of letters, digits, `_` and `-` (e.g. `prj_…/vrf_…/vdc_…`): no dots, so
 * no `..`, no leading slash and no empty segment can reach outside the store's root.
 */
export function checkBlobKey(key: string): void {
  if (key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new RangeError(`Invalid blob key (expected segments of [A-Za-z0-9_-] joined by "/")`);
  }
}

/**
 * The file blob store's thread. Tests run this module from its TypeScript source, which a worker cannot
 * load; they build first, so the compiled script is there.
 */
const THREAD_SCRIPT = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/store/blob-file-thread.js' : './blob-file-thread.js',
  import.meta.url,
);

/**
 * File threads per store. A durable put waits for two fsyncs (the file and its directory), ~1.2 ms in all
 * under load on a 2-vCPU VM, so one thread capped the KYC benchmark's puts near its ~240 sessions/s; two
 * sync at once. More cost the event loop more: every message to an idle thread wakes it (~10 µs).
 */
const FILE_THREADS = 2;

/**
 * One file per key under a root directory, owner-only (files 0600, directories 0700). A put writes a
 * temporary file, fsyncs it and renames it over the key, so a crash leaves the old or the new blob whole.
 * Deleting the last blob of a directory removes the directory too, up to the root.
 *
 * The file operations run on threads of the store's own (blob-file-thread.ts). Every key of one directory
 * goes to the same thread, which runs them one at a time in the order asked, so a put and a delete in one
 * directory never interleave; a put whose directory another thread prunes meanwhile makes it again. A
 * thread starts on first use; one that dies fails the operations it held and is replaced by the next.
 * Closing waits for the operations asked.
 */
export class FileBlobStore implements BlobStore {
  private readonly root: string;
  private readonly threads: RequestThread<DistributiveOmit<BlobFileRequest, 'id'>, BlobFileAnswer>[];
  private closed = false;
  /** The operations asked and not yet answered, for close to wait for. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(dir: string, threads = FILE_THREADS) {
    this.root = resolve(dir);
    this.threads = Array.from(
      { length: threads },
      () =>
        new RequestThread(THREAD_SCRIPT, "the blob store's file thread", {
          workerData: { root: this.root } satisfies BlobFileThreadData,
        }),
    );
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.ask(key, { op: 'put', path: this.pathOf(key), bytes });
  }

  async get(key: string): Promise<Uint8Array | null> {
    return (await this.ask(key, { op: 'get', path: this.pathOf(key) })).bytes ?? null;
  }

  async delete(key: string): Promise<void> {
    await this.ask(key, { op: 'delete', path: this.pathOf(key) });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.inFlight);
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  private pathOf(key: string): string {
    checkBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** The thread of a key's directory (FNV-1a of the directory part). */
  private threadOf(key: string): RequestThread<DistributiveOmit<BlobFileRequest, 'id'>, BlobFileAnswer> {
    const directory = key.slice(0, Math.max(0, key.lastIndexOf('/')));
    let hash = 0x811c9dc5;
    for (let i = 0; i < directory.length; i++) hash = Math.imul(hash ^ directory.charCodeAt(i), 0x01000193);
    return this.threads[(hash >>> 0) % this.threads.length] as RequestThread<
      DistributiveOmit<BlobFileRequest, 'id'>,
      BlobFileAnswer
    >;
  }

  private ask(key: string, request: DistributiveOmit<BlobFileRequest, 'id'>): Promise<BlobFileAnswer> {
    if (this.closed) return Promise.reject(new Error('the blob store is closed'));
    const answered = this.threadOf(key).ask(request);
    this.inFlight.add(answered);
    const done = () => this.inFlight.delete(answered);
    answered.then(done, done);
    return answered;
  }
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface S3BlobStoreConfig {
  bucket: string;
  /** An S3-compatible service's URL (MinIO, R2, Ceph…); null for AWS S3 itself. */
  endpoint: string | null;
  region: string;
  /** Prepended to every key (`<prefix>/<key>`); '' for none. */
  prefix: string;
}

/**
 * The S3 client the store uses unless given one: path-style addressing for S3-compatible endpoints
 * (bucket names need no DNS there), bounded connect and request times, and checksums only where the API
 * requires them, since S3-compatible services do not all take the SDK's default CRC32 checksum headers.
 * Credentials come from the SDK's usual sources (environment, profile, instance role) unless given.
 */
export function s3ClientFor(config: S3BlobStoreConfig, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.endpoint === null
      ? {}
      : {
          endpoint: config.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
    ...overrides,
  });
}

/** An S3 bucket (or an S3-compatible one) through @aws-sdk/client-s3: one object per key. */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  /** A client passed in belongs to the caller, who closes it. */
  private readonly ownsClient: boolean;
  private readonly prefix: string;

  constructor(
    private readonly config: S3BlobStoreConfig,
    client?: S3Client,
  ) {
    this.client = client ?? s3ClientFor(config);
    this.ownsClient = client === undefined;
    const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = prefix === '' ? '' : `${prefix}/`;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: this.objectKey(key),
        Body: bytes,
        ContentType: 'application/octet-stream',
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }),
      );
      return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if ((error as { name?: unknown }).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for absent keys too.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.objectKey(key) }));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private objectKey(key: string): string {
    checkBlobKey(key);
    return `${this.prefix}${key}`;
  }
}

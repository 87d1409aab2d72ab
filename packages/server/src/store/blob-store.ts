/**
 * Where sealed verification uploads (documents, selfies, the submitted fields) are kept. The store only
 * ever holds ciphertext: uploads are encrypted in the client and the platform puts them as they came.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { BlobStoreConfig } from '../config.js';

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

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Codes meaning "nothing at this path" (ENOTDIR: a segment of the key is a file). */
function isAbsent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * One file per key under a root directory, owner-only (files 0600, directories 0700). A put writes a
 * temporary file, fsyncs it and renames it over the key, so a crash leaves the old or the new blob whole.
 * Deleting the last blob of a directory removes the directory too, up to the root.
 */
export class FileBlobStore implements BlobStore {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    // Temporary names carry a dot, which keys cannot: they never collide with a blob.
    const temporary = `${path}.${randomUUID()}.tmp`;
    await this.writeNew(temporary, bytes);
    try {
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await fsyncDirectory(dirname(path));
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (error) {
      if (isAbsent(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await rm(path);
    } catch (error) {
      if (isAbsent(error)) return;
      throw error;
    }
    await this.pruneEmptyDirectories(dirname(path));
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    checkBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  /**
   * Creates the file (with its directories) exclusively and writes it durably. A concurrent delete may
   * prune a directory between its creation and the open: then the directories are made again.
   */
  private async writeNew(path: string, bytes: Uint8Array): Promise<void> {
    for (let round = 0; ; round++) {
      await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
      let file: Awaited<ReturnType<typeof open>>;
      try {
        file = await open(path, 'wx', FILE_MODE);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT' && round < 3) continue;
        throw error;
      }
      try {
        await file.writeFile(bytes);
        await file.sync();
      } catch (error) {
        await file.close();
        await rm(path, { force: true });
        throw error;
      }
      await file.close();
      return;
    }
  }

  private async pruneEmptyDirectories(from: string): Promise<void> {
    for (let dir = from; dir !== this.root && dir.startsWith(`${this.root}${sep}`); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // Not empty (or already gone): the directories above are not empty either.
      }
    }
  }
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function fsyncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

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

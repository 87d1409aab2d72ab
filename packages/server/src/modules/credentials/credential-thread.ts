import { parentPort } from 'node:worker_threads';
import { createDidResolver, createDocumentLoader, verifyCredential } from '@personachain/credentials';
import type { KeyRecord, KeyStore } from '@personachain/crypto';
import {
  type FromThread,
  receivedError,
  sendError,
  type ThreadCall,
  type ThreadJob,
  type ToThread,
} from './credential-thread-protocol.js';
import { didUrlResolver } from './document-loader.js';
import { issueWithKeyStore } from './keystore-issuance.js';

/**
 * A credential thread: the costly part of Data Integrity (JSON-LD canonicalization, hashing, signature
 * checks) off the main thread. Bundled contexts and did:key are resolved here, as they are pure; other DID
 * URLs, and every KeyStore operation, are asked of the main thread, which alone holds the database and the
 * keys (and signs only with the key of the job that asks).
 */
const port = parentPort;
if (port === null) throw new Error('credential-thread.js runs only as a worker thread');

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}
const waiting = new Map<number, Waiting>();
let nextRequestId = 0;

const post = (message: FromThread) => port.postMessage(message);

function ask<T>(jobId: number, call: ThreadCall): Promise<T> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    waiting.set(requestId, { resolve: resolve as (value: unknown) => void, reject });
    post({ type: 'call', requestId, jobId, ...call });
  });
}

// Asked only for did:key URLs: nothing here fetches.
const didKey = createDidResolver();
const resolveDidKeyUrl = didUrlResolver((url) => didKey.dereference(url));

/** The loader of one job: its DID URLs, when not did:key, are resolved by the main thread. */
const loaderFor = (jobId: number) =>
  createDocumentLoader({
    resolveDidUrl: (url) =>
      url.startsWith('did:key:') ? resolveDidKeyUrl(url) : ask(jobId, { call: 'resolve', url }),
  });

/** The main thread's KeyStore, as far as a job's signer uses it. */
const keyStoreFor = (jobId: number): Pick<KeyStore, 'getKey' | 'sign' | 'signMessages'> => ({
  getKey: (keyId) => ask<KeyRecord>(jobId, { call: 'getKey', keyId }),
  sign: (keyId, message) => ask<Uint8Array>(jobId, { call: 'sign', keyId, message }),
  signMessages: (keyId, input) => ask<Uint8Array>(jobId, { call: 'signMessages', keyId, input }),
});

function run(job: ThreadJob): Promise<unknown> {
  const documentLoader = loaderFor(job.id);
  if (job.type === 'issue') return issueWithKeyStore(job, keyStoreFor(job.id), documentLoader);
  const { credential, expected, now } = job;
  return verifyCredential({ credential, documentLoader, now: new Date(now), ...expected });
}

port.on('message', (message: ToThread) => {
  if (message.type === 'answer') {
    const call = waiting.get(message.requestId);
    waiting.delete(message.requestId);
    if (message.error) call?.reject(receivedError(message.error));
    else call?.resolve(message.value);
    return;
  }
  const { id } = message;
  run(message).then(
    (value) => post({ type: 'done', id, value: value as Record<string, unknown> }),
    (error: unknown) => post({ type: 'failed', id, error: sendError(error) }),
  );
});

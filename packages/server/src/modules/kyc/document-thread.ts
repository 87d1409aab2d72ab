import { parentPort } from 'node:worker_threads';
import {
  BoundedCache,
  CryptoError,
  type EnvelopeKeyPair,
  openDetached,
  toBase64Url,
} from '@personachain/crypto';
import { threadError } from '../../request-thread.js';
import type { OpenAnswer, OpenRequest } from './document-opener.js';

/**
 * The document thread: opens a session's sealed uploads (an X-Wing decapsulation and an AES-GCM decryption
 * each) off the main thread. The plaintext goes back to the main thread, moved rather than copied, so none
 * stays here; the projects' key pairs stay, at most 256, so that each is expanded once.
 */
const port = parentPort;
if (port === null) throw new Error('document-thread.js runs only as a worker thread');

const keyPairs = new BoundedCache<string, EnvelopeKeyPair>(256);

/** The key pair already here for these bytes (its expanded key is cached by identity), else this one. */
function kept(keyPair: EnvelopeKeyPair): EnvelopeKeyPair {
  const name = toBase64Url(keyPair.keyId);
  const known = keyPairs.get(name);
  if (known) {
    keyPair.secretKey.fill(0);
    return known;
  }
  keyPairs.set(name, keyPair);
  return keyPair;
}

/**
 * The bytes in an ArrayBuffer of their own, which can be moved: a small result may be a view into node's
 * shared Buffer pool, and moving that would take the pool from under everything else in it.
 */
function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes);
  bytes.fill(0);
  return copy;
}

port.on('message', (request: OpenRequest) => {
  void (async () => {
    const keyPair = kept(request.keyPair);
    const plain: Uint8Array[] = [];
    try {
      for (const document of request.documents) {
        const opened = await openDetached(
          keyPair,
          { sealedKey: document.sealedKey, ciphertext: document.ciphertext },
          { aad: document.aad },
        );
        plain.push(owned(opened));
      }
      port.postMessage(
        { id: request.id, plain } satisfies OpenAnswer,
        plain.map((bytes) => bytes.buffer as ArrayBuffer),
      );
    } catch (error) {
      for (const bytes of plain) bytes.fill(0);
      port.postMessage({
        id: request.id,
        error: { ...threadError(error), unreadable: error instanceof CryptoError },
      } satisfies OpenAnswer);
    }
  })();
});

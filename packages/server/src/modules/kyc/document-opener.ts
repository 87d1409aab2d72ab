import { Worker } from 'node:worker_threads';
import type { EnvelopeKeyPair } from '@personachain/crypto';

/** One sealed upload as stored: its sealed data key, its ciphertext and the context it was sealed to. */
export interface SealedDocument {
  sealedKey: Uint8Array;
  ciphertext: Uint8Array;
  aad: Uint8Array;
}

/** What the main thread asks of the document thread. */
export interface OpenRequest {
  id: number;
  keyPair: EnvelopeKeyPair;
  documents: SealedDocument[];
}

/**
 * What it answers: the plaintexts in the order asked, or why one could not be opened (`unreadable`: it
 * never will be: not sealed to this key or context, or damaged).
 */
export type OpenAnswer =
  | { id: number; plain: Uint8Array[] }
  | { id: number; error: { message: string; code?: string; unreadable: boolean } };

/** A sealed upload that cannot be opened, now or ever: missing, damaged, or sealed to something else. */
export class UnreadableDocument extends Error {
  override readonly name = 'UnreadableDocument';
}

/**
 * The thread script. Tests run this module from its TypeScript source, which a worker cannot load; they
 * build first, so the compiled script is there.
 */
const THREAD_SCRIPT = new URL(
  import.meta.url.endsWith('.ts') ? '../../../dist/modules/kyc/document-thread.js' : './document-thread.js',
  import.meta.url,
);

interface Pending {
  resolve(plain: Uint8Array[]): void;
  reject(error: Error): void;
}

/**
 * Opens a session's sealed uploads on a thread of its own (document-thread.ts): the decapsulations and
 * decryptions cost about a tenth of the event loop's time per verification, and there they use another
 * core while the loop serves requests. The plaintext exists only in memory, on the thread while it is
 * opened and here after. The thread starts on first use; one that dies fails what it held and is replaced
 * by the next call.
 */
export class DocumentOpener {
  private thread: { worker: Worker; pending: Map<number, Pending> } | null = null;
  private nextId = 0;
  private closed = false;

  open(keyPair: EnvelopeKeyPair, documents: SealedDocument[]): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new Error('the document opener is closed'));
    if (documents.length === 0) return Promise.resolve([]);
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // Only while it holds work: an idle opener must not keep the process alive.
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ id, keyPair, documents } satisfies OpenRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = null;
    await thread?.worker.terminate();
  }

  private start(): NonNullable<DocumentOpener['thread']> {
    const worker = new Worker(THREAD_SCRIPT);
    const thread = { worker, pending: new Map<number, Pending>() };
    this.thread = thread;
    const settle = (id: number) => {
      const pending = thread.pending.get(id);
      thread.pending.delete(id);
      if (thread.pending.size === 0) worker.unref();
      return pending;
    };
    worker.on('message', (answer: OpenAnswer) => {
      const pending = settle(answer.id);
      if ('error' in answer) {
        const { message, code, unreadable } = answer.error;
        pending?.reject(
          Object.assign(unreadable ? new UnreadableDocument(message) : new Error(message), { code }),
        );
      } else if (pending) {
        pending.resolve(answer.plain);
      } else {
        for (const bytes of answer.plain) bytes.fill(0);
      }
    });
    // 'error' then 'exit' for one death: the second finds nothing left to fail.
    const fail = (error: Error) => {
      if (this.thread === thread) this.thread = null;
      for (const id of [...thread.pending.keys()]) settle(id)?.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the document thread exited (code ${code})`)));
    worker.unref();
    return thread;
  }
}

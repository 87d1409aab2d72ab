import type { EnvelopeKeyPair } from '@personachain/crypto';
import { RequestThread, type ThreadAnswer, type ThreadError } from '../../request-thread.js';

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
export type OpenError = ThreadError & { unreadable: boolean };
export type OpenAnswer = ThreadAnswer<OpenError> & { plain?: Uint8Array[] };

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

/**
 * Opens a session's sealed uploads on a thread of its own (document-thread.ts): the decapsulations and
 * decryptions cost about a tenth of the event loop's time per verification, and there they use another
 * core while the loop serves requests. The plaintext exists only in memory, on the thread while it is
 * opened and here after.
 */
export class DocumentOpener {
  private readonly thread = new RequestThread<Omit<OpenRequest, 'id'>, OpenAnswer, OpenError>(
    THREAD_SCRIPT,
    'the document thread',
    {
      rejection: ({ message, code, unreadable }) =>
        Object.assign(unreadable ? new UnreadableDocument(message) : new Error(message), { code }),
    },
  );
  private closed = false;

  async open(keyPair: EnvelopeKeyPair, documents: SealedDocument[]): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('the document opener is closed');
    if (documents.length === 0) return [];
    return (await this.thread.ask({ keyPair, documents })).plain ?? [];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.thread.close();
  }
}

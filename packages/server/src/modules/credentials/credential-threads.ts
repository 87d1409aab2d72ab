import { Worker } from 'node:worker_threads';
import type { DidUrlResolver, VerificationResult } from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import {
  type FromThread,
  type ProofExpectations,
  receivedError,
  sendError,
  type ThreadCall,
  type ThreadJob,
  type ToThread,
} from './credential-thread-protocol.js';
import type { KeyStoreIssuance } from './keystore-issuance.js';

/**
 * The thread script. Tests run this module from its TypeScript source, which a worker cannot load; they
 * build first, so the compiled script is there.
 */
const THREAD_SCRIPT = new URL(
  import.meta.url.endsWith('.ts')
    ? '../../../dist/modules/credentials/credential-thread.js'
    : './credential-thread.js',
  import.meta.url,
);

interface Job {
  /** The only key this job's thread may use. */
  keyId?: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
}

/** A job before the pool numbers it. */
type Work = ThreadJob extends infer Kind ? (Kind extends ThreadJob ? Omit<Kind, 'id'> : never) : never;

/**
 * Data Integrity issuance and verification on worker threads, so that JSON-LD canonicalization uses every
 * core while the main thread serves HTTP and the database. The threads ask this side to resolve DID URLs
 * they cannot resolve themselves (`resolveDidUrl`) and to sign: keys never leave the main thread's
 * KeyStore, and a thread may sign only with the key of its job. Threads start on first use; one that dies
 * fails its jobs and is replaced by the next job.
 */
export class CredentialThreads {
  private readonly threads: Array<Thread | undefined>;
  private nextJobId = 0;
  private closed = false;

  constructor(
    size: number,
    private readonly resolveDidUrl: DidUrlResolver,
    private readonly keys: KeyStore,
  ) {
    this.threads = new Array(size).fill(undefined);
  }

  verifyCredential(
    credential: unknown,
    expected: ProofExpectations = {},
    now: Date = new Date(),
  ): Promise<VerificationResult> {
    return this.submit({
      type: 'verify',
      credential,
      expected,
      now: now.getTime(),
    }) as Promise<VerificationResult>;
  }

  issueCredential(issuance: KeyStoreIssuance): Promise<Record<string, unknown>> {
    return this.submit({ type: 'issue', ...issuance }, issuance.keyId) as Promise<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread?.worker.terminate()));
  }

  private submit(work: Work, keyId?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the credential threads are closed'));
    const thread = this.leastBusy();
    const id = this.nextJobId++;
    return new Promise((resolve, reject) => {
      thread.jobs.set(id, { resolve, reject, ...(keyId === undefined ? {} : { keyId }) });
      thread.worker.postMessage({ ...work, id } as ThreadJob);
    });
  }

  private leastBusy(): Thread {
    let chosen = 0;
    for (let i = 0; i < this.threads.length; i++) {
      const thread = this.threads[i];
      if (thread === undefined) return this.start(i);
      if (thread.jobs.size < (this.threads[chosen] as Thread).jobs.size) chosen = i;
    }
    return this.threads[chosen] as Thread;
  }

  private start(slot: number): Thread {
    const worker = new Worker(THREAD_SCRIPT);
    const thread: Thread = { worker, jobs: new Map() };
    this.threads[slot] = thread;
    worker.on('message', (message: FromThread) => this.onMessage(thread, message));
    const fail = (error: Error) => {
      if (this.threads[slot] === thread) this.threads[slot] = undefined;
      for (const job of thread.jobs.values()) job.reject(error);
      thread.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a credential thread exited (code ${code})`)));
    // An idle pool must not keep the process alive.
    worker.unref();
    return thread;
  }

  private onMessage(thread: Thread, message: FromThread): void {
    if (message.type === 'call') {
      void this.answer(thread, message);
      return;
    }
    const job = thread.jobs.get(message.id);
    thread.jobs.delete(message.id);
    if (message.type === 'done') job?.resolve(message.value);
    else job?.reject(receivedError(message.error));
  }

  private async answer(
    thread: Thread,
    request: ThreadCall & { requestId: number; jobId: number },
  ): Promise<void> {
    const { requestId } = request;
    let answer: ToThread;
    try {
      const value = await this.perform(thread.jobs.get(request.jobId), request);
      answer = { type: 'answer', requestId, ...(value === undefined ? {} : { value }) };
    } catch (error) {
      answer = { type: 'answer', requestId, error: sendError(error) };
    }
    try {
      thread.worker.postMessage(answer);
    } catch (error) {
      // An answer that cannot cross (not structured-cloneable) still settles the thread's call.
      thread.worker.postMessage({ type: 'answer', requestId, error: sendError(error) } satisfies ToThread);
    }
  }

  private async perform(job: Job | undefined, call: ThreadCall) {
    if (call.call === 'resolve') return (await this.resolveDidUrl(call.url)) ?? undefined;
    if (job?.keyId === undefined || call.keyId !== job.keyId) {
      throw new Error(`a credential thread asked for key ${call.keyId}, which is not its job's`);
    }
    if (call.call === 'getKey') return this.keys.getKey(call.keyId);
    if (call.call === 'sign') return this.keys.sign(call.keyId, call.message);
    return this.keys.signMessages(call.keyId, call.input);
  }
}

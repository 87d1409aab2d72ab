import { CryptoError } from '../errors.js';
import type { SignatureAlgorithm, SignatureVerifier } from '../types.js';
import type { VerificationAnswer, VerificationBatch } from './verification-protocol.js';

type WorkerThreads = typeof import('node:worker_threads');
type Worker = InstanceType<WorkerThreads['Worker']>;

/**
 * The thread script. Tests run this module from its TypeScript source, which a worker cannot load; they
 * build first, so the compiled script is there.
 */
const THREAD_SCRIPT = new URL(
  import.meta.url.endsWith('.ts')
    ? '../../dist/signatures/verification-thread.js'
    : './verification-thread.js',
  import.meta.url,
);

interface Check {
  algorithm: SignatureAlgorithm;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  resolve(valid: boolean): void;
  reject(error: unknown): void;
}

interface Thread {
  worker: Worker;
  /** Batches sent and not answered yet, by id. */
  batches: Map<number, Check[]>;
  /** Checks in those batches. */
  load: number;
}

export interface VerificationThreadsOptions {
  /** Worker threads (default 1). */
  threads?: number;
  /** Checks per batch at most (default 256); a full batch leaves at once. */
  maxBatch?: number;
}

/**
 * Signature verification on worker threads, for servers. Checks requested during one turn of the event
 * loop leave together as one batch (one message, one transferred buffer) when the turn ends, so handing a
 * check over costs the event loop a few microseconds instead of the tens an Ed25519 verification costs
 * in place, or that WebCrypto spends dispatching each one to libuv's pool. Each thread runs the native
 * schemes of `signatureScheme`, so results and errors are exactly theirs: `false` for a wrong signature,
 * CryptoError for a malformed key or an impossible signature length. Node only; threads start on first
 * use, hold the process open only while they have work, and a thread that dies fails its checks and is
 * replaced by the next batch.
 */
export class VerificationThreads implements SignatureVerifier {
  readonly #workerThreads: WorkerThreads;
  readonly #threads: Array<Thread | undefined>;
  readonly #maxBatch: number;
  #queue: Check[] = [];
  #flushScheduled = false;
  #nextBatchId = 0;
  #closed = false;

  constructor({ threads = 1, maxBatch = 256 }: VerificationThreadsOptions = {}) {
    for (const [name, value] of [
      ['threads', threads],
      ['maxBatch', maxBatch],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new CryptoError('invalid-argument', `${name} must be a positive integer, got ${value}`);
      }
    }
    const workerThreads = (
      globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
    ).process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
    if (!workerThreads)
      throw new Error('VerificationThreads needs node:worker_threads (Node.js 22 or later)');
    this.#workerThreads = workerThreads;
    this.#threads = new Array(threads).fill(undefined);
    this.#maxBatch = maxBatch;
  }

  verify(
    algorithm: SignatureAlgorithm,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error('the verification threads are closed'));
    if (
      !(publicKey instanceof Uint8Array && message instanceof Uint8Array && signature instanceof Uint8Array)
    ) {
      const error = new CryptoError(
        'malformed-input',
        'the public key, message and signature must be Uint8Arrays',
      );
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ algorithm, publicKey, message, signature, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** Fails the checks not yet answered and stops the threads. */
  async close(): Promise<void> {
    this.#closed = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const check of queued) check.reject(new Error('the verification threads are closed'));
    await Promise.all(this.#threads.map((thread) => thread?.worker.terminate()));
  }

  #flush(): void {
    const checks = this.#queue;
    if (checks.length === 0) return;
    this.#queue = [];
    const thread = this.#leastLoaded();
    const id = this.#nextBatchId++;
    const batch = pack(id, checks);
    if (thread.batches.size === 0) thread.worker.ref();
    thread.batches.set(id, checks);
    thread.load += checks.length;
    thread.worker.postMessage(batch, [batch.bytes.buffer, batch.lengths.buffer]);
  }

  #leastLoaded(): Thread {
    let chosen: Thread | undefined;
    for (let slot = 0; slot < this.#threads.length; slot++) {
      const thread = this.#threads[slot] ?? this.#start(slot);
      if (chosen === undefined || thread.load < chosen.load) chosen = thread;
    }
    return chosen as Thread;
  }

  #start(slot: number): Thread {
    const worker = new this.#workerThreads.Worker(THREAD_SCRIPT);
    const thread: Thread = { worker, batches: new Map(), load: 0 };
    this.#threads[slot] = thread;
    worker.unref();
    worker.on('message', (answer: VerificationAnswer) => this.#settle(thread, answer));
    const fail = (error: Error) => {
      if (this.#threads[slot] === thread) this.#threads[slot] = undefined;
      for (const checks of thread.batches.values()) for (const check of checks) check.reject(error);
      thread.batches.clear();
      thread.load = 0;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a verification thread exited (code ${code})`)));
    return thread;
  }

  #settle(thread: Thread, { id, outcomes }: VerificationAnswer): void {
    const checks = thread.batches.get(id);
    if (checks === undefined) return;
    thread.batches.delete(id);
    thread.load -= checks.length;
    if (thread.batches.size === 0) thread.worker.unref();
    checks.forEach((check, i) => {
      const outcome = outcomes[i];
      if (typeof outcome === 'boolean') check.resolve(outcome);
      else
        check.reject(new CryptoError(outcome?.code ?? 'malformed-input', outcome?.message ?? 'no outcome'));
    });
  }
}

function pack(id: number, checks: Check[]): VerificationBatch {
  const lengths = new Uint32Array(checks.length * 3);
  let total = 0;
  checks.forEach(({ publicKey, message, signature }, i) => {
    lengths[3 * i] = publicKey.length;
    lengths[3 * i + 1] = message.length;
    lengths[3 * i + 2] = signature.length;
    total += publicKey.length + message.length + signature.length;
  });
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const { publicKey, message, signature } of checks) {
    for (const part of [publicKey, message, signature]) {
      bytes.set(part, offset);
      offset += part.length;
    }
  }
  return { id, algorithms: checks.map((check) => check.algorithm), lengths, bytes };
}

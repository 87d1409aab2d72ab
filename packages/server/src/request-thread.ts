import { Worker } from 'node:worker_threads';

/** An error as a thread sends it back: structured clone keeps no class, so its message and code. */
export interface ThreadError {
  message: string;
  code?: string;
}

/** What a thread answers to one request: the request's id, and its error if it failed. */
export interface ThreadAnswer<E extends ThreadError = ThreadError> {
  id: number;
  error?: E;
}

/** The thread's side: an error, as it can be posted back. */
export function threadError(error: unknown): ThreadError {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return { message: String(message ?? error), ...(typeof code === 'string' ? { code } : {}) };
}

interface Pending<A> {
  resolve(answer: A): void;
  reject(error: Error): void;
}

/**
 * A worker thread that answers numbered requests, from the main thread's side. It starts on first use;
 * one that dies fails the requests it held, and the next request starts another. It keeps the process
 * alive only while it holds requests.
 */
export class RequestThread<
  Request extends object,
  Answer extends ThreadAnswer<E>,
  E extends ThreadError = ThreadError,
> {
  private thread: { worker: Worker; pending: Map<number, Pending<Answer>> } | null = null;
  private nextId = 0;

  constructor(
    private readonly script: URL,
    /** Names the thread in the error of its death ("the document thread"). */
    private readonly name: string,
    private readonly options: {
      workerData?: unknown;
      /** The error a failed request rejects with; by default an Error with the thread's message and code. */
      rejection?: (error: E) => Error;
    } = {},
  ) {}

  /** Resolves with the thread's answer, or rejects with its error, or when the thread died first. */
  ask(request: Request, transfer: ArrayBuffer[] = []): Promise<Answer> {
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** The running thread's worker, if one runs (tests end it to see a death handled). */
  get worker(): Worker | undefined {
    return this.thread?.worker;
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.worker.terminate();
  }

  private start(): NonNullable<RequestThread<Request, Answer, E>['thread']> {
    const worker = new Worker(this.script, { workerData: this.options.workerData });
    const thread = { worker, pending: new Map<number, Pending<Answer>>() };
    this.thread = thread;
    // Takes a request off this thread (the one that asked it, not whichever runs now).
    const settle = (id: number) => {
      const pending = thread.pending.get(id);
      thread.pending.delete(id);
      if (thread.pending.size === 0) worker.unref();
      return pending;
    };
    const rejection =
      this.options.rejection ?? ((error: E) => Object.assign(new Error(error.message), { code: error.code }));
    worker.on('message', (answer: Answer) => {
      const pending = settle(answer.id);
      if (answer.error) pending?.reject(rejection(answer.error));
      else pending?.resolve(answer);
    });
    // 'error' then 'exit' for one death: the second finds nothing left to fail.
    const fail = (error: Error) => {
      if (this.thread === thread) this.thread = null;
      for (const id of [...thread.pending.keys()]) settle(id)?.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`${this.name} exited (code ${code})`)));
    worker.unref();
    return thread;
  }
}

import { type ChildProcess, fork } from 'node:child_process';
import type { EvaluationJob, EvaluatorMessage } from './evaluator-protocol.js';

/**
 * The evaluator script. Tests run this module from its TypeScript source, which `fork` cannot load; they
 * build first, so the compiled script is there.
 */
const EVALUATOR_SCRIPT = new URL(
  import.meta.url.endsWith('.ts')
    ? '../../../dist/modules/connectors/evaluator-process.js'
    : './evaluator-process.js',
  import.meta.url,
);

/** How long a starting evaluator may take to load before what waits for it fails. */
const STARTUP_LIMIT_MS = 10_000;

export type Evaluation =
  | { ok: true; value: unknown }
  | {
      ok: false;
      /** JSONata's error code, or `timeout`, `crashed`, `busy`, `not-json`. */
      code: string;
      position?: number;
    };

export interface EvaluatorOptions {
  /** How long one evaluation may hold the evaluator before it is killed (JSONata's own limit is 100 ms). */
  hardLimitMs?: number;
  /** Jobs waiting beyond this many are refused at once. */
  maxQueue?: number;
  /** The evaluator's V8 heap, in MiB. */
  heapMb?: number;
  /** Told when the evaluator had to be killed or died (the message holds no data). */
  onRestart?: (why: string) => void;
}

interface Pending {
  job: Omit<EvaluationJob, 'id'>;
  resolve(result: Evaluation): void;
}

interface Running {
  child: ChildProcess;
  ready: boolean;
  current?: { id: number; pending: Pending; timer: NodeJS.Timeout };
}

/**
 * Runs JSONata expressions in a child process, one at a time: a runaway expression (an endless regular
 * expression, a heap-filling string) fails its own evaluation and costs one process restart, never the
 * server. The process starts on first use and is replaced after it is killed or dies.
 */
export class ExpressionEvaluator {
  private readonly queue: Pending[] = [];
  private running: Running | undefined;
  private nextId = 0;
  private closed = false;
  private readonly hardLimitMs: number;
  private readonly maxQueue: number;
  private readonly heapMb: number;

  constructor(private readonly options: EvaluatorOptions = {}) {
    this.hardLimitMs = options.hardLimitMs ?? 1000;
    this.maxQueue = options.maxQueue ?? 1000;
    this.heapMb = options.heapMb ?? 96;
  }

  evaluate(
    expression: string,
    document: unknown,
    bindings: Record<string, unknown> = {},
  ): Promise<Evaluation> {
    if (this.closed) return Promise.resolve(failure('crashed'));
    if (this.queue.length >= this.maxQueue) {
      return Promise.resolve(failure('busy'));
    }
    return new Promise((resolve) => {
      this.queue.push({ job: { expression, document, bindings }, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.resolve(failure('crashed'));
    }
    const running = this.running;
    this.running = undefined;
    if (running) this.stop(running, failure('crashed'));
  }

  private pump(): void {
    if (this.closed || this.queue.length === 0) return;
    const running = this.running ?? this.start();
    if (!running.ready || running.current) return;
    const pending = this.queue.shift() as Pending;
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.options.onRestart?.(`an expression ran longer than ${this.hardLimitMs} ms; evaluator restarted`);
      this.replace(running, failure('timeout'));
    }, this.hardLimitMs);
    running.current = { id, pending, timer };
    running.child.send({ ...pending.job, id } satisfies EvaluationJob, (error) => {
      if (error) this.replace(running, failure('crashed'));
    });
  }

  private start(): Running {
    const child = fork(EVALUATOR_SCRIPT, [], {
      // No secrets of the server (master key, database URL) in the evaluator's environment.
      env: {},
      execArgv: [`--max-old-space-size=${this.heapMb}`],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    });
    const running: Running = { child, ready: false };
    this.running = running;
    const startup = setTimeout(() => this.startFailed(running), STARTUP_LIMIT_MS).unref();
    child.on('message', (message: EvaluatorMessage) => {
      if (message.type === 'ready') clearTimeout(startup);
      this.onMessage(running, message);
    });
    child.on('exit', () => {
      clearTimeout(startup);
      if (this.running !== running) return;
      if (!running.ready) return this.startFailed(running);
      this.options.onRestart?.('the expression evaluator exited; it restarts on the next evaluation');
      this.replace(running, failure('crashed'));
    });
    child.on('error', () => {
      clearTimeout(startup);
      if (this.running === running) this.startFailed(running);
    });
    // An idle evaluator must not keep the process alive.
    child.unref();
    child.channel?.unref();
    return running;
  }

  private onMessage(running: Running, message: EvaluatorMessage): void {
    if (this.running !== running) return;
    if (message.type === 'ready') {
      running.ready = true;
      this.pump();
      return;
    }
    const current = running.current;
    if (!current || current.id !== message.id) return;
    clearTimeout(current.timer);
    running.current = undefined;
    if (message.type === 'result') {
      current.pending.resolve({
        ok: true,
        value: message.json === undefined ? undefined : JSON.parse(message.json),
      });
    } else {
      current.pending.resolve({
        ok: false,
        code: message.code,
        ...(message.position === undefined ? {} : { position: message.position }),
      });
    }
    this.pump();
  }

  /** An evaluator that never became ready fails what waits for it (not retried: it would fail again). */
  private startFailed(running: Running): void {
    if (this.running !== running) return;
    this.running = undefined;
    this.options.onRestart?.('the expression evaluator could not be started');
    for (const pending of this.queue.splice(0)) {
      pending.resolve(failure('crashed'));
    }
    this.stop(running, failure('crashed'));
  }

  /** Kills an evaluator, fails its current job with `result`, and carries on with a new one. */
  private replace(running: Running, result: Evaluation): void {
    if (this.running === running) this.running = undefined;
    this.stop(running, result);
    this.pump();
  }

  private stop(running: Running, result: Evaluation): void {
    const current = running.current;
    running.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.pending.resolve(result);
    }
    running.child.removeAllListeners('message');
    running.child.kill('SIGKILL');
  }
}

/** Callers describe failures by code (expressions.ts): JSONata's messages may quote the data evaluated. */
function failure(code: 'timeout' | 'crashed' | 'busy'): Evaluation {
  return { ok: false, code };
}

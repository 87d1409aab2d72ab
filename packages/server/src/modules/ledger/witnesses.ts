import {
  cosignatureVerifier,
  formatAddCheckpoint,
  type NoteVerifier,
  openNote,
  parseNote,
} from '@personachain/ledger';
import type { FastifyBaseLogger } from 'fastify';
import { type LedgerWitness, redactUrl } from '../../config.js';
import type { LedgerState } from './repo.js';

/** A witness answer larger than this is not read (a few cosignature lines are a few hundred bytes). */
const MAX_RESPONSE_BYTES = 65_536;

export interface PublisherLedger {
  state(): Promise<LedgerState>;
  consistencyProof(from: number, to: number): Promise<{ hashes: Uint8Array[] }>;
  publishedCheckpoint(): Promise<{ size: number } | undefined>;
  publish(size: number, checkpoint: string): Promise<void>;
}

export interface PublisherOptions {
  witnesses: readonly LedgerWitness[];
  quorum: number;
  ledger: PublisherLedger;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** Rounds start at most this often (new checkpoints in between are covered by the next round). */
  minIntervalMs?: number;
  /** After a round that did not reach the quorum, the next one starts this much later at the latest. */
  retryMs?: number;
  /** Per request to a witness. */
  timeoutMs?: number;
}

interface Witness {
  name: string;
  url: string;
  verifier: NoteVerifier;
  /** The tree size this witness last cosigned, as far as we know (0 at start: it says otherwise by 409). */
  cosignedSize: number;
}

/**
 * Gets checkpoints cosigned by witnesses (c2sp.org/tlog-witness) and publishes them. After new
 * checkpoints (`notify`) one round at a time, at most once per `minIntervalMs`, submits the latest
 * checkpoint to every witness with a consistency proof from the size it last cosigned, keeps the
 * cosignatures that verify under that witness's key, and once `quorum` witnesses have cosigned stores the
 * checkpoint with their lines added as the published one. Failures are logged and retried; they never
 * touch appends.
 */
export class WitnessPublisher {
  private readonly witnesses: Witness[];
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private readonly aborter = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private round: Promise<void> | undefined;
  private again = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(private readonly options: PublisherOptions) {
    this.witnesses = options.witnesses.map((witness) => {
      const verifier = cosignatureVerifier(witness.verifierKey);
      return { name: verifier.name, url: witness.url, verifier, cosignedSize: 0 };
    });
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.retryMs = options.retryMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** A new checkpoint exists: a round starts soon (or after the one in flight). */
  notify(): void {
    if (this.round) this.again = true;
    else this.schedule(0);
  }

  /** Stops scheduling, aborts requests in flight and waits for the round to end. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.aborter.abort();
    await this.round;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const due = Math.max(Date.now() + delayMs, this.lastStart + this.minIntervalMs);
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.start(), due - Date.now());
    this.timer.unref();
  }

  private start(): void {
    this.timer = undefined;
    this.lastStart = Date.now();
    this.again = false;
    this.round = this.publishLatest()
      .catch((error: unknown) => {
        this.options.log.warn({ err: error }, 'ledger witnesses: round failed');
        return false;
      })
      .then((done) => {
        this.round = undefined;
        if (this.again) this.schedule(0);
        else if (!done) this.schedule(this.retryMs);
      });
  }

  /** One round; true when the latest checkpoint is published (now or before). */
  private async publishLatest(): Promise<boolean> {
    const state = await this.options.ledger.state();
    const published = await this.options.ledger.publishedCheckpoint();
    if (published && published.size >= state.size) return true;
    const results = await Promise.all(this.witnesses.map((witness) => this.cosign(witness, state)));
    const lines = results.filter((line): line is string => line !== undefined);
    if (this.closed) return false;
    if (lines.length < this.options.quorum) {
      this.options.log.warn(
        { size: state.size, cosigned: lines.length, quorum: this.options.quorum },
        'ledger witnesses: checkpoint not published, too few cosignatures; retrying',
      );
      return false;
    }
    // Appending signature lines keeps a valid note: the log's signature first, then the cosignatures.
    await this.options.ledger.publish(state.size, state.checkpoint + lines.join(''));
    this.options.log.info({ size: state.size, cosigners: lines.length }, 'ledger: checkpoint published');
    return true;
  }

  /** Asks one witness to cosign; its verified cosignature line, or undefined (logged). */
  private async cosign(witness: Witness, state: LedgerState): Promise<string | undefined> {
    const context = { witness: witness.name, url: redactUrl(witness.url), size: state.size };
    try {
      let answer = await this.submit(witness, state);
      if (answer.status === 409) {
        // The witness knows a different latest size (it restarted, or we did): retry once from there.
        const size = /^(0|[1-9]\d*)\n$/.exec(answer.body)?.[1];
        if (size === undefined || Number(size) > state.size) {
          this.options.log.warn(
            { ...context, status: 409, body: printable(answer.body) },
            Number(size) > state.size
              ? 'ledger witnesses: the witness has cosigned a larger tree than this checkpoint (a newer one from another replica, or this log was rolled back)'
              : 'ledger witnesses: unreadable 409 answer',
          );
          return undefined;
        }
        witness.cosignedSize = Number(size);
        answer = await this.submit(witness, state);
      }
      if (answer.status !== 200) {
        this.options.log.warn(
          { ...context, status: answer.status, body: printable(answer.body) },
          'ledger witnesses: the witness refused the checkpoint',
        );
        return undefined;
      }
      const line = await verifiedLine(witness.verifier, state.checkpoint, answer.body);
      if (line === undefined) {
        this.options.log.warn(context, 'ledger witnesses: no valid cosignature from the witness; discarded');
        return undefined;
      }
      witness.cosignedSize = state.size;
      return line;
    } catch (error) {
      if (!this.closed)
        this.options.log.warn(
          { ...context, err: (error as Error).message },
          'ledger witnesses: witness unreachable',
        );
      return undefined;
    }
  }

  private async submit(witness: Witness, state: LedgerState): Promise<{ status: number; body: string }> {
    const old = witness.cosignedSize;
    const proof =
      old === 0 || old === state.size
        ? []
        : (await this.options.ledger.consistencyProof(old, state.size)).hashes;
    const response = await fetch(`${witness.url}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: formatAddCheckpoint({ oldSize: old, proof, note: state.checkpoint }),
      signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.timeoutMs)]),
      redirect: 'error',
    });
    return { status: response.status, body: await readLimited(response) };
  }
}

/**
 * The first response line that is a valid cosignature by `verifier` of the checkpoint, or undefined.
 * Lines from other keys are ignored (the spec says so); each line is checked on its own against the
 * checkpoint text, so a bad line cannot hide a good one.
 */
async function verifiedLine(
  verifier: NoteVerifier,
  checkpoint: string,
  body: string,
): Promise<string | undefined> {
  const { text } = parseNote(checkpoint);
  for (const line of body.split('\n')) {
    if (!line.startsWith('\u2014 ')) continue;
    try {
      const { verified } = await openNote(`${text}\n${line}\n`, [verifier]);
      if (verified.some((v) => v.name === verifier.name && v.keyId === verifier.keyId)) return `${line}\n`;
    } catch {
      // Unparseable, from an unknown key, or a bad signature: not a cosignature we can use.
    }
  }
  return undefined;
}

async function readLimited(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A short, single-line excerpt of a witness's answer for the log. */
function printable(body: string): string {
  return body.slice(0, 200).replace(/[^\x20-\x7e]/g, '?');
}

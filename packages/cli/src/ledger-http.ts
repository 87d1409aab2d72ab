import { entriesPath, type TileId, tilePath } from '@personachain/ledger';
import { CliError } from './errors.js';
import type { LogSource } from './ledger-source.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** Parallel requests per run: enough to hide latency, few enough not to hammer a public endpoint. */
const CONCURRENCY = 8;
/** Retries of a rate-limited (429) request, each after the server's Retry-After (capped). */
const MAX_RETRIES = 5;
const MAX_RETRY_WAIT_S = 10;

/**
 * The log's public read side over HTTP (`/ledger/…` under the server URL), trusted for nothing: the
 * monitor checks every byte it returns. Every failure to get an answer is a CliError with exit status 2
 * ("could not verify"), never 1 ("verified and found wrong").
 */
export class HttpLog implements LogSource {
  readonly #base: URL;
  readonly #timeoutMs: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  /** `baseUrl` may carry a path prefix (a reverse proxy's mount point); `ledger/…` is resolved under it. */
  constructor(baseUrl: string, timeoutMs = REQUEST_TIMEOUT_MS) {
    this.#base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.#timeoutMs = timeoutMs;
  }

  async checkpoint(): Promise<string> {
    return new TextDecoder().decode(await this.#get('ledger/checkpoint'));
  }

  tile(tile: TileId): Promise<Uint8Array> {
    return this.#get(`ledger/${tilePath(tile)}`);
  }

  entryBundle(index: number, width: number): Promise<Uint8Array> {
    return this.#get(`ledger/${entriesPath(index, width)}`);
  }

  async #get(path: string): Promise<Uint8Array> {
    const url = new URL(path, this.#base);
    await this.#acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        const response = await this.#fetch(url);
        if (response.status === 429 && attempt < MAX_RETRIES) {
          await response.body?.cancel();
          await sleep(retryAfterSeconds(response) * 1000);
          continue;
        }
        if (!response.ok) {
          await response.body?.cancel();
          throw new CliError(`could not verify: GET ${url.href} answered HTTP ${response.status}`, 2);
        }
        try {
          return new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          throw this.#unreachable(error);
        }
      }
    } finally {
      this.#release();
    }
  }

  async #fetch(url: URL): Promise<Response> {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw this.#unreachable(error);
    }
  }

  #unreachable(error: unknown): CliError {
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      return new CliError(
        `could not verify: no response from ${this.#base.href} within ${this.#timeoutMs / 1000} s`,
        2,
      );
    }
    // fetch() rejects with a TypeError("fetch failed") whose cause is the socket error.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason =
      cause instanceof Error
        ? cause.message || (cause as NodeJS.ErrnoException).code || cause.name
        : String(cause);
    return new CliError(`could not verify: cannot reach ${this.#base.href}: ${reason}`, 2);
  }

  async #acquire(): Promise<void> {
    if (this.#active < CONCURRENCY) {
      this.#active++;
      return;
    }
    // The releasing request hands its slot over directly, so #active stays at the limit.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}

/** Retry-After in seconds (RFC 9110 delay-seconds), capped; 1 s when absent or an HTTP date. */
function retryAfterSeconds(response: Response): number {
  const header = response.headers.get('retry-after');
  const value = header === null ? Number.NaN : Number(header);
  return Number.isFinite(value) && value >= 0 ? Math.min(value, MAX_RETRY_WAIT_S) : 1;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { createPersonaClient, PersonaApiError, type PersonaClient } from '@personachain/sdk';
import type { ApiOptions } from './commands/api.js';
import { CliError, usageError } from './errors.js';

const REQUEST_TIMEOUT_MS = 30_000;

/** The SDK client for a command; `key: 'optional'` for public routes (PERSONA_API_KEY is sent if set). */
export function sdkClient(options: ApiOptions, key: 'required' | 'optional'): PersonaClient {
  const apiKey = process.env.PERSONA_API_KEY || undefined;
  if (key === 'required' && apiKey === undefined) {
    throw usageError('PERSONA_API_KEY is not set; export the API key this command should use');
  }
  return createPersonaClient({
    baseUrl: options.url,
    ...(apiKey === undefined ? {} : { apiKey }),
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
  });
}

/**
 * What went wrong with an SDK call, as the CLI prints it: the problem details of a refused request, or why
 * the server could not be reached. `exitCode` is the status both exit with.
 */
export function sdkError(error: unknown, url: string, exitCode: 1 | 2 = 1): unknown {
  if (error instanceof PersonaApiError) {
    const details = error.errors.map(({ in: where, pointer, detail, code, message, path }) => {
      const location = [where, (pointer ?? path)?.replace(/^#/, '')].filter(Boolean).join(' ');
      const what = detail ?? message ?? code ?? 'is invalid';
      return location ? `${location}: ${what}` : what;
    });
    details.push(
      error.requestId ? `HTTP ${error.status}, request id ${error.requestId}` : `HTTP ${error.status}`,
    );
    return new CliError(error.message, exitCode, details);
  }
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new CliError(`no response from ${url} within ${REQUEST_TIMEOUT_MS / 1000} s`, exitCode);
  }
  // fetch() rejects with a TypeError("fetch failed") whose cause is the socket error.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = error.cause instanceof Error ? error.cause : error;
    const reason = cause.message || (cause as NodeJS.ErrnoException).code || cause.name;
    return new CliError(`cannot reach ${url}: ${reason}`, exitCode, [
      'is the server running there? set the address with --url or PERSONA_URL',
    ]);
  }
  return error;
}

import type { DeletionAttestation } from '../types.js';

/** Where a node publishes attestations: a PersonaChain platform project (PERSONA_NODE_PLATFORM_*). */
export interface PlatformTarget {
  /** Base URL of the platform API, e.g. https://persona.example.com */
  readonly url: string;
  /** An API key of the project with the `ephemeral:attest` scope. */
  readonly apiKey: string;
  /** The project id (`prj_…`), PERSONA_NODE_PLATFORM_PROJECT. */
  readonly project: string;
}

export type PublishResult =
  /** Accepted; `ledgerIndex` is null when the platform committed it but has not integrated it yet. */
  | { readonly ok: true; readonly ledgerIndex: number | null }
  /** `retry` false: the platform refused this attestation for good (4xx other than 408/429). */
  | { readonly ok: false; readonly retry: boolean; readonly error: string; readonly retryAfterMs?: number };

export type Publish = (attestation: DeletionAttestation) => Promise<PublishResult>;

const REQUEST_TIMEOUT_MS = 10_000;

/** POSTs attestations to `/v1/projects/{projectId}/ephemeral/attestations`; never throws. */
export function platformPublisher(target: PlatformTarget, fetchImpl: typeof fetch = fetch): Publish {
  const endpoint = new URL(
    `v1/projects/${encodeURIComponent(target.project)}/ephemeral/attestations`,
    target.url.endsWith('/') ? target.url : `${target.url}/`,
  ).toString();
  return async (attestation) => {
    let response: Response;
    try {
      response = await fetchImpl(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(attestation),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      return { ok: false, retry: true, error: `platform unreachable: ${(err as Error).message}` };
    }
    const text = await response.text().catch(() => '');
    if (response.ok) {
      try {
        const body = JSON.parse(text) as { ledgerIndex?: unknown };
        if (typeof body.ledgerIndex === 'number' || body.ledgerIndex === null) {
          return { ok: true, ledgerIndex: body.ledgerIndex };
        }
      } catch {
        // fall through: a 2xx without the expected body is treated as a failure to retry
      }
      return { ok: false, retry: true, error: `platform answered ${response.status} without a ledger index` };
    }
    const retry = response.status >= 500 || response.status === 408 || response.status === 429;
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      ok: false,
      retry,
      error: `platform answered ${response.status}: ${text.slice(0, 200)}`,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  };
}

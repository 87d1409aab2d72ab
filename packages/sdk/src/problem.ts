import type { paths } from './generated/api.js';

/**
 * An RFC 9457 problem as the API sends it: `type` (`urn:personachain:problem:<name>`), `title`, `status`,
 * `detail`, `requestId`, and for bad input `errors` naming the fields (the VC-API form, the widest one).
 */
export type Problem =
  paths['/v1/issuers/{issuerId}/credentials/issue']['post']['responses']['4XX']['content']['application/json'];

export type ProblemFieldError = NonNullable<Problem['errors']>[number];

/** A request the API refused (any 4xx or 5xx), with its problem details. */
export class PersonaApiError extends Error {
  override name = 'PersonaApiError';
  readonly status: number;
  /** The problem type, e.g. `urn:personachain:problem:not-found`; `about:blank` when the body is no problem. */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: ProblemFieldError[];
  readonly requestId: string | undefined;
  /** The whole problem body, extension members included. */
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(
      problem.detail && problem.detail !== problem.title
        ? `${problem.title}: ${problem.detail}`
        : problem.title,
    );
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.requestId = problem.requestId;
  }
}

/** The error for a refused response; a body that is not a problem (a proxy's page, say) still gives one. */
export function apiError(response: Response, body: unknown): PersonaApiError {
  if (isProblem(body)) return new PersonaApiError({ ...body, status: response.status });
  const title = `HTTP ${response.status} ${response.statusText}`.trim();
  const requestId = response.headers.get('x-request-id') ?? undefined;
  return new PersonaApiError({
    type: 'about:blank',
    title,
    status: response.status,
    detail: typeof body === 'string' ? body.slice(0, 500) : title,
    ...(requestId === undefined ? {} : { requestId }),
  });
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const { type, title } = body as Record<string, unknown>;
  return typeof type === 'string' && typeof title === 'string';
}

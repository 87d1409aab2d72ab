import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** RFC 9457 problem types we answer with. The `type` URI of each is stable; docs/api.md lists them. */
const PROBLEMS = {
  'validation-error': { status: 400, title: 'Invalid request' },
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  // Written by clientErrorHandler straight to the socket, for HTTP that never became a request.
  'malformed-request': { status: 400, title: 'Malformed HTTP request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'idempotency-in-progress': { status: 409, title: 'Request in progress' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency key reused' },
  // VC-API: a credential that cannot be issued as sent, and one that does not verify.
  'credential-rejected': { status: 400, title: 'Credential rejected' },
  'not-verified': { status: 400, title: 'Not verified' },
  // Vaults: a member route without a (live) member session, access decisions that refuse, a commit built
  // on a stale manifest or one that breaks a chain rule, and a crypto-shredded vault.
  'session-required': { status: 401, title: 'Member session required' },
  'access-denied': { status: 403, title: 'Access denied' },
  'step-up-required': { status: 403, title: 'Step-up authentication required' },
  'guardian-approval-required': { status: 403, title: 'Guardian approval required' },
  'manifest-conflict': { status: 409, title: 'Manifest conflict' },
  'invalid-manifest': { status: 422, title: 'Invalid manifest' },
  'vault-shredded': { status: 410, title: 'Vault shredded' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const;

type ProblemSlug = keyof typeof PROBLEMS;

export const PROBLEM_TYPE_BASE = 'urn:personachain:problem:';

/** One failing input location, as in RFC 9457's example: a JSON Pointer and what is wrong there. */
interface FieldError {
  /** Where the field is: body, querystring, params or headers. */
  in: string;
  pointer: string;
  detail: string;
}

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: unknown[];
  [extension: string]: unknown;
}

/**
 * RFC 9457 extension members a problem may carry besides the standard ones, e.g. the VC-API's
 * `verified: false` with its reasons as `errors: [{ code, message }]` (which then replace field errors).
 */
export type ProblemExtensions = Record<string, unknown> & { errors?: unknown[] };

/** Throw this from routes and services; the error handler renders it as application/problem+json. */
export class Problem extends Error {
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: ProblemExtensions | undefined;

  constructor(
    slug: ProblemSlug,
    detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; extensions?: ProblemExtensions } = {},
  ) {
    super(detail);
    this.slug = slug;
    this.status = PROBLEMS[slug].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions;
  }
}

function problemBody(
  slug: ProblemSlug,
  detail: string,
  request: FastifyRequest,
  errors?: FieldError[],
  extensions?: ProblemExtensions,
): ProblemBody {
  const { status, title } = PROBLEMS[slug];
  const body: ProblemBody = {
    ...extensions,
    type: `${PROBLEM_TYPE_BASE}${slug}`,
    title,
    status,
    detail,
    instance: request.url.split('?')[0] as string,
    requestId: request.id,
  };
  if (errors?.length) body.errors = errors;
  return body;
}

/**
 * A 400 for one bad field of a request body: `subject` names what is not valid ("the request", "the
 * presentation"), `pointer` the field (`#/checks/0/minimumAge`), `detail` what is wrong with it.
 */
export function invalidField(subject: string, pointer: string, detail: string): Problem {
  return new Problem(
    'validation-error',
    `${subject} is not valid: ${pointer.replace(/^#\//, '')} ${detail}.`,
    {
      errors: [{ in: 'body', pointer, detail }],
    },
  );
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(problemBody(problem.slug, problem.message, reply.request, problem.errors, problem.extensions));
}

interface AjvLikeError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns Ajv errors into field errors whose pointers name the field that is wrong, missing or unknown. */
function fieldErrors(validation: AjvLikeError[], location: string): FieldError[] {
  return validation.map((error) => {
    let pointer = error.instancePath;
    let detail = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      pointer += `/${String(error.params.missingProperty)}`;
      detail = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      pointer += `/${String(error.params.additionalProperty)}`;
      detail = 'is not a known field';
    }
    return { in: location, pointer: `#${pointer}`, detail };
  });
}

/** Maps what Fastify itself throws (bad JSON, oversize body, validation) to problem types. */
function fromFastifyError(error: FastifyError): Problem {
  if (error.validation) {
    const errors = fieldErrors(error.validation as AjvLikeError[], error.validationContext ?? 'body');
    const where = errors.map((e) => `${e.in} ${e.pointer.slice(1) || '/'} ${e.detail}`).join('; ');
    return new Problem('validation-error', `The request is not valid: ${where}`, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Problem('malformed-json', 'The request body is not valid JSON.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem('payload-too-large', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Problem('unsupported-media-type', 'Send the request body as application/json.');
  }
  const constraint = constraintViolation(error);
  if (constraint) return constraint;
  if (error.statusCode === 400 && error.message.includes('JSON')) {
    return new Problem('malformed-json', 'The request body is not valid JSON.');
  }
  if (error.statusCode === 413) return new Problem('payload-too-large', error.message);
  if (error.statusCode === 415) return new Problem('unsupported-media-type', error.message);
  return new Problem('internal', 'An unexpected error occurred. Quote the request id when reporting it.');
}

/**
 * A unique or foreign-key violation means another request changed the same data at the same moment
 * (two adds of one member, a create racing its parent's deletion): the transaction was rolled back, so
 * it is a conflict to retry, not a server failure. Codes: PostgreSQL SQLSTATE and SQLite extended codes.
 */
function constraintViolation(error: { code?: string }): Problem | null {
  switch (error.code) {
    case '23505':
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return new Problem('conflict', 'A concurrent request created the same resource; nothing was changed.');
    case '23503':
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return new Problem(
        'conflict',
        'What this resource belongs to was deleted meanwhile; nothing was changed.',
      );
    default:
      return null;
  }
}

/** For Fastify's `frameworkErrors` option: a URL it cannot even route (e.g. bad percent-encoding). */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const problem =
    error.code === 'FST_ERR_BAD_URL'
      ? new Problem('validation-error', 'The request URL is not valid (check its percent-encoding).')
      : fromFastifyError(error);
  sendProblem(reply, problem);
}

/**
 * For Fastify's `clientErrorHandler` option: HTTP that cannot be parsed (bad Content-Length, oversized
 * headers) never becomes a request, so the answer is written to the socket directly, still as a problem.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({
    type: `${PROBLEM_TYPE_BASE}malformed-request`,
    title: PROBLEMS['malformed-request'].title,
    status,
    detail: 'The request could not be parsed as HTTP/1.1.',
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = error instanceof Problem ? error : fromFastifyError(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new Problem('not-found', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

/** The SCIM error schema (RFC 7644 section 3.12). */
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 Table 9 detail error keywords we answer with. */
export type ScimType =
  | 'invalidFilter'
  | 'invalidPath'
  | 'invalidValue'
  | 'invalidSyntax'
  | 'mutability'
  | 'noTarget'
  | 'tooMany'
  | 'uniqueness';

/** Throw from SCIM code; the SCIM scope renders it as a SCIM error. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
  }
}

export function invalidValue(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidValue');
}

export interface ScimErrorBody {
  schemas: [typeof SCIM_ERROR_SCHEMA];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export function scimErrorBody(status: number, detail: string, scimType?: ScimType): ScimErrorBody {
  return { schemas: [SCIM_ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/**
 * The SCIM error for a platform problem (authentication, authorization, rate limits, validation,
 * conflicts): same status and detail. A conflict is a uniqueness error; a weak password an invalid
 * value; other bad input invalid syntax.
 */
export function scimErrorOfProblem(problem: {
  status: number;
  detail?: unknown;
  type?: unknown;
  code?: unknown;
}): ScimErrorBody {
  const detail = typeof problem.detail === 'string' ? problem.detail : 'The request failed.';
  const slug = typeof problem.type === 'string' ? problem.type.split(':').pop() : undefined;
  let scimType: ScimType | undefined;
  if (problem.status === 409) scimType = 'uniqueness';
  else if (typeof problem.code === 'string' && problem.code.startsWith('password_'))
    scimType = 'invalidValue';
  else if (slug === 'validation-error' || slug === 'malformed-json') scimType = 'invalidSyntax';
  return scimErrorBody(problem.status, detail, scimType);
}

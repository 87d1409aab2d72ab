import jsonata from 'jsonata';
import type { Evaluation } from './evaluator.js';

/** Longest mapping or success rule accepted; real ones are a few lines. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/**
 * Why an expression does not compile, with the character position, or null when it does. Parsing is
 * linear in the expression's length, so it runs here rather than in the evaluator process.
 */
export function syntaxError(expression: string): string | null {
  try {
    jsonata(expression);
    return null;
  } catch (error) {
    const failure = error as { code?: unknown; position?: unknown; message?: unknown };
    const message = typeof failure.message === 'string' ? failure.message : 'is not valid JSONata';
    const code = typeof failure.code === 'string' ? failure.code : 'S0000';
    const at = typeof failure.position === 'number' ? `, at character ${failure.position}` : '';
    return `is not valid JSONata: ${message} (${code}${at})`;
  }
}

/** What a failed evaluation says, without JSONata's message (which may quote response data). */
export function evaluationFailure(evaluation: Extract<Evaluation, { ok: false }>): string {
  switch (evaluation.code) {
    case 'D1012':
    case 'timeout':
      return 'ran out of time (an endless loop?)';
    case 'D1011':
      return 'recursed too deeply';
    case 'D2014':
    case 'D2015':
      return 'built a sequence that is too long';
    case 'crashed':
      return 'exhausted the evaluator (memory?) and was stopped';
    case 'busy':
      return 'could not be evaluated now: the evaluator is busy';
    case 'not-json':
      return 'returned a function, not data';
    default:
      return `failed with JSONata error ${evaluation.code}${evaluation.position === undefined ? '' : ` at character ${evaluation.position}`}`;
  }
}

const MAX_CLAIMS_BYTES = 64 * 1024;
const MAX_CLAIMS_DEPTH = 8;

/**
 * Why a mapping result cannot be a credential's claims, or null when it can: a JSON object of strings,
 * finite numbers, booleans, arrays and objects; no nulls (JSON-LD would drop them silently), no `id` (the
 * subject id comes from the request) and no `@` keywords (they would rewrite the credential's JSON-LD).
 */
export function claimsProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'must produce a JSON object of claims';
  }
  if (Object.hasOwn(value, 'id')) return 'may not produce an `id` claim (pass subjectId when issuing)';
  const problem = valueProblem(value, '', 0);
  if (problem) return problem;
  if (JSON.stringify(value).length > MAX_CLAIMS_BYTES)
    return `produced more than ${MAX_CLAIMS_BYTES} bytes of claims`;
  return null;
}

function valueProblem(value: unknown, at: string, depth: number): string | null {
  if (depth > MAX_CLAIMS_DEPTH) return `nests claims deeper than ${MAX_CLAIMS_DEPTH} levels`;
  if (typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number')
    return Number.isFinite(value) ? null : `produced a non-finite number at ${at}`;
  if (value === null || value === undefined)
    return `produced null at ${at || '/'} (leave the claim out instead)`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = valueProblem(item, `${at}/${index}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('@')) return `may not produce the JSON-LD keyword ${key} (at ${at || '/'})`;
      const problem = valueProblem(item, `${at}/${key}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  return `produced a ${typeof value} at ${at}`;
}

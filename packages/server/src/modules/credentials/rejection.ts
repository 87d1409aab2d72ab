import { CredentialError, type Violation } from '@personachain/credentials';
import { Problem } from '../../http/problem.js';

/** Library codes that mean the platform failed (its key, its signer), not the request: these stay 500s. */
const SERVER_FAULTS = new Set(['signing-failed', 'invalid-signature', 'invalid-signer']);

/**
 * A library error as a 400 naming its code and the failing fields: data-model violations under `base`, a
 * selective pointer by its index. Anything that is not the request's fault is returned unchanged.
 */
export function rejected(
  error: unknown,
  slug: 'credential-rejected' | 'validation-error',
  base: string,
  pointers: string[] = [],
): unknown {
  if (!(error instanceof CredentialError) || SERVER_FAULTS.has(error.code)) return error;
  const violations = (error.details?.violations as Violation[] | undefined) ?? [];
  const errors = violations.map(({ path, message }) => ({
    in: 'body',
    pointer: `${base}${path}`,
    detail: message,
  }));
  const index = pointers.indexOf(error.details?.pointer as string);
  if (error.code === 'invalid-pointer' && index >= 0) {
    errors.push({ in: 'body', pointer: `#/options/selectivePointers/${index}`, detail: error.message });
  }
  return new Problem(slug, error.message, { errors, extensions: { code: error.code } });
}

/** A 400 for one invalid request field: `pointer` is its JSON Pointer (`#/options/…`). */
export function badOption(pointer: string, detail: string): Problem {
  return new Problem('validation-error', `The request is not valid: body ${pointer.slice(1)} ${detail}`, {
    errors: [{ in: 'body', pointer, detail }],
  });
}

import { invalidValue, ScimError } from './errors.js';
import { isObject } from './user-resource.js';

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const MAX_PATCH_OPERATIONS = 50;

export type PatchOp = 'add' | 'replace' | 'remove';

export function invalidPath(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidPath');
}

function opOf(value: unknown): PatchOp {
  const op = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (op === 'add' || op === 'replace' || op === 'remove') return op;
  throw invalidValue('"op" must be "add", "replace" or "remove".');
}

/**
 * The operations of a PatchOp request (RFC 7644 section 3.5.2), each checked as it is reached: an object
 * whose op (case-insensitive: Entra ID capitalises them) is add, replace or remove. Its path is the
 * caller's to check.
 */
export function* patchOperations(
  body: unknown,
): Generator<{ op: PatchOp; path: unknown; value: unknown }, void, undefined> {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(PATCH_SCHEMA)) {
    throw invalidValue(`The body must be a PatchOp request with "schemas": ["${PATCH_SCHEMA}"].`);
  }
  const operations = body.Operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidValue('"Operations" must be a non-empty list.');
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw new ScimError(400, `At most ${MAX_PATCH_OPERATIONS} operations per request.`, 'tooMany');
  }
  for (const operation of operations) {
    if (!isObject(operation)) throw invalidValue('Each operation must be an object.');
    yield { op: opOf(operation.op), path: operation.path, value: operation.value };
  }
}

/** The attributes a pathless add or replace sets: each entry of its value object. */
export function pathlessAttributes(op: PatchOp, value: unknown): [string, unknown][] {
  if (op === 'remove') throw new ScimError(400, 'A remove operation needs a "path".', 'noTarget');
  if (!isObject(value)) throw invalidValue(`A "${op}" without "path" needs an object "value".`);
  return Object.entries(value);
}

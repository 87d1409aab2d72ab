import type { ProvisionedFields } from '../identity/service.js';
import { invalidValue, ScimError } from './errors.js';
import { type Filter, parseFilter } from './filter.js';
import { invalidPath, type PatchOp as Op, patchOperations, pathlessAttributes } from './patch-op.js';
import {
  booleanOf,
  emailOf,
  isObject,
  optionalTextOf,
  primaryEmailOf,
  textOf,
  USER_SCHEMA,
} from './user-resource.js';

/** The one email we keep, as the multi-valued entry clients address it by. */
interface EmailEntry {
  value: string | null;
  type: string;
  primary: boolean;
}

/** Whether a value filter such as `type eq "work"` selects our email entry. */
function selectsEmail(filter: Filter, entry: EmailEntry): boolean {
  switch (filter.kind) {
    case 'and':
      return selectsEmail(filter.left, entry) && selectsEmail(filter.right, entry);
    case 'or':
      return selectsEmail(filter.left, entry) || selectsEmail(filter.right, entry);
    case 'not':
      return !selectsEmail(filter.filter, entry);
    case 'present':
      return filter.path.toLowerCase() === 'value' ? entry.value !== null : true;
    case 'compare': {
      const key = filter.path.toLowerCase();
      if (
        (key !== 'type' && key !== 'primary' && key !== 'value') ||
        (filter.op !== 'eq' && filter.op !== 'ne')
      ) {
        throw invalidPath('Email filters compare "type", "primary" or "value" with eq or ne.');
      }
      const actual = entry[key];
      const wanted = typeof filter.value === 'string' ? filter.value.toLowerCase() : filter.value;
      const equal = (typeof actual === 'string' ? actual.toLowerCase() : actual) === wanted;
      return filter.op === 'eq' ? equal : !equal;
    }
  }
}

/** Applies one attribute change; `path` is lower-cased and without the User schema prefix. */
function applyAttribute(
  fields: ProvisionedFields,
  op: Op,
  path: string,
  value: unknown,
  written: string,
): void {
  const removing = op === 'remove';
  switch (path) {
    case 'username':
      if (removing) throw new ScimError(400, '"userName" is required; it cannot be removed.', 'mutability');
      fields.username = textOf('userName', value);
      return;
    case 'displayname':
    case 'name.formatted':
      fields.displayName = removing ? null : optionalTextOf(written, value);
      return;
    case 'name':
      if (removing) {
        fields.displayName = null;
        return;
      }
      if (!isObject(value)) throw invalidValue('"name" must be an object.');
      if (value.formatted !== undefined)
        fields.displayName = optionalTextOf('name.formatted', value.formatted);
      return;
    case 'name.givenname':
    case 'name.familyname':
      // Accepted so IdPs that send them succeed; only the display name is kept.
      if (!removing) optionalTextOf(written, value);
      return;
    case 'active':
      if (removing) throw new ScimError(400, '"active" cannot be removed.', 'mutability');
      fields.active = booleanOf('active', value);
      return;
    case 'externalid':
      fields.externalId = removing ? null : optionalTextOf('externalId', value);
      return;
    case 'emails':
      fields.email = removing ? null : primaryEmailOf(value);
      return;
    case 'id':
    case 'meta':
    case 'schemas':
      throw new ScimError(400, `"${written}" is read-only.`, 'mutability');
  }
  if (path.startsWith('meta.')) throw new ScimError(400, `"${written}" is read-only.`, 'mutability');
  throw invalidPath(`Changing "${written}" is not supported.`);
}

/** `emails[<filter>]` or `emails[<filter>].value`: the email entry addressed through a value filter. */
function applyEmailValuePath(
  fields: ProvisionedFields,
  op: Op,
  filterText: string,
  subAttribute: string | undefined,
  value: unknown,
): void {
  const filter = parseFilter(filterText);
  const entry: EmailEntry = { value: fields.email, type: 'work', primary: true };
  const matches = fields.email !== null && selectsEmail(filter, entry);
  // With no email yet, add and replace create it; otherwise the filter must select the one we keep.
  if (!matches && (op === 'remove' || fields.email !== null)) {
    throw new ScimError(400, 'No email matches the path filter.', 'noTarget');
  }
  const sub = subAttribute?.toLowerCase();
  if (sub === undefined) {
    fields.email = op === 'remove' ? null : isObject(value) ? emailOf('emails.value', value.value) : null;
    return;
  }
  if (sub === 'value') {
    fields.email = op === 'remove' ? null : emailOf('emails.value', value);
    return;
  }
  if (sub === 'type' || sub === 'primary') return;
  throw invalidPath(`"emails.${subAttribute}" is not supported.`);
}

const VALUE_PATH = /^([A-Za-z][\w-]*)\[(.+)\](?:\.([A-Za-z][\w-]*))?$/;

function applyPath(fields: ProvisionedFields, op: Op, rawPath: string, value: unknown): void {
  if (rawPath.length > 512) throw invalidPath('The path is too long.');
  const prefix = `${USER_SCHEMA}:`;
  const path = rawPath.toLowerCase().startsWith(prefix.toLowerCase())
    ? rawPath.slice(prefix.length)
    : rawPath;
  const valuePath = VALUE_PATH.exec(path);
  if (valuePath) {
    if (valuePath[1]?.toLowerCase() !== 'emails') throw invalidPath(`"${rawPath}" is not supported.`);
    applyEmailValuePath(fields, op, valuePath[2] as string, valuePath[3], value);
    return;
  }
  if (!/^[A-Za-z][\w-]*(\.[A-Za-z][\w-]*)?$/.test(path))
    throw invalidPath(`"${rawPath}" is not a valid path.`);
  applyAttribute(fields, op, path.toLowerCase(), value, path);
}

/**
 * Applies a PatchOp request (RFC 7644 section 3.5.2) to a user's provisioned fields and returns the
 * result. Ops are case-insensitive (Entra ID capitalises them); a pathless add/replace sets each
 * attribute of its value object. All ops apply, or the request fails with nothing changed.
 */
export function applyUserPatch(current: ProvisionedFields, body: unknown): ProvisionedFields {
  const fields = { ...current };
  for (const { op, path, value } of patchOperations(body)) {
    if (path === undefined) {
      for (const [name, attribute] of pathlessAttributes(op, value)) applyPath(fields, op, name, attribute);
    } else if (typeof path !== 'string') {
      throw invalidPath('"path" must be a string.');
    } else {
      applyPath(fields, op, path, value);
    }
  }
  return fields;
}

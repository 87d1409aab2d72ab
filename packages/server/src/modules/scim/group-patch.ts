import { invalidValue, ScimError } from './errors.js';
import { type Filter, parseFilter } from './filter.js';
import { GROUP_SCHEMA, type GroupFields, MAX_MEMBERS_PER_REQUEST, memberIdsOf } from './group-resource.js';
import type { MemberChanges } from './groups-repo.js';
import { MAX_PATCH_OPERATIONS, PATCH_SCHEMA } from './user-patch.js';
import { isObject, optionalTextOf, textOf } from './user-resource.js';

type Op = 'add' | 'replace' | 'remove';

function invalidPath(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidPath');
}

/** The user ids a `members[...]` filter names: `value eq "…"`, possibly joined with or. */
function memberIdsOfFilter(filter: Filter): string[] {
  if (filter.kind === 'or') return [...memberIdsOfFilter(filter.left), ...memberIdsOfFilter(filter.right)];
  if (
    filter.kind === 'compare' &&
    filter.path.toLowerCase() === 'value' &&
    filter.op === 'eq' &&
    typeof filter.value === 'string'
  ) {
    return [filter.value];
  }
  throw invalidPath('Member filters select by value: members[value eq "usr_…"].');
}

/** Membership changes accumulated in request order: a later op overrides an earlier one on the same user. */
class MemberPlan implements MemberChanges {
  reset = false;
  private readonly adding = new Set<string>();
  private readonly removing = new Set<string>();

  get add(): string[] {
    return [...this.adding];
  }
  get remove(): string[] {
    return [...this.removing];
  }
  get count(): number {
    return this.adding.size + this.removing.size;
  }

  replaceAll(ids: string[]): void {
    this.reset = true;
    this.adding.clear();
    this.removing.clear();
    for (const id of ids) this.adding.add(id);
  }
  addAll(ids: string[]): void {
    for (const id of ids) {
      this.removing.delete(id);
      this.adding.add(id);
    }
  }
  removeAll(ids: string[]): void {
    for (const id of ids) {
      this.adding.delete(id);
      if (!this.reset) this.removing.add(id);
    }
  }
}

function opOf(value: unknown): Op {
  const op = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (op === 'add' || op === 'replace' || op === 'remove') return op;
  throw invalidValue('"op" must be "add", "replace" or "remove".');
}

function applyAttribute(
  fields: GroupFields,
  members: MemberPlan,
  op: Op,
  rawPath: string,
  value: unknown,
): void {
  const prefix = `${GROUP_SCHEMA}:`;
  const path = rawPath.toLowerCase().startsWith(prefix.toLowerCase())
    ? rawPath.slice(prefix.length)
    : rawPath;
  const filtered = /^members\[(.+)\]$/i.exec(path);
  if (filtered) {
    if (op !== 'remove') throw invalidPath('Add members with path "members" and a list value.');
    members.removeAll(memberIdsOfFilter(parseFilter(filtered[1] as string)));
    return;
  }
  switch (path.toLowerCase()) {
    case 'displayname':
      if (op === 'remove') throw new ScimError(400, '"displayName" is required.', 'mutability');
      fields.displayName = textOf('displayName', value);
      return;
    case 'externalid':
      fields.externalId = op === 'remove' ? null : optionalTextOf('externalId', value);
      return;
    case 'members':
      if (op === 'add') members.addAll(memberIdsOf(value));
      else if (op === 'replace') members.replaceAll(memberIdsOf(value));
      // Remove with a list removes those members (as Entra ID sends it); without, removes them all.
      else if (value === undefined || value === null) members.replaceAll([]);
      else members.removeAll(memberIdsOf(value));
      return;
    case 'id':
      // Okta repeats the id in pathless replaces; it cannot change.
      return;
    case 'meta':
    case 'schemas':
      throw new ScimError(400, `"${rawPath}" is read-only.`, 'mutability');
  }
  throw invalidPath(`Changing "${rawPath}" is not supported.`);
}

/**
 * Applies a PatchOp request to a group: the new fields, and its membership changes. Ops are
 * case-insensitive; a pathless add/replace sets each attribute of its value object.
 */
export function applyGroupPatch(
  current: GroupFields,
  body: unknown,
): { fields: GroupFields; members: MemberChanges } {
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
  const fields = { ...current };
  const members = new MemberPlan();
  for (const operation of operations) {
    if (!isObject(operation)) throw invalidValue('Each operation must be an object.');
    const op = opOf(operation.op);
    if (operation.path !== undefined) {
      if (typeof operation.path !== 'string' || operation.path.length > 512) {
        throw invalidPath('"path" must be a string of at most 512 characters.');
      }
      applyAttribute(fields, members, op, operation.path, operation.value);
    } else if (op === 'remove') {
      throw new ScimError(400, 'A remove operation needs a "path".', 'noTarget');
    } else if (!isObject(operation.value)) {
      throw invalidValue(`A "${op}" without "path" needs an object "value".`);
    } else {
      for (const [name, value] of Object.entries(operation.value))
        applyAttribute(fields, members, op, name, value);
    }
    if (members.count > MAX_MEMBERS_PER_REQUEST) {
      throw new ScimError(400, `At most ${MAX_MEMBERS_PER_REQUEST} member changes per request.`, 'tooMany');
    }
  }
  return { fields, members: { reset: members.reset, add: members.add, remove: members.remove } };
}

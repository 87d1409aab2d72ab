import { ScimError } from './errors.js';
import { type Filter, parseFilter } from './filter.js';
import { GROUP_SCHEMA, type GroupFields, MAX_MEMBERS_PER_REQUEST, memberIdsOf } from './group-resource.js';
import type { MemberChanges } from './groups-repo.js';
import { invalidPath, type PatchOp as Op, patchOperations, pathlessAttributes } from './patch-op.js';
import { optionalTextOf, textOf } from './user-resource.js';

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
  const fields = { ...current };
  const members = new MemberPlan();
  for (const { op, path, value } of patchOperations(body)) {
    if (path === undefined) {
      for (const [name, attribute] of pathlessAttributes(op, value)) {
        applyAttribute(fields, members, op, name, attribute);
      }
    } else if (typeof path !== 'string' || path.length > 512) {
      throw invalidPath('"path" must be a string of at most 512 characters.');
    } else {
      applyAttribute(fields, members, op, path, value);
    }
    if (members.count > MAX_MEMBERS_PER_REQUEST) {
      throw new ScimError(400, `At most ${MAX_MEMBERS_PER_REQUEST} member changes per request.`, 'tooMany');
    }
  }
  return { fields, members: { reset: members.reset, add: members.add, remove: members.remove } };
}

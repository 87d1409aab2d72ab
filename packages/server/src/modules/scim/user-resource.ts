import type { ProvisionedFields, ProvisionedUser } from '../identity/service.js';
import { invalidValue } from './errors.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** Longest value of a string attribute we accept. */
export const MAX_TEXT = 256;
const MAX_EMAILS = 10;

export interface ScimUser {
  schemas: [typeof USER_SCHEMA];
  id: string;
  externalId?: string;
  userName: string;
  name?: { formatted: string };
  displayName?: string;
  emails?: { value: string; type: 'work'; primary: true }[];
  active: boolean;
  meta: { resourceType: 'User'; created: string; lastModified: string; location: string; version: string };
}

/** The weak ETag of a version: changes whenever the user does. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The SCIM representation of a user; `base` is the project's SCIM base URL. */
export function toScimUser(user: ProvisionedUser, base: string): ScimUser {
  return {
    schemas: [USER_SCHEMA],
    id: user.id,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    userName: user.username ?? user.email ?? user.id,
    ...(user.displayName !== null
      ? { name: { formatted: user.displayName }, displayName: user.displayName }
      : {}),
    ...(user.email !== null ? { emails: [{ value: user.email, type: 'work', primary: true }] } : {}),
    active: user.status === 'active',
    meta: {
      resourceType: 'User',
      created: user.createdAt,
      lastModified: user.updatedAt,
      location: `${base}/Users/${user.id}`,
      version: etagOf(user.version),
    },
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string attribute: trimmed, 1 to MAX_TEXT characters. */
export function textOf(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > MAX_TEXT) {
    throw invalidValue(`"${name}" must be a non-empty string of at most ${MAX_TEXT} characters.`);
  }
  return value.trim();
}

/** An optional string attribute: null when absent or null. */
export function optionalTextOf(name: string, value: unknown): string | null {
  return value === undefined || value === null ? null : textOf(name, value);
}

/** A boolean, also as the strings "True"/"False" in any case (Entra ID sends those). */
export function booleanOf(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw invalidValue(`"${name}" must be true or false.`);
}

export function emailOf(name: string, value: unknown): string {
  const email = textOf(name, value);
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw invalidValue(`"${name}" must be an email address.`);
  return email;
}

/** The one email we keep of a multi-valued `emails`: the primary one, else the work one, else the first. */
export function primaryEmailOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length > MAX_EMAILS || !value.every(isObject)) {
    throw invalidValue(`"emails" must be a list of at most ${MAX_EMAILS} objects with a "value".`);
  }
  if (value.length === 0) return null;
  const chosen =
    value.find((entry) => entry.primary === true || entry.primary === 'True' || entry.primary === 'true') ??
    value.find((entry) => typeof entry.type === 'string' && entry.type.toLowerCase() === 'work') ??
    value[0];
  return emailOf('emails.value', chosen?.value);
}

/** The display name from `displayName`, else `name.formatted`, else given and family name joined. */
function displayNameOf(body: Record<string, unknown>): string | null {
  if (body.displayName !== undefined && body.displayName !== null)
    return textOf('displayName', body.displayName);
  if (body.name === undefined || body.name === null) return null;
  if (!isObject(body.name)) throw invalidValue('"name" must be an object.');
  if (body.name.formatted !== undefined && body.name.formatted !== null) {
    return textOf('name.formatted', body.name.formatted);
  }
  const parts = [body.name.givenName, body.name.familyName].map((part, i) =>
    optionalTextOf(i === 0 ? 'name.givenName' : 'name.familyName', part),
  );
  const joined = parts.filter((part) => part !== null).join(' ');
  return joined === '' ? null : textOf('name', joined);
}

/**
 * The fields a create or replace sets, and the initial password if one is sent. Read-only attributes
 * (id, meta) and attributes we do not keep (phone numbers, addresses, extensions…) are ignored, as RFC
 * 7644 section 3.3 allows.
 */
export function parseScimUser(body: unknown): { fields: ProvisionedFields; password?: string } {
  if (!isObject(body)) throw invalidValue('The body must be a SCIM User object.');
  if (!Array.isArray(body.schemas) || !body.schemas.includes(USER_SCHEMA)) {
    throw invalidValue(`"schemas" must include "${USER_SCHEMA}".`);
  }
  const fields: ProvisionedFields = {
    username: textOf('userName', body.userName),
    email: primaryEmailOf(body.emails),
    displayName: displayNameOf(body),
    externalId: optionalTextOf('externalId', body.externalId),
    active: body.active === undefined ? true : booleanOf('active', body.active),
  };
  if (body.password === undefined) return { fields };
  if (typeof body.password !== 'string' || body.password.length > 1024) {
    throw invalidValue('"password" must be a string of at most 1024 characters.');
  }
  return { fields, password: body.password };
}

import { ScimError } from './errors.js';

const ENTITY_TAG = /^(?:W\/)?"(\d{1,15})"$/;

/**
 * The versions an If-Match header accepts: undefined when there is no header or it is `*` (any version),
 * otherwise the versions of the listed entity tags (weak or strong; tags we never issued match none).
 */
export function ifMatchVersions(header: string | string[] | undefined): number[] | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return undefined;
  return text
    .split(',')
    .map((tag) => ENTITY_TAG.exec(tag.trim())?.[1])
    .filter((digits) => digits !== undefined)
    .map(Number);
}

/** The current version if the If-Match versions accept it; 412 otherwise. */
export function matchedVersion(accepted: number[], current: number): number {
  if (!accepted.includes(current)) {
    throw new ScimError(412, 'The resource was changed since the version in If-Match; read it again.');
  }
  return current;
}

import type { FastifyReply } from 'fastify';
import { LIST_SCHEMA, MAX_RESULTS } from './discovery.js';
import { invalidValue } from './errors.js';
import { ifMatchVersions, matchedVersion } from './etags.js';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** Every SCIM route is per project: the base URL an IdP is configured with names it. */
export const BASE = '/p/:projectId/scim/v2';

export interface ProjectParams {
  projectId: string;
}

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
}

/** The project's SCIM base URL. */
export function baseUrl(publicUrl: string, projectId: string): string {
  return `${publicUrl}/p/${encodeURIComponent(projectId)}/scim/v2`;
}

export function sendScim(reply: FastifyReply, status: number, body: unknown, version?: number): FastifyReply {
  if (version !== undefined) reply.header('etag', `W/"${version}"`);
  return reply.code(status).type(SCIM_MEDIA_TYPE).send(body);
}

function integerOf(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d{1,9}$/.test(value)) throw invalidValue(`"${name}" must be an integer.`);
  return Number(value);
}

/**
 * The page a list asks for (RFC 7644 section 3.4.2.4): startIndex is 1-based (below 1 counts as 1),
 * count is clamped to 0…MAX_RESULTS.
 */
export function pageOf(query: ListQuery): { startIndex: number; offset: number; limit: number } {
  const startIndex = Math.max(1, integerOf('startIndex', query.startIndex, 1));
  const limit = Math.min(MAX_RESULTS, Math.max(0, integerOf('count', query.count, MAX_RESULTS)));
  return { startIndex, offset: startIndex - 1, limit };
}

export function listResponse(total: number, startIndex: number, resources: unknown[]) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: total,
    itemsPerPage: resources.length,
    startIndex,
    Resources: resources,
  };
}

/** The version a write may apply to: the current one if If-Match accepts it (412 if not), or undefined. */
export async function versionFromIfMatch(
  header: string | string[] | undefined,
  currentVersion: () => Promise<number>,
): Promise<number | undefined> {
  const accepted = ifMatchVersions(header);
  return accepted === undefined ? undefined : matchedVersion(accepted, await currentVersion());
}

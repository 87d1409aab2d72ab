import type { ApiKey, Role } from '@personachain/server';

/** Shapes of the tenancy API (`/v1`): the server's own types, imported as types only (nothing loads). */
export type { ApiKey, Organization, Page, PlatformKey, Project, Role } from '@personachain/server';

/** Checked here too, so a typo fails before any request; `satisfies` keeps it in step with the server. */
export const ROLES = [
  'owner',
  'admin',
  'developer',
  'reviewer',
  'auditor',
  'viewer',
] as const satisfies readonly Role[];

/** Only the create response carries the secret; the server keeps a hash. */
export interface CreatedApiKey extends ApiKey {
  secret: string;
}

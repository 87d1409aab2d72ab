/** Roles from least to most powerful; a role's rank is its position + 1. */
export const ROLES = ['viewer', 'auditor', 'reviewer', 'developer', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export function rankOf(role: Role): number {
  return ROLES.indexOf(role) + 1;
}

/** Scopes narrow what a key's role allows; `*` allows everything the role does. */
export const SCOPES = [
  '*',
  'org:read',
  'org:write',
  'projects:read',
  'projects:write',
  'api_keys:read',
  'api_keys:write',
  'members:read',
  'members:write',
  'audit:read',
  'issuers:read',
  'issuers:write',
  'credentials:issue',
  'credentials:verify',
  'credentials:status',
  'credentials:derive',
  'presentations:prove',
  'users:read',
  'users:write',
  'scim:read',
  'scim:write',
  'identity_policy:read',
  'identity_policy:write',
  'dids:read',
  'dids:write',
  'oidc_clients:read',
  'oidc_clients:write',
  'oidc_keys:write',
  'ephemeral:read',
  'ephemeral:attest',
  'verifications:read',
  'verifications:write',
  'verifications:review',
  'verification_settings:read',
  'verification_settings:write',
  'connectors:read',
  'connectors:write',
  'connectors:run',
  'webhooks:read',
  'webhooks:write',
  'vaults:read',
  'vaults:write',
  'vaults:admin',
  'policy:simulate',
] as const;
export type Scope = (typeof SCOPES)[number];

/** Actions are the scopes they need, plus `org:create` (platform only) and `see` (existence). */
export type Action =
  | Exclude<Scope, '*'>
  | 'org:create'
  | 'platform_keys:read'
  | 'platform_keys:write'
  | 'see';

/** Who is calling: resolved from the bearer API key on every request. */
export type Principal =
  | { kind: 'platform'; keyId: string; expiresAt: string | null }
  | {
      kind: 'project';
      keyId: string;
      role: Role;
      scopes: string[];
      projectId: string;
      orgId: string;
      expiresAt: string | null;
    };

export type Resource =
  | { type: 'Platform' }
  | { type: 'Organization'; id: string }
  | { type: 'Project'; id: string; orgId: string }
  | { type: 'Member'; id: string; orgId: string }
  | { type: 'Key'; id: string; projectId: string; orgId: string };

/** What a write would hand out or touch; checked so a caller can never grant more than it has. */
export interface Grant {
  grantedRole?: Role;
  grantedScopes?: string[];
  /** The highest role among what the action changes or removes. */
  currentRole?: Role;
  /** Only when the action creates a key: its expiry (null = never). */
  createdKeyExpiresAt?: string | null;
}

/** "Never expires", in the epoch seconds Cedar compares: the last second of year 9999. */
export const NEVER_EPOCH_SECONDS = 253_402_300_799;

export function epochSeconds(timestamp: string | null): number {
  return timestamp === null ? NEVER_EPOCH_SECONDS : Math.floor(Date.parse(timestamp) / 1000);
}

/** Shapes of the PersonaChain tenancy API (`/v1`), as the server returns them. */

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
}

export interface Project {
  id: string;
  orgId: string;
  name: string;
  createdAt: string;
}

export const ROLES = ['owner', 'admin', 'developer', 'auditor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKey {
  id: string;
  projectId: string;
  name: string;
  role: Role;
  scopes: string[];
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Only the create response carries the secret; the server keeps a hash. */
export interface CreatedApiKey extends ApiKey {
  secret: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

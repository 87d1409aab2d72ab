/** Row types of every table, as Kysely sees them. Timestamps are ISO-8601 UTC strings on both engines. */
export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  created_at: string;
}

export interface OrgMembersTable {
  id: string;
  org_id: string;
  email: string;
  role: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  /** Null only for platform administrator keys. */
  project_id: string | null;
  name: string;
  role: string;
  /** JSON array of scope strings. */
  scopes: string;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secret_hash: string;
  /** First characters of the secret, shown so people can tell keys apart. */
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface IdempotencyKeysTable {
  /** The API key that sent the request: idempotency keys are private to their caller. */
  principal_id: string;
  idempotency_key: string;
  method: string;
  path: string;
  /** SHA-256 of method, path and body: a reused key with another request is rejected. */
  request_hash: string;
  /** Null while the first request is still being processed. */
  status_code: number | null;
  response_body: string | null;
  response_type: string | null;
  created_at: string;
}

/** One row, written in the same transaction as the first platform key: bootstrap happens once, ever. */
export interface BootstrapTable {
  id: number;
  created_at: string;
}

export interface Database {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  org_members: OrgMembersTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  bootstrap: BootstrapTable;
}

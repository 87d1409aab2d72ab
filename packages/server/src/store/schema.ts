import type { Generated } from 'kysely';

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

/** Private keys of the platform, one JSON key record (wrapped secret, public key, status) per row. */
export interface KeysTable {
  id: string;
  /** What the key is for, e.g. `ledger-checkpoint`; rotation makes a new active key for the same purpose. */
  purpose: string;
  record: string;
  created_at: string;
}

/**
 * The log's one row: its origin and latest signed checkpoint. Bigint columns arrive as strings from
 * PostgreSQL and as numbers from SQLite; repos convert them with Number().
 */
export interface LedgerStateTable {
  id: number;
  origin: string;
  size: number | string;
  root: Uint8Array;
  /** The signed note of the latest checkpoint, as served. */
  checkpoint: string;
  signer_key_id: string;
  updated_at: string;
  /** The latest checkpoint cosigned by the witness quorum, with their cosignature lines. */
  published_size: number | string | null;
  published_checkpoint: string | null;
}

/** C2SP tlog-tiles hash tiles; a partial tile's row grows until it is full (256 hashes). */
export interface LedgerTilesTable {
  level: number;
  idx: number | string;
  data: Uint8Array;
  /** Full level-0 tiles only: the roots of their 16- to 128-hash subtrees (a proof-time index). */
  inner: Uint8Array | null;
}

export interface LedgerEntriesTable {
  idx: number | string;
  data: Uint8Array;
}

export interface LedgerQueueTable {
  seq: Generated<number | string>;
  data: Uint8Array;
  queued_at: string;
}

export interface LedgerSequenceTable {
  seq: number | string;
  idx: number | string;
}

/** Security-relevant acts; each is also a ledger entry (the exact JSON in `entry`). */
export interface AuditEventsTable {
  id: string;
  org_id: string | null;
  project_id: string | null;
  type: string;
  ledger_seq: number | string;
  entry: string;
  created_at: string;
}

/** Credential issuers of a project: a DID and the KeyStore keys it signs with. */
export interface IssuersTable {
  id: string;
  project_id: string;
  name: string;
  /** `key` or `web`. */
  did_method: string;
  did: string;
  /** JSON array of securing mechanisms (cryptosuite names, `vc+jwt`), the default first. */
  suites: string;
  /** JSON array of `{ algorithm, keyId, verificationMethod }`, one per key type. */
  keys: string;
  /** JSON array of the status purposes (`revocation`, `suspension`) every issued credential gets. */
  status_purposes: string;
  created_at: string;
}

/** A Bitstring Status List of an issuer, one per purpose; its bits are the `status_entries` set to 1. */
export interface StatusListsTable {
  issuer_id: string;
  purpose: string;
  project_id: string;
  /** Entries in the list (bits). */
  size: number;
  /** Bumped by every status change. */
  version: number;
  /** The signed BitstringStatusListCredential (JSON), current while `published_version` = `version`. */
  published: string | null;
  published_version: number | null;
  created_at: string;
}

/** An allocated index of a status list and the credential it was given to. */
export interface StatusEntriesTable {
  issuer_id: string;
  purpose: string;
  idx: number;
  /** SHA-256 (hex) of the credential's `id`, or of the issued credential without one (as audited). */
  credential_hash: string;
  /** 1 when set (revoked, suspended). */
  status: number;
  created_at: string;
  updated_at: string;
}

/** One did:persona operation of the ledger, indexed by DID (the entry itself is in ledger_entries). */
/** Deletion attestations of ephemeral-store nodes a project submitted (modules/ephemeral). */
export interface EphemeralAttestationsTable {
  project_id: string;
  /** base64url Ed25519 signature: one attestation has exactly one (canonical) spelling. */
  signature: string;
  key_commitment: string;
  node_id: string;
  reason: string;
  /** As signed: RFC 3339 UTC with milliseconds. */
  deleted_at: string;
  /** When the platform received it (`at` in the ledger entry, POSIX seconds). */
  at: number | string;
  ledger_seq: number | string;
  /** Null until the ledger integrated the entry. */
  ledger_index: number | string | null;
}

export interface PersonaOpsTable {
  did: string;
  /** 0 for the genesis, then 1, 2, … along the DID's history. */
  position: number;
  /** The project that submitted the genesis; every later operation of the DID goes through it. */
  project_id: string;
  /** The operation hash (base32), i.e. the versionId it creates. */
  op_hash: string;
  op_type: string;
  /** The integration time committed in the entry (`at`, POSIX seconds). */
  at: number | string;
  ledger_seq: number | string;
  /** Null until the ledger integrated the entry. */
  ledger_index: number | string | null;
}

/** An end user of a project. Erasure nulls every personal column and the credentials. */
export interface IdentityUsersTable {
  id: string;
  project_id: string;
  username: string | null;
  username_normalized: string | null;
  email: string | null;
  email_normalized: string | null;
  email_verified: number;
  display_name: string | null;
  /** active | disabled | deleted */
  status: string;
  /** Argon2id PHC string. */
  password_hash: string | null;
  /** AES-256-GCM under a key derived from the master key (base64url), for the confirmed factor. */
  totp_secret: string | null;
  /** The same, for an enrollment not confirmed yet. */
  totp_pending_secret: string | null;
  /** The last TOTP time step accepted: a code of this step or an earlier one is a replay. */
  totp_last_step: number | string;
  /** The provisioning IdP's id for the user (SCIM externalId), as it sent it. */
  external_id: string | null;
  /** Bumped on every change; the SCIM ETag. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface IdentityRecoveryCodesTable {
  user_id: string;
  /** SHA-256 (hex) of the normalized code. */
  code_hash: string;
}

export interface IdentitySessionsTable {
  id: string;
  project_id: string;
  user_id: string;
  /** SHA-256 (hex) of the bearer token. */
  token_hash: string;
  /** JSON array of RFC 8176 method references: pwd, otp. */
  amr: string;
  /** 1: may only enroll the second factor the project requires. */
  restricted: number;
  auth_time: string;
  last_seen_at: string;
  idle_expires_at: string;
  expires_at: string;
  created_at: string;
}

export interface IdentityMfaChallengesTable {
  token_hash: string;
  project_id: string;
  user_id: string;
  /** The brute-force counter of the login this challenge continues. */
  throttle_key: string;
  attempts: number;
  expires_at: string;
  /** The amr of the factor that opened the challenge: `otp` for an emailed code; the column defaults to `pwd`. */
  first_factor?: string;
}

export interface IdentityThrottleTable {
  key: string;
  failures: number;
  last_failure_at: string;
  blocked_until: string | null;
}

export interface IdentityPoliciesTable {
  project_id: string;
  /** JSON of the identity policy. */
  policy: string;
  updated_at: string;
}

/** A record of the OIDC provider (its adapter's storage), scoped to the project whose issuer made it. */
export interface OidcPayloadsTable {
  project_id: string;
  /** The provider's model name: AccessToken, ClientCredentials, Grant, ReplayDetection, … */
  model: string;
  id: string;
  /** The provider's payload, JSON. */
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  /** Epoch seconds; null = kept until destroyed. */
  expires_at: number | null;
  /** Epoch seconds when consumed (single-use codes and tokens). */
  consumed_at: number | null;
}

/** An OAuth/OIDC client of a project; the secret is kept as a SHA-256 hash only. */
export interface OidcClientsTable {
  id: string;
  project_id: string;
  org_id: string;
  name: string;
  secret_hash: string;
  /** The role its access tokens act with on the platform API (viewer, auditor or developer). */
  role: string;
  /** JSON array of the scopes it may request. */
  scopes: string;
  /** JSON array of its own resource servers (resource indicators it may request besides the platform API). */
  resources: string;
  /** JSON arrays: where authorization responses and logouts may redirect to, and the grants it may use. */
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  /** 1: a public client (no secret, token_endpoint_auth_method none, PKCE only). */
  public_client: number;
  /** 1: a first-party client whose users are never asked for consent. */
  skip_consent: number;
  created_at: string;
  updated_at: string;
  /** The JWS alg of its ID tokens (EdDSA, ES256 or RS256); null: the issuer's default (ES256). */
  id_token_signed_response_alg: string | null;
}

export interface ScimGroupsTable {
  id: string;
  project_id: string;
  display_name: string;
  /** NFKC, lower case, trimmed: unique per project. */
  display_name_normalized: string;
  external_id: string | null;
  /** Bumped on every change, members included; the SCIM ETag. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
  project_id: string;
}

/** A passkey (WebAuthn credential) of an end user. */
export interface IdentityPasskeysTable {
  id: string;
  project_id: string;
  user_id: string;
  /** The credential id, base64url, unique per project. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter at the last sign-in (0: it keeps none). */
  counter: number | string;
  /** JSON array of the transports the authenticator reported. */
  transports: string;
  /** singleDevice | multiDevice */
  device_type: string;
  backed_up: number;
  aaguid: string;
  /** The name its owner gave it. */
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A WebAuthn challenge issued and not used yet. */
export interface IdentityWebauthnChallengesTable {
  /** SHA-256 (hex) of the challenge (base64url). */
  challenge_hash: string;
  project_id: string;
  /** registration | authentication */
  purpose: string;
  /** The user registering; null for a username-less sign-in. */
  user_id: string | null;
  expires_at: string;
}

/** An emailed one-time code and its magic link, stored as keyed hashes. */
export interface IdentityEmailCodesTable {
  id: string;
  project_id: string;
  user_id: string;
  /** sign_in | verify_email */
  purpose: string;
  code_hash: string;
  link_hash: string;
  attempts: number;
  expires_at: string;
  created_at: string;
  /** Keyed hash of the normalized address the code was sent to; a code works only while it still is. */
  email_hash: string | null;
  /** SHA-256 of the cookie left in the browser that asked for a sign-in link (0020_email_fixes). */
  browser_hash: string | null;
  /** The code and link sealed with a SecretBox, so that a repeated request re-sends them unchanged. */
  code_box: string | null;
}

/** One sent message, counted by the send limits; the key is a hash of the address or client IP. */
export interface IdentityEmailSendsTable {
  key_hash: string;
  sent_at: string;
}

/** A DID linked to an end user: proven by DID Auth, or created for them with a KeyStore key (custodial). */
export interface UserDidsTable {
  /** Sorts by link order (a UUIDv7): the first is the user's primary DID. */
  id: string;
  project_id: string;
  did: string;
  user_id: string;
  method: 'did-auth' | 'custodial';
  /** The KeyStore key of a custodial did:key; null for self-custodied DIDs. */
  key_id: string | null;
  created_at: string;
}

/** A single-use DID Auth challenge of a user: its SHA-256 only. */
export interface UserDidChallengesTable {
  challenge_hash: string;
  project_id: string;
  user_id: string;
  expires_at: string;
}

/** A credential in a user's wallet: sealed; the listing metadata in clear. */
export interface UserCredentialsTable {
  id: string;
  project_id: string;
  user_id: string;
  sealed: string;
  /** JSON array of the credential's types. */
  types: string;
  issuer: string;
  valid_from: string | null;
  valid_until: string | null;
  stored_at: string;
}

/** A user's completed sign-in, remembered for adaptive MFA (hashes and coarse places only). */
export interface IdentitySignInsTable {
  id: string;
  project_id: string;
  user_id: string;
  at: string;
  address_hash: string;
  device_hash: string | null;
  country: string | null;
  latitude: number | null;
  longitude: number | null;
  accuracy_km: number | null;
}

/** The lifecycle of one OIDC issuer key (the key is in `keys`); ISO 8601 times. */
export interface OidcKeyStatesTable {
  kid: string;
  project_id: string;
  /** The JWS algorithm: EdDSA, ES256 or RS256. */
  alg: string;
  /** When it entered the JWKS. */
  published_at: string;
  /** When it starts signing (published_at + the publication delay, or at once for an immediate rotation). */
  activates_at: string;
  /** When it stopped signing; it stays in the JWKS for the retention period after that. */
  retired_at: string | null;
  /** When an immediate rotation revoked it: out of the JWKS and no longer verifying from then on. */
  revoked_at: string | null;
}

/** A project's issuer-key rotations: the staged one pending, claimed atomically (see IssuerKeys.rotate). */
export interface OidcKeyRotationsTable {
  project_id: string;
  /** When the keys of the last staged rotation start signing; a new staged rotation waits until then. */
  pending_until: string;
  /** When that rotation was started (an interrupted one is taken over after a while). */
  claimed_at: string;
}

export interface Database {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  org_members: OrgMembersTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  bootstrap: BootstrapTable;
  keys: KeysTable;
  ledger_state: LedgerStateTable;
  ledger_tiles: LedgerTilesTable;
  ledger_entries: LedgerEntriesTable;
  ledger_queue: LedgerQueueTable;
  ledger_sequence: LedgerSequenceTable;
  audit_events: AuditEventsTable;
  issuers: IssuersTable;
  status_lists: StatusListsTable;
  status_entries: StatusEntriesTable;
  persona_ops: PersonaOpsTable;
  ephemeral_attestations: EphemeralAttestationsTable;
  identity_users: IdentityUsersTable;
  identity_recovery_codes: IdentityRecoveryCodesTable;
  identity_sessions: IdentitySessionsTable;
  identity_mfa_challenges: IdentityMfaChallengesTable;
  identity_throttle: IdentityThrottleTable;
  identity_policies: IdentityPoliciesTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_clients: OidcClientsTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  identity_passkeys: IdentityPasskeysTable;
  identity_webauthn_challenges: IdentityWebauthnChallengesTable;
  user_dids: UserDidsTable;
  user_did_challenges: UserDidChallengesTable;
  user_credentials: UserCredentialsTable;
  identity_email_codes: IdentityEmailCodesTable;
  identity_email_sends: IdentityEmailSendsTable;
  identity_sign_ins: IdentitySignInsTable;
  oidc_key_states: OidcKeyStatesTable;
  oidc_key_rotations: OidcKeyRotationsTable;
}

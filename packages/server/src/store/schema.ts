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
  /** The queued entry (`record` in an act's transaction); null for a row appended with its entry. */
  ledger_seq: number | string | null;
  /** The entry's index, for a row appended with its entry (`recordAlone`); else via ledger_sequence. */
  ledger_index: number | string | null;
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

/** HTTP connectors (modules/connectors). Times are epoch milliseconds. */
export interface ConnectorsTable {
  id: string;
  project_id: string;
  name: string;
  /** JSON of the connector's configuration without its secrets (modules/connectors/config.ts). */
  config: string;
  /** JSON of the secrets by name, sealed under the master key with the connector id as owner; null when none. */
  sealed_secrets: string | null;
  created_at: number | string;
  updated_at: number | string;
  /** unknown (never checked), healthy or unhealthy. */
  health_status: string;
  health_checked_at: number | string | null;
  health_status_code: number | null;
  health_reason: string | null;
  /** Consecutive failed health checks (0 after a healthy one). */
  health_failures: number;
}

/** One run of a connector: no input values, no response bodies. `id` is a UUIDv7 in hex (sorts by time). */
export interface ConnectorRunsTable {
  id: string;
  project_id: string;
  connector_id: string;
  /** test, issue, check or health. */
  kind: string;
  at: number | string;
  status_code: number | null;
  duration_ms: number;
  /** 1 or 0. */
  success: number;
  reason: string | null;
  detail: string | null;
}

/** Outbound calls of a connector per UTC day (`d:YYYY-MM-DD`) and month (`m:YYYY-MM`), for its quotas. */
export interface ConnectorUsageTable {
  connector_id: string;
  period: string;
  project_id: string;
  count: number;
}

/** Verification (KYC) tables (modules/kyc). Times are POSIX seconds unless named `_ms`. */
export interface KycSettingsTable {
  project_id: string;
  issuer_id: string | null;
  credential_type: string;
  /** 1: offers carry a tx_code. */
  tx_code: number;
  retention_seconds: number | string;
  max_attempts: number;
  session_ttl_seconds: number | string;
  /** JSON RoutingRule[]. */
  routing_rules: string;
  /** The project's X-Wing verification public key (clients seal documents to it). */
  public_key: Uint8Array;
  /** Its 32-byte secret seed, sealed under the master key. */
  sealed_secret_key: string;
  updated_at: number | string;
}

export interface KycProvidersTable {
  id: string;
  project_id: string;
  kind: string;
  name: string;
  base_url: string;
  /** JSON of the secrets by name, sealed under the master key. */
  sealed_secrets: string;
  /** JSON array of the secrets' names (shown; the values never are). */
  secret_names: string;
  options: string;
  priority: number;
  cost_cents: number;
  timeout_ms: number;
  max_retries: number;
  enabled: number;
  created_at: number | string;
  updated_at: number | string;
}

export interface KycSessionsTable {
  id: string;
  project_id: string;
  org_id: string;
  /** A user id (`usr_…`) or a DID. */
  subject: string;
  /** The project's own opaque reference, if it gave one. */
  reference: string | null;
  /** JSON CheckRequest[]. */
  checks: string;
  status: string;
  status_reason: string | null;
  decided_by: string | null;
  /** Bumped by every transition: writes are conditional on the version read. */
  version: number;
  attempt: number;
  client_token_hash: string;
  expires_at: number | string;
  provider_id: string | null;
  provider_ref: string | null;
  /** Provider time (ms) of the latest applied provider event. */
  last_event_at: number | string | null;
  /** JSON of the normalized result: checks, reasons, derived claims. */
  result: string | null;
  /** The provider's raw answer, sealed under the session's data key. */
  sealed_raw_result: string | null;
  /** The session's data key sealed under the master key; null once destroyed. */
  sealed_data_key: string | null;
  offer_id: string | null;
  offer_uri: string | null;
  /** The offer's link and tx_code, sealed under the session's data key (shown to the project). */
  sealed_offer: string | null;
  claimed_by: string | null;
  claimed_until: number | string | null;
  /** Until when (ms) one server process dispatches the session. */
  lease_until: number | string | null;
  created_at: number | string;
  updated_at: number | string;
  decided_at: number | string | null;
  purge_at: number | string | null;
  purged_at: number | string | null;
}

export interface KycDocumentsTable {
  id: string;
  project_id: string;
  session_id: string;
  attempt: number;
  kind: string;
  content_type: string;
  size: number | string;
  blob_key: string;
  /** The document's data key sealed to the project's verification key; null once destroyed. */
  sealed_key: Uint8Array | null;
  created_at: number | string;
}

export interface KycTransitionsTable {
  session_id: string;
  seq: number;
  project_id: string;
  from_status: string;
  to_status: string;
  actor: string;
  reason: string | null;
  provider_event: string | null;
  at: number | string;
}

export interface KycProviderCallsTable {
  session_id: string;
  seq: number;
  project_id: string;
  attempt: number;
  provider_id: string;
  kind: string;
  try: number;
  result: string;
  error_kind: string | null;
  status: number | null;
  message: string | null;
  duration_ms: number;
  at: number | string;
}

export interface KycInboxTable {
  provider_id: string;
  dedupe_key: string;
  project_id: string;
  ref: string;
  /** Provider time, ms. */
  occurred_at: number | string;
  /** The parsed event sealed under the master key until applied (it may carry personal data); then null. */
  sealed_event: string | null;
  received_at: number | string;
  processed_at: number | string | null;
  /** What applying it did: applied, stale, unknown_ref, failed. */
  outcome: string | null;
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

// --- webhooks (modules/webhooks): endpoints, the outbox of events, deliveries and their attempts ---

/** A project's webhook endpoint: created_at/updated_at are ISO-8601; the other times are epoch ms. */
export interface WebhookEndpointsTable {
  id: string;
  project_id: string;
  url: string;
  description: string | null;
  /** JSON array of exact event types and `prefix.*` wildcards; empty: every event. */
  event_types: string;
  /** `v1` (HMAC-SHA256) or `v1a` (Ed25519). */
  signing: string;
  /** SecretBox-sealed signing key (v1: the HMAC key; v1a: the Ed25519 seed), owner = endpoint id. */
  secret_box: string;
  /** v1a: the public key as shown (`whpk_…`); null for v1. */
  public_key: string | null;
  /** The key replaced by the last rotation, still signing until previous_expires_at (epoch ms). */
  previous_secret_box: string | null;
  previous_expires_at: number | string | null;
  /** Deliveries per second to this endpoint; null: only the project's limit applies. */
  rate_limit: number | null;
  /** 1 enabled, 0 disabled. */
  enabled: number;
  /** Why it is disabled: `manual`, `gone` (answered 410) or `failing` (5 days without a success). */
  disabled_reason: string | null;
  /** Epoch ms of the first failed attempt since the last success; null while healthy. */
  failing_since: number | string | null;
  created_at: string;
  updated_at: string;
}

/** One event in the outbox: the exact JSON body every endpoint receives. */
export interface WebhookEventsTable {
  id: string;
  project_id: string;
  type: string;
  body: string;
  /** Epoch ms. */
  created_at: number | string;
}

/** One event for one endpoint (`msg_…`), with its retry state and the lease of the worker sending it. */
export interface WebhookDeliveriesTable {
  id: string;
  project_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  /** pending | delivering | succeeded | failed | canceled */
  status: string;
  /** Attempts made, throttled ones included. */
  attempt_count: number;
  /** Failed attempts that used up a slot of the retry schedule. */
  failures: number;
  /** 429 answers that did not use up a slot. */
  throttles: number;
  /** Epoch ms: when the next attempt is due (pending); null once final. */
  next_attempt_at: number | string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
  last_attempt_at: number | string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** The delivery log: one row per HTTP attempt. */
export interface WebhookAttemptsTable {
  delivery_id: string;
  number: number;
  project_id: string;
  endpoint_id: string;
  /** Epoch ms. */
  at: number | string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  /** Epoch ms of the retry this attempt scheduled; null when none. */
  next_attempt_at: number | string | null;
}

// --- OpenID4VCI (modules/oid4vci): pre-authorized offers; all times are epoch seconds ---

/** A credential offer (`cof_…`): the SHA-256 of its pre-authorized code, an HMAC of its tx_code. */
export interface Oid4vciOffersTable {
  id: string;
  project_id: string;
  issuer_id: string;
  credential_type: string;
  /** JSON array of the credential configuration ids offered. */
  configuration_ids: string;
  /** The flat claims, sealed with the row id as owner. */
  claims_box: string;
  subject_did: string | null;
  reference: string;
  code_hash: string;
  tx_code_digest: string | null;
  tx_code_failures: number;
  /** offered | redeemed | canceled. */
  state: string;
  created_at: number | string;
  expires_at: number | string;
  redeemed_at: number | string | null;
  canceled_at: number | string | null;
}

/** An access token of a redeemed offer: its SHA-256 only. */
export interface Oid4vciAccessTokensTable {
  token_hash: string;
  project_id: string;
  offer_id: string;
  created_at: number | string;
  expires_at: number | string;
}

/** A c_nonce used by a credential request (SHA-256), kept until it would have expired. */
export interface Oid4vciUsedNoncesTable {
  nonce_hash: string;
  project_id: string;
  expires_at: number | string;
}

/** A credential issued for one configuration of an offer (credential_hash null while being issued). */
export interface Oid4vciCredentialsTable {
  offer_id: string;
  configuration_id: string;
  project_id: string;
  issuer_id: string;
  reference: string;
  format: string;
  credential_hash: string | null;
  /** 1 when it has a revocation status entry. */
  revocable: number;
  issued_at: number | string | null;
  revoked_at: number | string | null;
}

/** A credential configuration a project's issuer metadata lists. */
export interface Oid4vciConfigurationsTable {
  project_id: string;
  id: string;
  format: string;
  credential_type: string;
  created_at: number | string;
}

// --- vaults (modules/vaults): ciphertext, sealed keys and signed manifests only; times are epoch ms ---

/** A vault (`vlt_…`, client generated) with its current signed manifest. */
export interface VaultsTable {
  id: string;
  project_id: string;
  owner: string;
  label: string | null;
  /** active | shredded. */
  status: string;
  /** The normalized trust template (JSON); null = the shipped default. */
  template: string | null;
  /** The current SignedManifest (JSON). */
  manifest: string;
  manifest_sequence: number | string;
  manifest_hash: string;
  created_at: number | string;
  updated_at: number | string;
  shredded_at: number | string | null;
}

/** Every manifest of a vault's chain (kept after shredding). */
export interface VaultManifestsTable {
  vault_id: string;
  sequence: number | string;
  hash: string;
  manifest: string;
  created_at: number | string;
}

/** A member public key set (JSON) any manifest of the vault named, by its self-certifying key id. */
export interface VaultKeysTable {
  vault_id: string;
  key_id: string;
  public_keys: string;
  created_at: number | string;
}

/** A current member (the current manifest's members, with when each was added). */
export interface VaultMembersTable {
  vault_id: string;
  subject: string;
  key_id: string;
  role: string;
  added_at: number | string;
}

/** A live item and its current version. */
export interface VaultItemsTable {
  vault_id: string;
  item_id: string;
  version: number;
  content_hash: string;
  size: number | string;
  updated_at: number | string;
}

/** One version of an item: ciphertext inline (small) or in the blob store (`blob_key`). */
export interface VaultItemVersionsTable {
  vault_id: string;
  item_id: string;
  version: number;
  content_hash: string;
  size: number | string;
  ciphertext: Uint8Array | null;
  blob_key: string | null;
  created_at: number | string;
  created_by: string;
}

/** A version's data key sealed to one member key. Deleting these is crypto-shredding. */
export interface VaultSealedKeysTable {
  vault_id: string;
  item_id: string;
  version: number;
  key_id: string;
  sealed_key: Uint8Array;
}

/** A member session (`vss_…`): the token's SHA-256 and the context the application asserted. */
export interface VaultSessionsTable {
  id: string;
  token_hash: string;
  project_id: string;
  vault_id: string;
  subject: string;
  key_id: string;
  /** HMAC of the member's IP under a per-project key (never the IP itself). */
  ip_hash: string | null;
  country: string | null;
  fingerprint_hash: string | null;
  /** JSON array of RFC 8176 amr values. */
  auth_methods: string;
  authenticated_at: number | string;
  /** Context proofs presented (unverified until the ZK issue lands). */
  proofs: number;
  created_at: number | string;
  expires_at: number | string;
  revoked_at: number | string | null;
}

/** A nonce a session proof used, refused again until `expires_at`. */
export interface VaultSessionNoncesTable {
  vault_id: string;
  nonce: string;
  expires_at: number | string;
}

/** A member device (`vdv_…`): the hash of its fingerprint. */
export interface VaultDevicesTable {
  id: string;
  project_id: string;
  subject: string;
  fingerprint_hash: string;
  label: string | null;
  created_at: number | string;
}

/** One access decision on a member route (`vac_…`) and its ledger entry. */
export interface VaultAccessLogTable {
  id: string;
  project_id: string;
  vault_id: string;
  subject: string;
  action: string;
  item_id: string | null;
  outcome: string;
  score: number;
  /** As in audit_events: the queued entry, or null and the entry's index in `ledger_index`. */
  ledger_seq: number | string | null;
  ledger_index: number | string | null;
  entry: string;
  at: number | string;
}

// --- vault recovery (modules/vaults/recovery-*, approvals-*): sealed shares only; times are epoch ms ---

/** A vault's recovery setup (`vrs_…`, client generated: the shares' AAD binds it); one per vault. */
export interface VaultRecoverySetupsTable {
  vault_id: string;
  id: string;
  project_id: string;
  /** How many guardians must release their share (2..guardians). */
  threshold: number;
  /** The owner subject whose session configured it. */
  created_by: string;
  created_at: number | string;
}

/** A guardian of a setup: its public keys and its Shamir share sealed to them (an X-Wing envelope). */
export interface VaultRecoveryGuardiansTable {
  setup_id: string;
  subject: string;
  /** The guardian's place in the setup's list (the order the owner sent). */
  position: number;
  key_id: string;
  /** MemberPublicKeys (JSON). */
  public_keys: string;
  sealed_share: Uint8Array;
}

/** A recovery request (`vrr_…`): pending → ready → completed | canceled | expired. */
export interface VaultRecoveryRequestsTable {
  id: string;
  project_id: string;
  vault_id: string;
  setup_id: string;
  threshold: number;
  /** The requester's X-Wing public key (base64url) guardians re-seal their shares to. */
  ephemeral_key: string;
  status: string;
  /** The vault id while pending or ready, null afterwards: unique, so one open request per vault. */
  open_vault_id: string | null;
  created_at: number | string;
  expires_at: number | string;
  ended_at: number | string | null;
}

/** A guardian's approval of a recovery request, with its share re-sealed to the requester. */
export interface VaultRecoveryApprovalsTable {
  request_id: string;
  guardian: string;
  /** An envelope to the request's ephemeral key; null once the request ended. */
  resealed_share: Uint8Array | null;
  /** The guardian's HybridSignature (JSON). */
  signature: string;
  created_at: number | string;
}

/** A guardian access approval (`vap_…`) for one subject and action on a vault. */
export interface VaultAccessApprovalsTable {
  id: string;
  project_id: string;
  vault_id: string;
  /** The recovery setup whose guardians may approve. */
  setup_id: string;
  subject: string;
  action: string;
  threshold: number;
  created_at: number | string;
  /** Until when guardians may approve. */
  expires_at: number | string;
  /** When the threshold was reached; the access is allowed for 10 minutes from then. */
  approved_at: number | string | null;
}

/** One guardian's signed approval of an access approval. */
export interface VaultAccessApprovalVotesTable {
  approval_id: string;
  guardian: string;
  /** HybridSignature (JSON). */
  signature: string;
  created_at: number | string;
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
  kyc_settings: KycSettingsTable;
  kyc_providers: KycProvidersTable;
  kyc_sessions: KycSessionsTable;
  kyc_documents: KycDocumentsTable;
  kyc_transitions: KycTransitionsTable;
  kyc_provider_calls: KycProviderCallsTable;
  kyc_inbox: KycInboxTable;
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
  // OpenID4VCI (modules/oid4vci)
  oid4vci_offers: Oid4vciOffersTable;
  oid4vci_access_tokens: Oid4vciAccessTokensTable;
  oid4vci_used_nonces: Oid4vciUsedNoncesTable;
  oid4vci_credentials: Oid4vciCredentialsTable;
  oid4vci_configurations: Oid4vciConfigurationsTable;
  // webhooks (modules/webhooks)
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  connectors: ConnectorsTable;
  connector_runs: ConnectorRunsTable;
  connector_usage: ConnectorUsageTable;
  // vaults (modules/vaults)
  vaults: VaultsTable;
  vault_manifests: VaultManifestsTable;
  vault_keys: VaultKeysTable;
  vault_members: VaultMembersTable;
  vault_items: VaultItemsTable;
  vault_item_versions: VaultItemVersionsTable;
  vault_sealed_keys: VaultSealedKeysTable;
  vault_sessions: VaultSessionsTable;
  vault_session_nonces: VaultSessionNoncesTable;
  vault_devices: VaultDevicesTable;
  vault_access_log: VaultAccessLogTable;
  // vault recovery and guardian access approvals (modules/vaults/recovery-*, approvals-*)
  vault_recovery_setups: VaultRecoverySetupsTable;
  vault_recovery_guardians: VaultRecoveryGuardiansTable;
  vault_recovery_requests: VaultRecoveryRequestsTable;
  vault_recovery_approvals: VaultRecoveryApprovalsTable;
  vault_access_approvals: VaultAccessApprovalsTable;
  vault_access_approval_votes: VaultAccessApprovalVotesTable;
}

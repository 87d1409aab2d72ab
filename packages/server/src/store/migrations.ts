import { type Kysely, PostgresAdapter, type SqlBool, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Column type for bytes: SQLite's blob, PostgreSQL's bytea. */
function bytes(db: Kysely<unknown>): 'blob' | 'bytea' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
}

/**
 * Every schema change, in order. Names sort; never edit a migration that has shipped — add one.
 * SQL stays within what both SQLite and PostgreSQL/CockroachDB accept.
 */
export const migrations: Record<string, Migration> = {
  '0001_tenancy': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('projects_org_id').on('projects').columns(['org_id', 'id']).execute();

      await db.schema
        .createTable('org_members')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('org_members_org_email', ['org_id', 'email'])
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createIndex('api_keys_project_id')
        .on('api_keys')
        .columns(['project_id', 'id'])
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('response_type', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal_id', 'idempotency_key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_created_at')
        .on('idempotency_keys')
        .column('created_at')
        .execute();

      await db.schema
        .createTable('bootstrap')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },

  '0002_keys': {
    async up(db: Kysely<unknown>) {
      // Private keys of the platform (checkpoint signing, issuers, ...), each wrapped under the KEK.
      await db.schema
        .createTable('keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('keys_purpose').on('keys').columns(['purpose', 'id']).execute();
    },
  },
  '0003_ledger': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ledger_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('root', bytes(db), (c) => c.notNull())
        .addColumn('checkpoint', 'text', (c) => c.notNull())
        // The KeyStore key that signs checkpoints; chosen by whichever process created the log.
        .addColumn('signer_key_id', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_tiles')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('data', bytes(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_tiles_pk', ['level', 'idx'])
        .execute();
      await db.schema
        .createTable('ledger_entries')
        .addColumn('idx', 'bigint', (c) => c.primaryKey())
        .addColumn('data', bytes(db), (c) => c.notNull())
        .execute();
      // Entries written inside another module's transaction wait here until the sequencer integrates
      // them; ledger_sequence then says which index each got.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema
        .createTable('ledger_queue')
        .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) =>
          postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('data', bytes(db), (c) => c.notNull())
        .addColumn('queued_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_sequence')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0004_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text')
        .addColumn('project_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_events_project')
        .on('audit_events')
        .columns(['project_id', 'id'])
        .execute();
    },
  },
  '0005_ledger_published': {
    async up(db: Kysely<unknown>) {
      // The latest checkpoint cosigned by the witness quorum (with those cosignatures), served instead of
      // the latest signed one when witnesses are configured; null until the first one is published.
      await db.schema.alterTable('ledger_state').addColumn('published_size', 'bigint').execute();
      await db.schema.alterTable('ledger_state').addColumn('published_checkpoint', 'text').execute();
    },
  },
  '0006_ledger_inner_hashes': {
    async up(db: Kysely<unknown>) {
      // Beside each full level-0 tile, the roots of its 16- to 128-hash subtrees: proofs look them up
      // instead of rehashing the tile. Null for partial tiles (and for full ones written before this).
      await db.schema.alterTable('ledger_tiles').addColumn('inner', bytes(db)).execute();
    },
  },
  '0007_issuers': {
    async up(db: Kysely<unknown>) {
      // No foreign key to projects: like audit entries, issuers are looked up through their project.
      await db.schema
        .createTable('issuers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('did_method', 'text', (c) => c.notNull())
        .addColumn('did', 'text', (c) => c.notNull().unique())
        .addColumn('suites', 'text', (c) => c.notNull())
        .addColumn('keys', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('issuers_project').on('issuers').columns(['project_id', 'id']).execute();
    },
  },
  '0008_status_lists': {
    async up(db: Kysely<unknown>) {
      // Issuers that add Bitstring Status List entries to what they issue (JSON array of purposes).
      await db.schema
        .alterTable('issuers')
        .addColumn('status_purposes', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      // One list per issuer and purpose. `version` grows with every status change; the list credential
      // signed at `published_version` is served until a change makes it stale, then signed again.
      await db.schema
        .createTable('status_lists')
        .addColumn('issuer_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('published', 'text')
        .addColumn('published_version', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('status_lists_pk', ['issuer_id', 'purpose'])
        .execute();
      // An allocated index is never given out again: the primary key refuses it.
      await db.schema
        .createTable('status_entries')
        .addColumn('issuer_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('credential_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('status_entries_pk', ['issuer_id', 'purpose', 'idx'])
        .execute();
      await db.schema
        .createIndex('status_entries_credential')
        .on('status_entries')
        .columns(['issuer_id', 'purpose', 'credential_hash'])
        .execute();
    },
  },
  '0009_did_persona': {
    async up(db: Kysely<unknown>) {
      // The index of did:persona operations in the ledger: one row per operation, in the DID's order.
      // (did, position) is the primary key, so of two operations submitted on the same head only one
      // can commit. ledger_seq is the queued entry; ledger_index is filled once it is integrated.
      await db.schema
        .createTable('persona_ops')
        .addColumn('did', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('op_hash', 'text', (c) => c.notNull())
        .addColumn('op_type', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
        .addColumn('ledger_index', 'bigint')
        .addPrimaryKeyConstraint('persona_ops_pk', ['did', 'position'])
        .execute();
      await db.schema
        .createIndex('persona_ops_project')
        .on('persona_ops')
        .columns(['project_id', 'position', 'did'])
        .execute();
    },
  },
  '0010_identity': {
    async up(db: Kysely<unknown>) {
      // End users of a project. Lookups go through the normalized columns (lower-cased, NFKC) and
      // their unique indexes. Erasing a user nulls every personal column and keeps the tombstoned row.
      await db.schema
        .createTable('identity_users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('username_normalized', 'text')
        .addColumn('email', 'text')
        .addColumn('email_normalized', 'text')
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('display_name', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('totp_secret', 'text')
        .addColumn('totp_pending_secret', 'text')
        .addColumn('totp_last_step', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_users_username')
        .on('identity_users')
        .columns(['project_id', 'username_normalized'])
        .unique()
        .execute();
      await db.schema
        .createIndex('identity_users_email')
        .on('identity_users')
        .columns(['project_id', 'email_normalized'])
        .unique()
        .execute();
      await db.schema
        .createTable('identity_recovery_codes')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_recovery_codes_pk', ['user_id', 'code_hash'])
        .execute();
      await db.schema
        .createTable('identity_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('restricted', 'integer', (c) => c.notNull())
        .addColumn('auth_time', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('idle_expires_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_sessions_user')
        .on('identity_sessions')
        .columns(['project_id', 'user_id', 'id'])
        .execute();
      // Pending second-factor steps of a login: single use, short-lived, a few attempts each.
      await db.schema
        .createTable('identity_mfa_challenges')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('throttle_key', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      // Brute-force counters, keyed by a hash of (project, identifier, address) or (project, address).
      await db.schema
        .createTable('identity_throttle')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure_at', 'text', (c) => c.notNull())
        .addColumn('blocked_until', 'text')
        .execute();
      await db.schema
        .createTable('identity_policies')
        .addColumn('project_id', 'text', (c) => c.primaryKey())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // The OIDC provider's state (tokens, grants, replay records; one row per provider model and id) and
  // the OIDC clients of each project (secrets as SHA-256 hashes).
  '0011_oidc': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oidc_payloads')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('user_code', 'text')
        .addColumn('uid', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_payloads_pk', ['project_id', 'model', 'id'])
        .execute();
      for (const column of ['grant_id', 'user_code', 'uid']) {
        await db.schema
          .createIndex(`oidc_payloads_${column}`)
          .on('oidc_payloads')
          .columns(['project_id', 'model', column])
          .execute();
      }
      await db.schema
        .createIndex('oidc_payloads_expires_at')
        .on('oidc_payloads')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('oidc_clients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('resources', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oidc_clients_project')
        .on('oidc_clients')
        .columns(['project_id', 'id'])
        .execute();
    },
  },
  '0012_oidc_interactive': {
    async up(db: Kysely<unknown>) {
      const columns: [string, string][] = [
        ['redirect_uris', "'[]'"],
        ['post_logout_redirect_uris', "'[]'"],
        ['grant_types', `'["client_credentials"]'`],
      ];
      for (const [name, fallback] of columns) {
        await db.schema
          .alterTable('oidc_clients')
          .addColumn(name, 'text', (c) => c.notNull().defaultTo(sql.raw(fallback)))
          .execute();
      }
      for (const name of ['public_client', 'skip_consent']) {
        await db.schema
          .alterTable('oidc_clients')
          .addColumn(name, 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
    },
  },
  '0013_scim': {
    async up(db: Kysely<unknown>) {
      // SCIM provisioning: the IdP's id for a user, and a counter bumped on every change (the ETag).
      await db.schema.alterTable('identity_users').addColumn('external_id', 'text').execute();
      await db.schema
        .alterTable('identity_users')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createIndex('identity_users_external_id')
        .on('identity_users')
        .columns(['project_id', 'external_id'])
        .execute();
      // SCIM groups of a project and their members (users of the same project).
      await db.schema
        .createTable('scim_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('display_name_normalized', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('scim_groups_display_name')
        .on('scim_groups')
        .columns(['project_id', 'display_name_normalized'])
        .unique()
        .execute();
      await db.schema
        .createIndex('scim_groups_external_id')
        .on('scim_groups')
        .columns(['project_id', 'external_id'])
        .execute();
      await db.schema
        .createTable('scim_group_members')
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('scim_group_members_pk', ['group_id', 'user_id'])
        .execute();
      await db.schema
        .createIndex('scim_group_members_user')
        .on('scim_group_members')
        .columns(['project_id', 'user_id'])
        .execute();
    },
  },
  '0014_passkeys': {
    async up(db: Kysely<unknown>) {
      // WebAuthn credentials (passkeys) of end users; a credential id is unique within a project.
      await db.schema
        .createTable('identity_passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('device_type', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema
        .createIndex('identity_passkeys_credential')
        .on('identity_passkeys')
        .columns(['project_id', 'credential_id'])
        .unique()
        .execute();
      await db.schema
        .createIndex('identity_passkeys_user')
        .on('identity_passkeys')
        .columns(['project_id', 'user_id'])
        .execute();
      // Server-side WebAuthn challenges: single use, short-lived, bound to a purpose, a project and (for
      // registration) a user. Kept as hashes, looked up by the hash of the challenge the client echoes.
      await db.schema
        .createTable('identity_webauthn_challenges')
        .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0015_email_codes': {
    async up(db: Kysely<unknown>) {
      // Emailed one-time codes and magic links: only keyed hashes of both, one live code per user and
      // purpose (a new code replaces the previous one).
      await db.schema
        .createTable('identity_email_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('link_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_email_codes_user')
        .on('identity_email_codes')
        .columns(['project_id', 'user_id', 'purpose'])
        .unique()
        .execute();
      await db.schema
        .createIndex('identity_email_codes_link')
        .on('identity_email_codes')
        .columns(['link_hash'])
        .unique()
        .execute();
      // One row per message sent, under a hash of the address or client IP: the send limits count them.
      await db.schema
        .createTable('identity_email_sends')
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('identity_email_sends_key')
        .on('identity_email_sends')
        .columns(['key_hash', 'sent_at'])
        .execute();
      // A second-factor challenge now also follows an emailed code, whose amr is not `pwd`.
      await db.schema
        .alterTable('identity_mfa_challenges')
        .addColumn('first_factor', 'text', (c) => c.notNull().defaultTo('pwd'))
        .execute();
    },
  },
  '0016_user_dids': {
    async up(db: Kysely<unknown>) {
      // DIDs linked to end users: a DID belongs to at most one user of a project.
      await db.schema
        .createTable('user_dids')
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('did', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_dids_pk', ['project_id', 'did'])
        .execute();
      await db.schema
        .createIndex('user_dids_user')
        .on('user_dids')
        .columns(['project_id', 'user_id', 'id'])
        .execute();
      await db.schema
        .createTable('user_did_challenges')
        .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('user_did_challenges_user')
        .on('user_did_challenges')
        .columns(['project_id', 'user_id'])
        .execute();
      // Users' wallets: each credential sealed, the metadata its listing shows in clear.
      await db.schema
        .createTable('user_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('types', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'text')
        .addColumn('valid_until', 'text')
        .addColumn('stored_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('user_credentials_user')
        .on('user_credentials')
        .columns(['project_id', 'user_id', 'id'])
        .execute();
    },
  },
  '0017_oidc_key_states': {
    async up(db: Kysely<unknown>) {
      // When each issuer key is published, starts signing and retires (modules/oidc/signing-keys.ts); the
      // keys themselves stay in the KeyStore's `keys` table.
      await db.schema
        .createTable('oidc_key_states')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('published_at', 'text', (c) => c.notNull())
        .addColumn('activates_at', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'text')
        .execute();
      await db.schema
        .createIndex('oidc_key_states_project')
        .on('oidc_key_states')
        .columns(['project_id', 'alg'])
        .execute();
      // The JWS algorithm of a client's ID tokens (EdDSA, ES256 or RS256); null keeps the issuer default.
      await db.schema.alterTable('oidc_clients').addColumn('id_token_signed_response_alg', 'text').execute();
    },
  },
  '0018_sign_in_history': {
    async up(db: Kysely<unknown>) {
      // Users' recent completed sign-ins, which adaptive MFA compares a new one with (see
      // modules/identity/sign-in-history.ts): keyed hashes of address and device, coarse GeoLite places.
      await db.schema
        .createTable('identity_sign_ins')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('address_hash', 'text', (c) => c.notNull())
        .addColumn('device_hash', 'text')
        .addColumn('country', 'text')
        .addColumn('latitude', 'double precision')
        .addColumn('longitude', 'double precision')
        .addColumn('accuracy_km', 'integer')
        .execute();
      await db.schema
        .createIndex('identity_sign_ins_user')
        .on('identity_sign_ins')
        .columns(['project_id', 'user_id', 'at'])
        .execute();
    },
  },
  '0020_email_fixes': {
    async up(db: Kysely<unknown>) {
      // Emailed codes: the address they were sent to (a code dies with an email change), the browser
      // that asked for a sign-in link (another browser must also enter the code), and the sealed code
      // and link (a repeated request re-sends the live code instead of replacing it).
      for (const column of ['email_hash', 'browser_hash', 'code_box']) {
        await db.schema.alterTable('identity_email_codes').addColumn(column, 'text').execute();
      }
    },
  },
  '0021_key_revocation': {
    async up(db: Kysely<unknown>) {
      // An immediate rotation revokes the keys it replaces (modules/oidc/signing-keys.ts): they leave the
      // JWKS and stop verifying at once, unlike a retirement.
      await db.schema.alterTable('oidc_key_states').addColumn('revoked_at', 'text').execute();
      // One row per project that has rotated its keys: the activation time of its pending staged rotation,
      // claimed with one conditional update so that concurrent staged rotations cannot both proceed.
      await db.schema
        .createTable('oidc_key_rotations')
        .addColumn('project_id', 'text', (c) => c.primaryKey())
        .addColumn('pending_until', 'text', (c) => c.notNull())
        .addColumn('claimed_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0022_ephemeral_attestations': {
    async up(db: Kysely<unknown>) {
      // Deletion attestations signed by ephemeral-store nodes, each also a ledger entry (modules/ephemeral).
      // The primary key makes a resubmission find the first submission's row (and ledger entry).
      await db.schema
        .createTable('ephemeral_attestations')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('key_commitment', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
        .addColumn('ledger_index', 'bigint')
        .addPrimaryKeyConstraint('ephemeral_attestations_pk', ['project_id', 'signature'])
        .execute();
      await db.schema
        .createIndex('ephemeral_attestations_commitment')
        .on('ephemeral_attestations')
        .columns(['project_id', 'key_commitment'])
        .execute();
    },
  },
  '0023_webhooks': {
    async up(db: Kysely<unknown>) {
      // Webhooks (modules/webhooks): endpoints, the transactional outbox of events, one delivery per event
      // and endpoint, and the log of attempts. Times named *_at are epoch ms except endpoints' ISO strings.
      await db.schema
        .createTable('webhook_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('signing', 'text', (c) => c.notNull())
        .addColumn('secret_box', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text')
        .addColumn('previous_secret_box', 'text')
        .addColumn('previous_expires_at', 'bigint')
        .addColumn('rate_limit', 'integer')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('failing_since', 'bigint')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_endpoints_project')
        .on('webhook_endpoints')
        .columns(['project_id', 'id'])
        .execute();

      await db.schema
        .createTable('webhook_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_events_created')
        .on('webhook_events')
        .column('created_at')
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt_count', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('throttles', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_attempt_at', 'bigint')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The head of each endpoint's queue (its oldest unfinished delivery) in one index seek; the partial
      // index holds unfinished deliveries only, so a long delivery history costs the worker nothing. The
      // worker's queries repeat this predicate literally, which both engines need to use the index.
      await db.schema
        .createIndex('webhook_deliveries_active')
        .on('webhook_deliveries')
        .columns(['endpoint_id', 'id'])
        .where(sql<boolean>`status in ('pending', 'delivering')`)
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_endpoint')
        .on('webhook_deliveries')
        .columns(['project_id', 'endpoint_id', 'id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_created')
        .on('webhook_deliveries')
        .column('created_at')
        .execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('next_attempt_at', 'bigint')
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'number'])
        .execute();
    },
  },
  '0024_kyc': {
    async up(db: Kysely<unknown>) {
      // Verification (KYC) sessions (modules/kyc). Documents are ciphertext in blob storage; their sealed data
      // keys live here and are deleted after the retention period (crypto-shredding).
      await db.schema
        .createTable('kyc_settings')
        .addColumn('project_id', 'text', (c) => c.primaryKey())
        .addColumn('issuer_id', 'text')
        .addColumn('credential_type', 'text', (c) => c.notNull())
        .addColumn('tx_code', 'integer', (c) => c.notNull())
        .addColumn('retention_seconds', 'bigint', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('session_ttl_seconds', 'bigint', (c) => c.notNull())
        .addColumn('routing_rules', 'text', (c) => c.notNull())
        .addColumn('public_key', bytes(db), (c) => c.notNull())
        .addColumn('sealed_secret_key', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('kyc_providers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text', (c) => c.notNull())
        .addColumn('sealed_secrets', 'text', (c) => c.notNull())
        .addColumn('secret_names', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('cost_cents', 'integer', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('max_retries', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('kyc_providers_project')
        .on('kyc_providers')
        .columns(['project_id', 'id'])
        .execute();
      await db.schema
        .createTable('kyc_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('reference', 'text')
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('client_token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('provider_id', 'text')
        .addColumn('provider_ref', 'text')
        .addColumn('last_event_at', 'bigint')
        .addColumn('result', 'text')
        .addColumn('sealed_raw_result', 'text')
        .addColumn('sealed_data_key', 'text')
        .addColumn('offer_id', 'text')
        .addColumn('offer_uri', 'text')
        .addColumn('sealed_offer', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', 'bigint')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('purge_at', 'bigint')
        .addColumn('purged_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('kyc_sessions_project_status')
        .on('kyc_sessions')
        .columns(['project_id', 'status', 'id'])
        .execute();
      await db.schema
        .createIndex('kyc_sessions_project')
        .on('kyc_sessions')
        .columns(['project_id', 'id'])
        .execute();
      await db.schema
        .createIndex('kyc_sessions_status')
        .on('kyc_sessions')
        .columns(['status', 'updated_at'])
        .execute();
      await db.schema.createIndex('kyc_sessions_expiry').on('kyc_sessions').columns(['expires_at']).execute();
      await db.schema.createIndex('kyc_sessions_purge').on('kyc_sessions').columns(['purge_at']).execute();
      await db.schema
        .createIndex('kyc_sessions_provider_ref')
        .on('kyc_sessions')
        .columns(['provider_id', 'provider_ref'])
        .execute();
      await db.schema
        .createTable('kyc_documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('sealed_key', bytes(db))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('kyc_documents_slot', ['session_id', 'attempt', 'kind'])
        .execute();
      await db.schema
        .createTable('kyc_transitions')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('from_status', 'text', (c) => c.notNull())
        .addColumn('to_status', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('provider_event', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kyc_transitions_pk', ['session_id', 'seq'])
        .execute();
      await db.schema
        .createTable('kyc_provider_calls')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('try', 'integer', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('error_kind', 'text')
        .addColumn('status', 'integer')
        .addColumn('message', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('kyc_provider_calls_pk', ['session_id', 'seq'])
        .execute();
      // Inbound provider webhooks: the primary key drops a repeated delivery; processed_at is null until applied.
      await db.schema
        .createTable('kyc_inbox')
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'bigint', (c) => c.notNull())
        .addColumn('sealed_event', 'text')
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('processed_at', 'bigint')
        .addColumn('outcome', 'text')
        .addPrimaryKeyConstraint('kyc_inbox_pk', ['provider_id', 'dedupe_key'])
        .execute();
      await db.schema
        .createIndex('kyc_inbox_pending')
        .on('kyc_inbox')
        .columns(['processed_at', 'received_at'])
        .execute();
    },
  },
  '0025_connectors': {
    async up(db: Kysely<unknown>) {
      // HTTP connectors (modules/connectors): their configuration as JSON, their secrets sealed under the master
      // key, and their last health check. Times are epoch milliseconds.
      await db.schema
        .createTable('connectors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('sealed_secrets', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('health_status', 'text', (c) => c.notNull())
        .addColumn('health_checked_at', 'bigint')
        .addColumn('health_status_code', 'integer')
        .addColumn('health_reason', 'text')
        .addColumn('health_failures', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('connectors_project')
        .on('connectors')
        .columns(['project_id', 'id'])
        .execute();
      // A bounded log of runs (no input values, no response bodies): the newest few hundred per connector.
      await db.schema
        .createTable('connector_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('success', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema
        .createIndex('connector_runs_connector')
        .on('connector_runs')
        .columns(['connector_id', 'id'])
        .execute();
      // Quota counters: one row per connector and UTC day (`d:2026-05-01`) or month (`m:2026-05`).
      await db.schema
        .createTable('connector_usage')
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('connector_usage_pk', ['connector_id', 'period'])
        .execute();
    },
  },
  '0026_oid4vci': {
    async up(db: Kysely<unknown>) {
      // OpenID4VCI pre-authorized offers (modules/oid4vci). Times are epoch seconds. Codes, tx_codes, access
      // tokens and used nonces are stored as hashes only; the offered claims are sealed (SecretBox).
      await db.schema
        .createTable('oid4vci_offers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('issuer_id', 'text', (c) => c.notNull())
        .addColumn('credential_type', 'text', (c) => c.notNull())
        .addColumn('configuration_ids', 'text', (c) => c.notNull())
        .addColumn('claims_box', 'text', (c) => c.notNull())
        .addColumn('subject_did', 'text')
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull().unique())
        .addColumn('tx_code_digest', 'text')
        .addColumn('tx_code_failures', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('redeemed_at', 'bigint')
        .addColumn('canceled_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('oid4vci_offers_reference')
        .on('oid4vci_offers')
        .columns(['project_id', 'reference'])
        .execute();
      await db.schema
        .createTable('oid4vci_access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('offer_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oid4vci_access_tokens_offer')
        .on('oid4vci_access_tokens')
        .column('offer_id')
        .execute();
      await db.schema
        .createIndex('oid4vci_access_tokens_expiry')
        .on('oid4vci_access_tokens')
        .column('expires_at')
        .execute();
      // c_nonces are stateless until used; a used one is kept (hashed) until it would have expired.
      await db.schema
        .createTable('oid4vci_used_nonces')
        .addColumn('nonce_hash', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oid4vci_used_nonces_expiry')
        .on('oid4vci_used_nonces')
        .column('expires_at')
        .execute();
      // One row per configuration of an offer once claimed for issuance; the hash finds its status entry.
      await db.schema
        .createTable('oid4vci_credentials')
        .addColumn('offer_id', 'text', (c) => c.notNull())
        .addColumn('configuration_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('issuer_id', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('credential_hash', 'text')
        .addColumn('revocable', 'integer', (c) => c.notNull())
        .addColumn('issued_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addPrimaryKeyConstraint('oid4vci_credentials_pk', ['offer_id', 'configuration_id'])
        .execute();
      await db.schema
        .createIndex('oid4vci_credentials_reference')
        .on('oid4vci_credentials')
        .columns(['project_id', 'reference'])
        .execute();
      // The configurations each project's issuer metadata lists: every (type, format) it has offered.
      await db.schema
        .createTable('oid4vci_configurations')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('credential_type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('oid4vci_configurations_pk', ['project_id', 'id'])
        .execute();
    },
  },
  '0027_vaults': {
    async up(db: Kysely<unknown>) {
      // Vaults (modules/vaults): the server keeps ciphertext, data keys sealed to members' public keys, the
      // signed manifest chain and public keys only. Times are epoch ms. Session tokens are stored as SHA-256,
      // the member's IP only as a keyed hash (with its country).
      await db.schema
        .createTable('vaults')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('template', 'text')
        .addColumn('manifest', 'text', (c) => c.notNull())
        .addColumn('manifest_sequence', 'bigint', (c) => c.notNull())
        .addColumn('manifest_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('shredded_at', 'bigint')
        .execute();
      await db.schema.createIndex('vaults_project').on('vaults').columns(['project_id', 'id']).execute();
      await db.schema
        .createTable('vault_manifests')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('sequence', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('manifest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_manifests_pk', ['vault_id', 'sequence'])
        .execute();
      // Every public key set a manifest of the vault ever named (signers and members, also removed ones),
      // so a client can verify the whole chain.
      await db.schema
        .createTable('vault_keys')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('public_keys', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_keys_pk', ['vault_id', 'key_id'])
        .execute();
      await db.schema
        .createTable('vault_members')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_members_pk', ['vault_id', 'subject'])
        .execute();
      // Live items: their current version (the manifest's), for listing with sizes.
      await db.schema
        .createTable('vault_items')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_items_pk', ['vault_id', 'item_id'])
        .execute();
      // A version's ciphertext is inline when small, else in the blob store under blob_key.
      await db.schema
        .createTable('vault_item_versions')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('ciphertext', bytes(db))
        .addColumn('blob_key', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_item_versions_pk', ['vault_id', 'item_id', 'version'])
        .execute();
      await db.schema
        .createTable('vault_sealed_keys')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('sealed_key', bytes(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_sealed_keys_pk', ['vault_id', 'item_id', 'version', 'key_id'])
        .execute();
      await db.schema
        .createTable('vault_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('ip_hash', 'text')
        .addColumn('country', 'text')
        .addColumn('fingerprint_hash', 'text')
        .addColumn('auth_methods', 'text', (c) => c.notNull())
        .addColumn('authenticated_at', 'bigint', (c) => c.notNull())
        .addColumn('proofs', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('vault_sessions_member')
        .on('vault_sessions')
        .columns(['vault_id', 'subject'])
        .execute();
      await db.schema
        .createIndex('vault_sessions_expiry')
        .on('vault_sessions')
        .column('expires_at')
        .execute();
      // Session proof nonces, kept until the proof's issuedAt leaves the accepted window.
      await db.schema
        .createTable('vault_session_nonces')
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_session_nonces_pk', ['vault_id', 'nonce'])
        .execute();
      await db.schema
        .createIndex('vault_session_nonces_expiry')
        .on('vault_session_nonces')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('vault_devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('fingerprint_hash', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('vault_devices_fingerprint', ['project_id', 'subject', 'fingerprint_hash'])
        .execute();
      // One row per access decision on a member route, with its ledger entry.
      await db.schema
        .createTable('vault_access_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('score', 'integer', (c) => c.notNull())
        .addColumn('ledger_seq', 'bigint', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('vault_access_log_vault')
        .on('vault_access_log')
        .columns(['vault_id', 'id'])
        .execute();
    },
  },
  '0028_vault_recovery': {
    async up(db: Kysely<unknown>) {
      // Guardian recovery and guardian access approvals (modules/vaults/recovery-*, approvals-*). The server
      // relays shares sealed to guardians and re-sealed to a requester's ephemeral key; it never holds an
      // opened share. Times are epoch ms.
      // One setup per vault (a new one replaces it); its shares are envelopes sealed to each guardian.
      await db.schema
        .createTable('vault_recovery_setups')
        .addColumn('vault_id', 'text', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('vault_recovery_guardians')
        .addColumn('setup_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('public_keys', 'text', (c) => c.notNull())
        .addColumn('sealed_share', bytes(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_recovery_guardians_pk', ['setup_id', 'subject'])
        .execute();
      // `open_vault_id` is the vault id while the request is pending or ready and null once it ends: its
      // unique constraint keeps one open request per vault on every engine (NULLs never collide).
      await db.schema
        .createTable('vault_recovery_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('setup_id', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('ephemeral_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('open_vault_id', 'text', (c) => c.unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('vault_recovery_requests_vault')
        .on('vault_recovery_requests')
        .columns(['vault_id', 'id'])
        .execute();
      // A guardian's release of its share: re-sealed to the request's ephemeral key (null once the request
      // ended), with the guardian's hybrid signature over it.
      await db.schema
        .createTable('vault_recovery_approvals')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('guardian', 'text', (c) => c.notNull())
        .addColumn('resealed_share', bytes(db))
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_recovery_approvals_pk', ['request_id', 'guardian'])
        .execute();
      // A denied access that guardians may let through: one per (vault, subject, action) while pending.
      await db.schema
        .createTable('vault_access_approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('setup_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('approved_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('vault_access_approvals_request')
        .on('vault_access_approvals')
        .columns(['vault_id', 'subject', 'action'])
        .execute();
      await db.schema
        .createTable('vault_access_approval_votes')
        .addColumn('approval_id', 'text', (c) => c.notNull())
        .addColumn('guardian', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_access_approval_votes_pk', ['approval_id', 'guardian'])
        .execute();
    },
  },
  '0029_recorded_ledger_index': {
    async up(db: Kysely<unknown>) {
      // Rows written in the very transaction that appends their ledger entry (LedgerService.appendRecorded)
      // hold the entry's index and were never queued: ledger_seq becomes optional, ledger_index is new.
      for (const table of ['audit_events', 'vault_access_log']) {
        await db.schema.alterTable(table).addColumn('ledger_index', 'bigint').execute();
        if (db.getExecutor().adapter instanceof PostgresAdapter) {
          await db.schema
            .alterTable(table)
            .alterColumn('ledger_seq', (column) => column.dropNotNull())
            .execute();
        } else {
          await dropNotNullOnSqlite(db, table, 'ledger_seq');
        }
      }
    },
  },
  '0030_oidc_sparse_indexes': {
    async up(db: Kysely<unknown>) {
      // Few provider records carry a grant id (tokens, codes), a uid (sessions) or a user code (device
      // codes), yet every record had an entry in all three indexes. Partial indexes hold only the records
      // that have the value: a write changes fewer pages (a sign-in's relaxed writes about a third fewer
      // WAL pages), and a lookup by the value still searches them (`column = ?` implies not null).
      for (const column of ['grant_id', 'user_code', 'uid']) {
        await db.schema.dropIndex(`oidc_payloads_${column}`).execute();
        await db.schema
          .createIndex(`oidc_payloads_${column}`)
          .on('oidc_payloads')
          .columns(['project_id', 'model', column])
          .where(sql.ref(column), 'is not', null)
          .execute();
      }
    },
  },
  '0031_kyc_sparse_indexes': {
    async up(db: Kysely<unknown>) {
      // The expiry sweep searched kyc_sessions_status (status = ?) and so read every session still
      // awaiting its upload, expired or not (9 ms a pass with 50,000 of them). This index holds only the
      // sessions that can expire, by status then expiry: the sweep reads the expired ones alone (the query
      // repeats the condition with the same literals, which a planner needs to use a partial index).
      await db.schema.dropIndex('kyc_sessions_expiry').execute();
      await db.schema
        .createIndex('kyc_sessions_expiry')
        .on('kyc_sessions')
        .columns(['status', 'expires_at'])
        .where(sql<SqlBool>`${sql.ref('status')} in ('created', 'awaiting_input', 'resubmission_requested')`)
        .execute();
      // Only decided sessions have a purge date, and only until their purge; only sessions at a provider
      // have its reference. The indexes hold those (`purge_at <= ?` and `provider_ref = ?` imply not
      // null), so creating a session writes two index entries fewer.
      await db.schema.dropIndex('kyc_sessions_purge').execute();
      await db.schema
        .createIndex('kyc_sessions_purge')
        .on('kyc_sessions')
        .columns(['purge_at'])
        .where(sql<SqlBool>`${sql.ref('purge_at')} is not null and ${sql.ref('purged_at')} is null`)
        .execute();
      await db.schema.dropIndex('kyc_sessions_provider_ref').execute();
      await db.schema
        .createIndex('kyc_sessions_provider_ref')
        .on('kyc_sessions')
        .columns(['provider_id', 'provider_ref'])
        .where(sql.ref('provider_ref'), 'is not', null)
        .execute();
    },
  },
};

/**
 * SQLite cannot change a column's constraints: the table is rebuilt from its own definition without
 * `not null` on `column`, its rows copied, and its indexes created again (inside the migration's
 * transaction, so a failure leaves the table as it was).
 */
async function dropNotNullOnSqlite(db: Kysely<unknown>, table: string, column: string): Promise<void> {
  const { rows } = await sql<{ type: string; sql: string | null }>`
    select type, sql from sqlite_master where tbl_name = ${table}`.execute(db);
  const definition = rows.find((row) => row.type === 'table')?.sql ?? '';
  const constrained = `"${column}" bigint not null`;
  if (!definition.includes(constrained)) {
    throw new Error(`${table}.${column} is not defined as ${constrained}: ${definition}`);
  }
  const rebuilt = `${table}_rebuilt`;
  await sql
    .raw(definition.replace(`"${table}"`, `"${rebuilt}"`).replace(constrained, `"${column}" bigint`))
    .execute(db);
  await sql`insert into ${sql.table(rebuilt)} select * from ${sql.table(table)}`.execute(db);
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(rebuilt).renameTo(table).execute();
  for (const index of rows.filter((row) => row.type === 'index' && row.sql !== null)) {
    await sql.raw(index.sql as string).execute(db);
  }
}

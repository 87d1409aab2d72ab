import type { OidcClientsTable } from '../../store/schema.js';
import { FIRST_PARTY_METADATA } from './first-party-grant.js';
import { epochNow, type OidcPayload, type OidcPayloadRepo } from './payload-repo.js';

/** oidc-provider's adapter contract, one instance per model. */
export interface ProviderAdapter {
  upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/**
 * How long a just-rotated refresh token is still accepted. Two tabs (or a retry after a lost response)
 * refreshing with the same token within this window each get a fresh token of the same grant instead of
 * tripping reuse detection, which would revoke the grant and sign the user out everywhere. Past it, a
 * consumed token presented again is treated as stolen: the provider revokes the whole grant.
 */
export const REFRESH_REUSE_GRACE_SECONDS = 20;

/** A stored record as the provider is shown it (also read this way by introspection-fast.ts). */
export function visiblePayload(model: string, payload: OidcPayload): OidcPayload {
  if (
    model === 'RefreshToken' &&
    payload.consumed !== undefined &&
    epochNow() - payload.consumed <= REFRESH_REUSE_GRACE_SECONDS
  ) {
    // Within the grace window the provider sees an unconsumed token and rotates it once more.
    delete payload.consumed;
  }
  return payload;
}

/**
 * The adapter class of one project's provider: every record is stored under that project, so two
 * issuers never see each other's tokens. Clients come from the `oidc_clients` table (read-only here:
 * they are managed through the admin API, not dynamic registration).
 */
export function projectAdapter(
  projectId: string,
  payloads: OidcPayloadRepo,
  findClient: (projectId: string, clientId: string) => Promise<OidcClientsTable | undefined>,
  knownScopes: ReadonlySet<string>,
): new (
  model: string,
) => ProviderAdapter {
  return class ProjectAdapter implements ProviderAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void> {
      await payloads.upsert(projectId, this.model, id, payload, expiresIn);
    }

    async find(id: string): Promise<OidcPayload | undefined> {
      if (this.model === 'Client') {
        const row = await findClient(projectId, id);
        return row && clientMetadata(row, knownScopes);
      }
      const payload = await payloads.find(projectId, this.model, id);
      return payload && visiblePayload(this.model, payload);
    }

    findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
      return payloads.findByUserCode(projectId, this.model, userCode);
    }

    findByUid(uid: string): Promise<OidcPayload | undefined> {
      return payloads.findByUid(projectId, this.model, uid);
    }

    consume(id: string): Promise<void> {
      return payloads.consume(projectId, this.model, id);
    }

    destroy(id: string): Promise<void> {
      return payloads.destroy(projectId, this.model, id);
    }

    revokeByGrantId(grantId: string): Promise<void> {
      return payloads.revokeByGrantId(projectId, this.model, grantId);
    }
  };
}

/**
 * The client as the provider reads it. `client_secret` holds the SHA-256 of the secret: the provider's
 * secret comparison is replaced to hash what the client presents (see provider.ts), which is why only
 * secret-based methods that send the secret itself (basic, post) are offered, never client_secret_jwt.
 */
function clientMetadata(row: OidcClientsTable, knownScopes: ReadonlySet<string>): OidcPayload {
  const scopes = (JSON.parse(row.scopes) as string[]).filter((scope) => knownScopes.has(scope));
  const grantTypes = JSON.parse(row.grant_types) as string[];
  return {
    client_id: row.id,
    client_name: row.name,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    post_logout_redirect_uris: JSON.parse(row.post_logout_redirect_uris) as string[],
    ...(row.public_client === 1
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: row.secret_hash, token_endpoint_auth_method: 'client_secret_basic' }),
    ...(scopes.length > 0 && { scope: scopes.join(' ') }),
    ...(row.id_token_signed_response_alg && {
      id_token_signed_response_alg: row.id_token_signed_response_alg,
    }),
    [FIRST_PARTY_METADATA]: row.skip_consent === 1,
  };
}

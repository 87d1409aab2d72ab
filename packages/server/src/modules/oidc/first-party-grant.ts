import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

/**
 * The client metadata property that marks a first-party client (`skipConsent`). The provider keeps extra
 * metadata under its own name on its client instances (it camel-cases only the standard properties).
 */
export const FIRST_PARTY_METADATA = 'persona_first_party';

/** What a first-party client was granted without a consent page, for the audit trail. */
export interface FirstPartyConsent {
  accountId: string;
  clientId: string;
  grantId: string;
  scopes: string[];
}

type GrantContext = KoaContextWithOIDC & {
  oidc: {
    account: { accountId: string };
    client: { clientId: string; [FIRST_PARTY_METADATA]?: boolean };
    session: { grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    provider: {
      Grant: {
        new (init: { accountId: string; clientId: string }): Grant;
        find(id: string): Promise<Grant | undefined>;
      };
    };
    requestParamOIDCScopes: Set<string>;
    requestParamClaims: Set<string>;
    requestParamScopes: Set<string>;
    resourceServers: Record<string, { scopes: Set<string> }>;
  };
};

/** Claims every ID token carries whatever the grant: the consent prompt never asks for them. */
const ALWAYS_RELEASED = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

/**
 * The provider's `loadExistingGrant`: the grant the request is checked against before the consent
 * prompt. As the provider's default, the grant of the interaction's consent or the session's grant for
 * the client. A first-party client is never shown a consent page, so what its request asks beyond that
 * grant is added here, by the same rules the consent prompt's checks use (OIDC scopes, claims and the
 * scopes of each requested resource server), and the prompt finds nothing missing. Without this the
 * provider would open a consent interaction that the consent route approves unseen: two more requests
 * and an interaction record written and deleted on every sign-in.
 */
export async function loadExistingGrant(
  context: KoaContextWithOIDC,
  recordConsent: (consent: FirstPartyConsent) => Promise<void>,
): Promise<Grant | undefined> {
  const { oidc } = context as GrantContext;
  const { clientId } = oidc.client;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (oidc.client[FIRST_PARTY_METADATA] !== true) return existing;

  const { accountId } = oidc.account;
  const grant = existing ?? new oidc.provider.Grant({ accountId, clientId });
  const added = addMissing(oidc, grant);
  if (!added.changed && existing) return existing;
  const savedId = await grant.save();
  await recordConsent({ accountId, clientId, grantId: savedId, scopes: added.scopes });
  return grant;
}

/** Adds to `grant` what the request asks and it lacks: whether it changed, and the scopes added. */
function addMissing(oidc: GrantContext['oidc'], grant: Grant): { changed: boolean; scopes: string[] } {
  const scopes = new Set<string>();
  const grantedScopes = new Set(grant.getOIDCScopeEncountered().split(' '));
  const missingScopes = [...oidc.requestParamOIDCScopes].filter((scope) => !grantedScopes.has(scope));
  if (missingScopes.length > 0) grant.addOIDCScope(missingScopes.join(' '));
  for (const scope of missingScopes) scopes.add(scope);

  const grantedClaims = new Set(grant.getOIDCClaimsEncountered());
  const missingClaims = [...oidc.requestParamClaims].filter(
    (claim) => !grantedClaims.has(claim) && !ALWAYS_RELEASED.has(claim),
  );
  if (missingClaims.length > 0) grant.addOIDCClaims(missingClaims);

  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers)) {
    const granted = new Set(grant.getResourceScopeEncountered(indicator).split(' '));
    const missing = [...oidc.requestParamScopes].filter(
      (scope) => resourceServer.scopes.has(scope) && !granted.has(scope),
    );
    if (missing.length > 0) grant.addResourceScope(indicator, missing.join(' '));
    for (const scope of missing) scopes.add(scope);
  }
  return { changed: scopes.size > 0 || missingClaims.length > 0, scopes: [...scopes] };
}

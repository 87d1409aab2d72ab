import type { AuthorizationServerMetadata } from '@openid4vc/oauth2';
import { preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import type { CredentialIssuerMetadata, CredentialOfferObject } from '@openid4vc/openid4vci';
import { CREDENTIALS_V2_CONTEXT } from '@personachain/credentials';
import { PROOF_ALGS } from './proof.js';

/** The two credential formats offered: a bbs-2023 W3C VC, and an SD-JWT VC. */
export type OfferedFormat = 'ldp_vc' | 'dc+sd-jwt';

/** A credential configuration of a project's credential issuer: a credential type in one format. */
export interface Configuration {
  id: string;
  format: OfferedFormat;
  credentialType: string;
}

const SUFFIX: Record<OfferedFormat, string> = { ldp_vc: '_bbs', 'dc+sd-jwt': '_sd_jwt' };

/**
 * The `@context` of issued W3C credentials. Offers carry arbitrary flat claims, which no published
 * vocabulary defines: VCDM 2.0 §5.2 has issuers use the W3C undefined-terms context for such terms (JSON-LD
 * would otherwise drop them, and Data Integrity refuses to sign a dropped term). Both contexts are
 * bundled by every Data Integrity implementation, so verifiers need to fetch nothing of ours.
 */
export const CREDENTIAL_CONTEXTS = [
  CREDENTIALS_V2_CONTEXT,
  'https://www.w3.org/ns/credentials/undefined-terms/v2',
] as const;

export function configurationId(credentialType: string, format: OfferedFormat): string {
  return `${credentialType}${SUFFIX[format]}`;
}

/** Where a project's credential issuer lives: its identifier and its endpoints. */
export class IssuerUrls {
  constructor(private readonly publicUrl: string) {}

  /** The credential issuer identifier, which is also its authorization server's issuer. */
  issuer(projectId: string): string {
    return `${this.publicUrl}/oid4vci/${projectId}`;
  }

  offer(projectId: string, offerId: string): string {
    return `${this.issuer(projectId)}/offers/${offerId}`;
  }

  /** The SD-JWT VC `vct` of a credential type: a URL under the issuer that serves its type metadata. */
  vct(projectId: string, credentialType: string): string {
    return `${this.issuer(projectId)}/types/${credentialType}`;
  }

  /** `openid-credential-offer://?credential_offer_uri=…`, for a QR code or a same-device link. */
  offerLink(projectId: string, offerId: string): string {
    return `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(this.offer(projectId, offerId))}`;
  }
}

/** "IdentityVerificationCredential" → "Identity Verification Credential", for wallets to display. */
export function displayName(credentialType: string): string {
  return credentialType.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
}

/**
 * The Credential Issuer Metadata (OpenID4VCI 1.0 §12.2). The issuer is its own authorization server (no
 * `authorization_servers`: wallets then read the AS metadata from the issuer identifier). Every
 * configuration binds to the holder key of a `jwt` proof: ldp_vc needs a DID (the credentialSubject.id),
 * dc+sd-jwt takes a DID key or a bare JWK (cnf.jwk).
 */
export function issuerMetadata(
  urls: IssuerUrls,
  projectId: string,
  configurations: readonly Configuration[],
  options: { projectName: string | null; didMethods: readonly string[] },
): CredentialIssuerMetadata & { nonce_endpoint: string } {
  const issuer = urls.issuer(projectId);
  const dids = options.didMethods.map((method) => `did:${method}`);
  const proofTypes = { jwt: { proof_signing_alg_values_supported: [...PROOF_ALGS] } };
  const supported: CredentialIssuerMetadata['credential_configurations_supported'] = {};
  for (const { id, format, credentialType } of configurations) {
    const credentialMetadata = { display: [{ name: displayName(credentialType), locale: 'en' }] };
    supported[id] =
      format === 'ldp_vc'
        ? {
            format,
            cryptographic_binding_methods_supported: dids,
            credential_signing_alg_values_supported: ['bbs-2023'],
            proof_types_supported: proofTypes,
            credential_definition: {
              '@context': [...CREDENTIAL_CONTEXTS],
              type: ['VerifiableCredential', credentialType],
            },
            credential_metadata: credentialMetadata,
          }
        : {
            format,
            vct: urls.vct(projectId, credentialType),
            cryptographic_binding_methods_supported: ['jwk', ...dids],
            credential_signing_alg_values_supported: ['EdDSA', 'ES256', 'ES384', 'ES512'],
            proof_types_supported: proofTypes,
            credential_metadata: credentialMetadata,
          };
  }
  return {
    credential_issuer: issuer,
    credential_endpoint: `${issuer}/credential`,
    nonce_endpoint: `${issuer}/nonce`,
    ...(options.projectName ? { display: [{ name: options.projectName, locale: 'en' }] } : {}),
    credential_configurations_supported: supported,
  };
}

/** RFC 8414 metadata of the issuer's authorization server: pre-authorized codes only, no client auth. */
export function authorizationServerMetadata(
  urls: IssuerUrls,
  projectId: string,
): AuthorizationServerMetadata & {
  grant_types_supported: string[];
  'pre-authorized_grant_anonymous_access_supported': boolean;
} {
  const issuer = urls.issuer(projectId);
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    grant_types_supported: [preAuthorizedCodeGrantIdentifier],
    token_endpoint_auth_methods_supported: ['none'],
    'pre-authorized_grant_anonymous_access_supported': true,
  };
}

/** A Credential Offer (OpenID4VCI 1.0 §4.1.1) with the pre-authorized code grant. */
export function credentialOffer(
  urls: IssuerUrls,
  projectId: string,
  offer: { configurationIds: readonly string[]; preAuthorizedCode: string; txCode: boolean },
): CredentialOfferObject & { grants: Record<string, unknown> } {
  return {
    credential_issuer: urls.issuer(projectId),
    credential_configuration_ids: [...offer.configurationIds],
    grants: {
      [preAuthorizedCodeGrantIdentifier]: {
        'pre-authorized_code': offer.preAuthorizedCode,
        ...(offer.txCode
          ? {
              tx_code: {
                input_mode: 'numeric',
                length: 6,
                description: 'Enter the 6-digit code you were given with this offer.',
              },
            }
          : {}),
      },
    },
  };
}

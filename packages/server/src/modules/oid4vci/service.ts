import { randomUUID } from 'node:crypto';
import type { AccessTokenResponse } from '@openid4vc/oauth2';
import { preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import type { CredentialResponse, NonceResponse } from '@openid4vc/openid4vci';
import { DID_LD_JSON, didKeyResolver, isDid } from '@personachain/credentials';
import type { Kysely } from 'kysely';
import { invalidField, Problem } from '../../http/problem.js';
import { isId, newId } from '../../ids.js';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import { sdJwtKey } from '../credentials/sd-jwt-issuance.js';
import type { CredentialsService } from '../credentials/service.js';
import type { DidService } from '../dids/service.js';
import { SecretBox } from '../identity/secret-box.js';
import type { IssuerRecord, IssuersService } from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { StatusService } from '../status/service.js';
import type { TenancyService } from '../tenancy/service.js';
import {
  authorizationServerMetadata,
  type Configuration,
  CREDENTIAL_CONTEXTS,
  configurationId,
  credentialOffer,
  displayName,
  IssuerUrls,
  issuerMetadata,
  type OfferedFormat,
} from './metadata.js';
import { NonceCodec } from './nonces.js';
import { OAuthError, Oauth2ErrorCodes } from './oauth-error.js';
import { type ProofKey, verifyProof } from './proof.js';
import { type OfferRow, Oid4vciRepo } from './repo.js';
import { newTxCode, OfferSecrets, randomSecret, sameDigest, secretHash } from './secrets.js';

/** A flat claim of an offered credential. */
export type ClaimValue = string | number | boolean;

export interface OfferInput {
  projectId: string;
  /** A project issuer: bbs-2023 among its suites offers `<Type>_bbs`, a JWS key `<Type>_sd_jwt`. */
  issuerId: string;
  credentialType: string;
  /** Flat and minimal (ageOver18, documentCountry, …): no raw personal data. */
  claims: Record<string, ClaimValue>;
  /** When set, only a proof signed with a key of this DID gets the credential. */
  subjectDid: string | null;
  /** What the offer is for (e.g. a verification session id), to cancel and revoke by later. */
  reference: string;
  /** How long the pre-authorized code can be redeemed; default 86 400. */
  ttlSeconds?: number | undefined;
  /** Default true: a 6-digit tx_code the wallet must send with the code, returned once here. */
  txCode?: boolean | undefined;
  /** Who made the offer, for the audit entry (an API key id); default the reference. */
  actor?: string | undefined;
}

export interface CreatedOffer {
  offerId: string;
  /** GET answers the offer JSON until the code is redeemed, the offer expires or is canceled. */
  credentialOfferUri: string;
  /** `openid-credential-offer://?credential_offer_uri=…`, for a QR code or a same-device link. */
  offerLink: string;
  /** Shown once: give it to the holder through another channel than the offer link. */
  txCode: string | null;
  expiresAt: string;
  credentialConfigurationIds: string[];
}

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export const DEFAULT_OFFER_TTL_SECONDS = 86_400;
export const MAX_OFFER_TTL_SECONDS = 30 * 86_400;
/** Lifetime of an access token: enough to fetch a nonce and every credential of the offer. */
export const ACCESS_TOKEN_TTL_SECONDS = 600;
/** Wrong tx_codes after which the offer is canceled (6 digits: 5 guesses succeed with p = 5e-6). */
export const MAX_TX_CODE_FAILURES = 5;
/** How long issued credentials are valid (`validUntil`, `exp`). */
export const CREDENTIAL_VALIDITY_SECONDS = 365 * 86_400;
export const MAX_CLAIMS = 32;
export const MAX_CLAIM_STRING_LENGTH = 256;

/** A cancellation reason as audited (a code, e.g. `provider_reversal`): anything else is recorded as `revoked`. */
export const REASON_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;
export const CREDENTIAL_TYPE_PATTERN = /^[A-Z][A-Za-z0-9]{2,63}$/;
export const CLAIM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** Names the credential formats use themselves; a claim may not take them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'id',
  'type',
  'iss',
  'sub',
  'aud',
  'vct',
  'cnf',
  'iat',
  'exp',
  'nbf',
  'jti',
  'status',
]);

export interface Oid4vciDependencies {
  repo: Oid4vciRepo;
  issuers: IssuersService;
  credentials: CredentialsService;
  status: StatusService;
  dids: DidService;
  tenancy: TenancyService;
  audit: AuditService;
  masterKey: Uint8Array;
  publicUrl: string;
  now?: () => Date;
}

/**
 * OpenID4VCI 1.0 issuance with pre-authorized codes, one credential issuer per project at
 * `{publicUrl}/oid4vci/{projectId}`. A project (or the KYC module on approval) creates an offer for flat
 * claims with one of its issuers; a wallet redeems the code (and tx_code) for an access token, gets a
 * c_nonce, proves possession of its key and receives a bbs-2023 credential bound to its DID and/or an
 * SD-JWT VC bound to its key. Codes, tx_codes, access tokens and used nonces are stored only hashed.
 */
export class Oid4vciService {
  readonly urls: IssuerUrls;
  private readonly repo: Oid4vciRepo;
  private readonly secrets: OfferSecrets;
  private readonly nonces: NonceCodec;
  private readonly claimsBox: SecretBox;
  private readonly now: () => Date;
  private readonly resolveDidKey: (didUrl: string) => ReturnType<ReturnType<typeof didKeyResolver>>;

  constructor(private readonly deps: Oid4vciDependencies) {
    this.repo = deps.repo;
    this.urls = new IssuerUrls(deps.publicUrl);
    this.secrets = new OfferSecrets(deps.masterKey);
    this.nonces = new NonceCodec(deps.masterKey);
    this.claimsBox = new SecretBox(deps.masterKey, 'oid4vci offer claims');
    this.now = deps.now ?? (() => new Date());
    // Proof keys are the holder's authentication keys.
    const resolve = didKeyResolver((did) => deps.dids.resolve(did, DID_LD_JSON), 'authentication');
    this.resolveDidKey = (didUrl) => resolve(didUrl, didUrl.slice(0, didUrl.indexOf('#')));
  }

  // ---- offers (the project's side) ----

  /**
   * Creates an offer inside the caller's transaction `trx`, with its audit entry (call
   * `audit.committed()` once it commits). The tx_code is in the answer only.
   */
  createOffer(trx: Kysely<Database>, input: OfferInput): Promise<CreatedOffer> {
    return this.insertOffer(trx, newId('cof'), input);
  }

  private async insertOffer(trx: Kysely<Database>, id: string, input: OfferInput): Promise<CreatedOffer> {
    checkOffer(input);
    const issuer = await this.deps.issuers.projectIssuer(trx, input.projectId, input.issuerId);
    if (!issuer) throw new Problem('not-found', `No issuer ${input.issuerId} in project ${input.projectId}.`);
    const configurations = offeredConfigurations(issuer, input.credentialType);
    const now = this.seconds();
    const expiresAt = now + (input.ttlSeconds ?? DEFAULT_OFFER_TTL_SECONDS);
    const txCode = input.txCode === false ? null : newTxCode();
    const claims = new TextEncoder().encode(JSON.stringify(input.claims));
    const offer: OfferRow = {
      id,
      projectId: input.projectId,
      issuerId: issuer.id,
      credentialType: input.credentialType,
      configurationIds: configurations.map((configuration) => configuration.id),
      claimsBox: await this.claimsBox.seal(claims, id),
      subjectDid: input.subjectDid,
      reference: input.reference,
      txCodeDigest: txCode === null ? null : this.secrets.txCodeDigest(id, txCode),
      txCodeFailures: 0,
      state: 'offered',
      createdAt: now,
      expiresAt,
    };
    const repo = new Oid4vciRepo(trx);
    await repo.insertOffer(offer, secretHash(this.secrets.preAuthorizedCode(id)));
    await repo.addConfigurations(input.projectId, configurations, now);
    await this.deps.audit.record(trx, {
      type: 'credential_offer.created',
      orgId: null,
      projectId: input.projectId,
      actor: input.actor ?? input.reference,
      subject: id,
      // The reference may be a caller's free text: the public log gets its hash only.
      details: {
        issuerId: issuer.id,
        referenceHash: secretHash(input.reference),
        configurationIds: offer.configurationIds,
        txCode: txCode !== null,
        expiresAt,
      },
    });
    return {
      offerId: id,
      credentialOfferUri: this.urls.offer(input.projectId, id),
      offerLink: this.urls.offerLink(input.projectId, id),
      txCode,
      expiresAt: isoSeconds(expiresAt),
      credentialConfigurationIds: offer.configurationIds,
    };
  }

  /** `POST /v1/projects/{projectId}/credential-offers`: an offer of arbitrary flat claims (credentials:issue). */
  async createOfferFor(
    principal: Principal,
    projectId: string,
    input: Omit<OfferInput, 'projectId' | 'actor' | 'reference' | 'subjectDid'> & {
      reference?: string | undefined;
      subjectDid?: string | null | undefined;
    },
  ): Promise<CreatedOffer> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'credentials:issue');
    const id = newId('cof');
    const created = await this.repo.transaction((repo) =>
      this.insertOffer(repo.db, id, {
        ...input,
        projectId: project.id,
        subjectDid: input.subjectDid ?? null,
        reference: input.reference ?? id,
        actor: principal.keyId,
      }),
    );
    this.deps.audit.committed();
    return created;
  }

  /** Cancels an offer: its code and access tokens stop working; issued credentials stay valid. */
  async cancelOffer(principal: Principal, projectId: string, offerId: string): Promise<void> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'credentials:issue');
    const offer = isId('cof', offerId) ? await this.repo.offer(project.id, offerId) : undefined;
    if (!offer) throw new Problem('not-found', `No credential offer ${offerId}.`);
    await this.cancel(project.id, { offerId }, principal.keyId, 'canceled');
  }

  /** `POST /v1/projects/{projectId}/credential-offers/revocations` (credentials:status). */
  async revokeReferenceFor(
    principal: Principal,
    projectId: string,
    input: { reference: string; reason?: string | undefined },
  ): Promise<{ offersCanceled: number; credentialsRevoked: number }> {
    const project = await this.deps.tenancy.authorizeProject(principal, projectId, 'credentials:status');
    return this.revokeByReference(project.id, input.reference, input.reason ?? 'revoked', principal.keyId);
  }

  /**
   * Cancels the reference's offers that are not canceled yet (their codes and access tokens stop working)
   * and revokes every credential issued for it that has a revocation entry (reversal). Audited with
   * `actor`, by default the reference.
   */
  async revokeByReference(
    projectId: string,
    reference: string,
    reason: string,
    actor: string = reference,
  ): Promise<{ offersCanceled: number; credentialsRevoked: number }> {
    const offersCanceled = await this.cancel(projectId, { reference }, actor, reason);
    let credentialsRevoked = 0;
    for (const issued of await this.repo.issuedFor(projectId, reference)) {
      // SD-JWT VCs carry no status reference: they end at `exp` (see docs/oid4vci.md).
      if (!issued.revocable || issued.credentialHash === null) continue;
      if (await this.revoke(issued.issuerId, issued.credentialHash, actor)) {
        await this.repo.markRevoked(issued.offerId, issued.configurationId, this.seconds());
        credentialsRevoked += 1;
      }
    }
    return { offersCanceled, credentialsRevoked };
  }

  /** Deletes used nonces and access tokens past their expiry. */
  purgeExpired(): Promise<void> {
    return this.repo.purgeExpired(this.seconds());
  }

  // ---- the wallet's side (public) ----

  /** The Credential Issuer Metadata; undefined when the project has never offered a credential. */
  async issuerMetadata(projectId: string): Promise<ReturnType<typeof issuerMetadata> | undefined> {
    const configurations = await this.liveConfigurations(projectId);
    if (!configurations) return undefined;
    return issuerMetadata(this.urls, projectId, configurations, {
      projectName: await this.deps.tenancy.projectName(projectId),
      didMethods: this.deps.dids.methods,
    });
  }

  async authorizationServerMetadata(
    projectId: string,
  ): Promise<ReturnType<typeof authorizationServerMetadata> | undefined> {
    return (await this.liveConfigurations(projectId))
      ? authorizationServerMetadata(this.urls, projectId)
      : undefined;
  }

  /** SD-JWT VC Type Metadata of a `vct` this issuer uses (draft-ietf-oauth-sd-jwt-vc §6). */
  async typeMetadata(
    projectId: string,
    credentialType: string,
  ): Promise<{ vct: string; name: string; display: Array<{ lang: string; name: string }> } | undefined> {
    const configurations = await this.liveConfigurations(projectId);
    const known = configurations?.some(
      (configuration) =>
        configuration.format === 'dc+sd-jwt' && configuration.credentialType === credentialType,
    );
    if (!known) return undefined;
    const name = displayName(credentialType);
    return { vct: this.urls.vct(projectId, credentialType), name, display: [{ lang: 'en', name }] };
  }

  /** The offer JSON behind `credential_offer_uri`, while its code can still be redeemed. */
  async offer(projectId: string, offerId: string): Promise<ReturnType<typeof credentialOffer> | undefined> {
    const offer = isId('cof', offerId) ? await this.repo.offer(projectId, offerId) : undefined;
    if (!redeemable(offer, this.seconds())) return undefined;
    if (!(await this.deps.tenancy.projectExists(projectId))) return undefined;
    return credentialOffer(this.urls, projectId, {
      configurationIds: offer.configurationIds,
      preAuthorizedCode: this.secrets.preAuthorizedCode(offer.id),
      txCode: offer.txCodeDigest !== null,
    });
  }

  /** The token endpoint (RFC 6749 §4.1.3 with the pre-authorized code grant of OpenID4VCI §6.1). */
  async token(projectId: string, params: Record<string, string>): Promise<TokenAnswer> {
    const grantType = params.grant_type;
    if (grantType === undefined) throw oauth(Oauth2ErrorCodes.InvalidRequest, 'grant_type is required');
    if (grantType !== preAuthorizedCodeGrantIdentifier) {
      throw oauth(
        Oauth2ErrorCodes.UnsupportedGrantType,
        `only ${preAuthorizedCodeGrantIdentifier} is supported`,
      );
    }
    const code = params['pre-authorized_code'];
    if (!code) throw oauth(Oauth2ErrorCodes.InvalidRequest, 'pre-authorized_code is required');
    const now = this.seconds();
    const offer = isId('prj', projectId)
      ? await this.repo.offerByCode(projectId, secretHash(code))
      : undefined;
    if (!redeemable(offer, now) || !(await this.deps.tenancy.projectExists(projectId))) {
      throw oauth(
        Oauth2ErrorCodes.InvalidGrant,
        'the pre-authorized code is invalid, expired or already used',
      );
    }
    await this.checkTxCode(offer, params.tx_code);
    const accessToken = randomSecret();
    const redeemed = await this.repo.transaction(async (repo) => {
      if (!(await repo.redeem(offer.id, now))) return false;
      await repo.insertToken({
        tokenHash: secretHash(accessToken),
        projectId,
        offerId: offer.id,
        createdAt: now,
        expiresAt: now + ACCESS_TOKEN_TTL_SECONDS,
      });
      await this.deps.audit.record(repo.db, {
        type: 'credential_offer.redeemed',
        orgId: null,
        projectId,
        actor: offer.id,
        subject: offer.id,
        details: { referenceHash: secretHash(offer.reference), configurationIds: offer.configurationIds },
      });
      return true;
    });
    if (!redeemed) {
      throw oauth(
        Oauth2ErrorCodes.InvalidGrant,
        'the pre-authorized code is invalid, expired or already used',
      );
    }
    this.deps.audit.committed();
    const answer = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
    } as const;
    return answer satisfies AccessTokenResponse;
  }

  /** The nonce endpoint (OpenID4VCI §7); undefined for a project that does not exist. */
  async nonce(projectId: string): Promise<{ c_nonce: string } | undefined> {
    if (!(await this.deps.tenancy.projectExists(projectId))) return undefined;
    return { c_nonce: this.nonces.issue(projectId, this.seconds()).nonce } satisfies NonceResponse;
  }

  /** The credential endpoint (OpenID4VCI §8): one credential per request, for one proof. */
  async credential(
    projectId: string,
    authorization: string | undefined,
    request: Record<string, unknown>,
  ): Promise<{ credentials: Array<{ credential: string | Record<string, unknown> }> }> {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) throw oauth(Oauth2ErrorCodes.InvalidToken, 'a Bearer access token is required');
    const now = this.now();
    const offer = isId('prj', projectId)
      ? await this.repo.offerOfToken(projectId, secretHash(token), seconds(now))
      : undefined;
    if (!offer) throw oauth(Oauth2ErrorCodes.InvalidToken, 'the access token is invalid or expired');
    const { configurationId: wanted, jwt } = parseCredentialRequest(request);
    if (!offer.configurationIds.includes(wanted)) {
      throw oauth(
        Oauth2ErrorCodes.UnknownCredentialConfiguration,
        `this access token is for ${offer.configurationIds.join(', ')}`,
      );
    }
    const audience = this.urls.issuer(projectId);
    const proof = await verifyProof(jwt, { audience, now, resolveDidKey: this.resolveDidKey });
    const nonceExpiry = this.nonces.check(projectId, proof.nonce, seconds(now));
    const fresh =
      nonceExpiry !== undefined &&
      (await this.repo.useNonce({ nonceHash: secretHash(proof.nonce), projectId, expiresAt: nonceExpiry }));
    if (!fresh) throw oauth(Oauth2ErrorCodes.InvalidNonce, 'the c_nonce is unknown, expired or already used');
    const format: OfferedFormat =
      wanted === configurationId(offer.credentialType, 'ldp_vc') ? 'ldp_vc' : 'dc+sd-jwt';
    if (format === 'ldp_vc' && proof.key.did === null) {
      throw oauth(
        Oauth2ErrorCodes.InvalidProof,
        `${wanted} is bound to a DID: name the proof key by DID URL (kid)`,
      );
    }
    if (offer.subjectDid !== null && proof.key.did !== offer.subjectDid) {
      throw oauth(
        Oauth2ErrorCodes.InvalidProof,
        'the proof is not signed with a key of the DID this offer is for',
      );
    }
    const issuer = await this.deps.issuers.liveIssuer(offer.issuerId);
    if (!issuer)
      throw oauth(Oauth2ErrorCodes.CredentialRequestDenied, 'the issuer of this offer no longer exists');
    if (!(await this.repo.claimIssuance(offer, wanted, format))) {
      throw oauth(Oauth2ErrorCodes.CredentialRequestDenied, `${wanted} was already issued for this offer`);
    }
    let issued: { credential: string | Record<string, unknown>; credentialHash: string; revocable: boolean };
    try {
      const claims = JSON.parse(
        new TextDecoder().decode(await this.claimsBox.open(offer.claimsBox, offer.id)),
      ) as Record<string, ClaimValue>;
      issued = await this.issue(issuer, offer, format, claims, proof.key, now);
    } catch (error) {
      await this.repo.releaseIssuance(offer.id, wanted);
      throw error;
    }
    await this.repo.completeIssuance(offer.id, wanted, { ...issued, at: seconds(now) });
    // A reversal that canceled the offer while this credential was being signed did not see it: revoke
    // it now rather than hand it out.
    const current = await this.repo.offer(projectId, offer.id);
    if (current?.state === 'canceled') {
      if (issued.revocable && (await this.revoke(issuer.id, issued.credentialHash, offer.reference))) {
        await this.repo.markRevoked(offer.id, wanted, seconds(now));
      }
      throw oauth(Oauth2ErrorCodes.CredentialRequestDenied, 'the offer was canceled');
    }
    return { credentials: [{ credential: issued.credential }] } satisfies CredentialResponse;
  }

  // ---- helpers ----

  private async issue(
    issuer: IssuerRecord,
    offer: OfferRow,
    format: OfferedFormat,
    claims: Record<string, ClaimValue>,
    holder: ProofKey,
    now: Date,
  ): Promise<{ credential: string | Record<string, unknown>; credentialHash: string; revocable: boolean }> {
    const issuedAt = seconds(now);
    const expiresAt = issuedAt + CREDENTIAL_VALIDITY_SECONDS;
    const actor = offer.id;
    if (format === 'dc+sd-jwt') {
      const { sdJwt, credentialHash } = await this.deps.credentials.issueSdJwtAsIssuer(
        issuer,
        {
          vct: this.urls.vct(offer.projectId, offer.credentialType),
          claims,
          holderKey: holder.jwk,
          subject: holder.did ?? undefined,
          issuedAt,
          expiresAt,
        },
        actor,
      );
      return { credential: sdJwt, credentialHash, revocable: false };
    }
    const revocable = issuer.statusPurposes.includes('revocation');
    const { verifiableCredential, credentialHash } = await this.deps.credentials.issueAsIssuer(
      issuer,
      {
        credential: {
          '@context': [...CREDENTIAL_CONTEXTS],
          id: `urn:uuid:${randomUUID()}`,
          type: ['VerifiableCredential', offer.credentialType],
          issuer: issuer.did,
          validFrom: isoSeconds(issuedAt),
          validUntil: isoSeconds(expiresAt),
          credentialSubject: { id: holder.did as string, ...claims },
        },
        options: {
          cryptosuite: 'bbs-2023',
          // Always disclosed: who issued what, and when it is valid; and the status entries, so verifiers
          // of a derived credential can check revocation. The holder chooses among the claims.
          mandatoryPointers: [
            '/issuer',
            '/type',
            '/validFrom',
            '/validUntil',
            ...(issuer.statusPurposes.length > 0 ? ['/credentialStatus'] : []),
          ],
        },
      },
      actor,
    );
    return { credential: verifiableCredential, credentialHash, revocable };
  }

  /** Checks the tx_code of an offer that has one; too many wrong ones cancel the offer. */
  private async checkTxCode(offer: OfferRow, txCode: string | undefined): Promise<void> {
    if (offer.txCodeDigest === null) {
      if (txCode !== undefined) throw oauth(Oauth2ErrorCodes.InvalidRequest, 'this offer has no tx_code');
      return;
    }
    if (txCode === undefined) throw oauth(Oauth2ErrorCodes.InvalidRequest, 'tx_code is required');
    if (sameDigest(this.secrets.txCodeDigest(offer.id, txCode), offer.txCodeDigest)) return;
    const failures = await this.repo.recordTxCodeFailure(offer.id);
    if (failures !== undefined && failures >= MAX_TX_CODE_FAILURES) {
      await this.cancel(offer.projectId, { offerId: offer.id }, offer.id, 'tx_code_failures');
      throw oauth(Oauth2ErrorCodes.InvalidGrant, 'too many wrong tx_codes: the offer is canceled');
    }
    throw oauth(Oauth2ErrorCodes.InvalidGrant, 'the tx_code is wrong');
  }

  /** Cancels offers (audited, one entry each); how many were not canceled before. */
  private async cancel(
    projectId: string,
    by: { offerId: string } | { reference: string },
    actor: string,
    reason: string,
  ): Promise<number> {
    const ids = await this.repo.transaction(async (repo) => {
      const canceled = await repo.cancel(projectId, by, this.seconds());
      for (const id of canceled) {
        await this.deps.audit.record(repo.db, {
          type: 'credential_offer.canceled',
          orgId: null,
          projectId,
          actor,
          subject: id,
          details: { reason: REASON_PATTERN.test(reason) ? reason : 'revoked' },
        });
      }
      return canceled;
    });
    if (ids.length > 0) this.deps.audit.committed();
    return ids.length;
  }

  private async revoke(issuerId: string, credentialHash: string, actor: string): Promise<boolean> {
    const issuer = await this.deps.issuers.liveIssuer(issuerId);
    return issuer ? this.deps.status.revokeAsSystem(issuer, credentialHash, actor) : false;
  }

  /** The configurations a live project has offered; undefined when none (or no such project). */
  private async liveConfigurations(projectId: string): Promise<Configuration[] | undefined> {
    if (!isId('prj', projectId)) return undefined;
    const configurations = await this.repo.configurations(projectId);
    if (configurations.length === 0 || !(await this.deps.tenancy.projectExists(projectId))) return undefined;
    return configurations;
  }

  private seconds(): number {
    return seconds(this.now());
  }
}

/** Whether an offer's code can still be exchanged for an access token. */
function redeemable(offer: OfferRow | undefined, now: number): offer is OfferRow {
  return offer !== undefined && offer.state === 'offered' && offer.expiresAt > now;
}

/**
 * The configurations an issuer can serve for a credential type: ldp_vc with bbs-2023, dc+sd-jwt with a JWS
 * key. Every issuer key type is one or the other (BLS12-381 G2; Ed25519, P-256, P-384, P-521), so there is always one.
 */
function offeredConfigurations(issuer: IssuerRecord, credentialType: string): Configuration[] {
  const formats: OfferedFormat[] = [];
  if (issuer.suites.includes('bbs-2023')) formats.push('ldp_vc');
  if (sdJwtKey(issuer)) formats.push('dc+sd-jwt');
  return formats.map((format) => ({ id: configurationId(credentialType, format), format, credentialType }));
}

/** The one `jwt` proof of a credential request, in the 1.0 `proofs` form or the older single `proof`. */
function parseCredentialRequest(request: Record<string, unknown>): { configurationId: string; jwt: string } {
  const id = request.credential_configuration_id;
  if (request.credential_identifier !== undefined) {
    throw oauth(
      Oauth2ErrorCodes.InvalidCredentialRequest,
      'credential_identifier is not supported: send credential_configuration_id',
    );
  }
  if (typeof id !== 'string' || id.length === 0) {
    throw oauth(Oauth2ErrorCodes.InvalidCredentialRequest, 'credential_configuration_id is required');
  }
  if (request.credential_response_encryption !== undefined) {
    throw oauth(Oauth2ErrorCodes.InvalidCredentialRequest, 'credential response encryption is not supported');
  }
  const { proof, proofs } = request;
  if (proof !== undefined && proofs !== undefined) {
    throw oauth(Oauth2ErrorCodes.InvalidCredentialRequest, 'send either proof or proofs, not both');
  }
  let jwts: unknown;
  if (proofs !== undefined) {
    const entries = typeof proofs === 'object' && proofs !== null ? Object.entries(proofs) : [];
    const [only] = entries;
    if (entries.length !== 1 || !only || only[0] !== 'jwt') {
      throw oauth(Oauth2ErrorCodes.InvalidProof, 'proofs must hold exactly one proof type, jwt');
    }
    jwts = only[1];
  } else if (proof !== undefined) {
    const single = proof as { proof_type?: unknown; jwt?: unknown } | null;
    if (single?.proof_type !== 'jwt')
      throw oauth(Oauth2ErrorCodes.InvalidProof, 'only jwt proofs are supported');
    jwts = [single.jwt];
  } else {
    throw oauth(Oauth2ErrorCodes.InvalidProof, 'a jwt proof of possession of the holder key is required');
  }
  if (!Array.isArray(jwts) || jwts.length !== 1 || typeof jwts[0] !== 'string') {
    throw oauth(Oauth2ErrorCodes.InvalidProof, 'send exactly one jwt proof (one credential per request)');
  }
  return { configurationId: id, jwt: jwts[0] };
}

/** Validates an offer's input; bad input is a 400 naming the field. */
function checkOffer(input: OfferInput): void {
  if (
    !CREDENTIAL_TYPE_PATTERN.test(input.credentialType) ||
    input.credentialType === 'VerifiableCredential'
  ) {
    throw invalidField(
      'The credential offer',
      '#/credentialType',
      'must be a type name like IdentityVerificationCredential (A-Z first, letters and digits)',
    );
  }
  const names = Object.keys(input.claims);
  if (names.length === 0 || names.length > MAX_CLAIMS) {
    throw invalidField('The credential offer', '#/claims', `must hold 1 to ${MAX_CLAIMS} claims`);
  }
  for (const name of names) {
    const value = input.claims[name];
    const pointer = `#/claims/${name}`;
    if (!CLAIM_NAME_PATTERN.test(name) || RESERVED_CLAIMS.has(name)) {
      throw invalidField(
        'The credential offer',
        pointer,
        'is not a claim name this issuer accepts (letters, digits, _; not a reserved name)',
      );
    }
    const ok =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= MAX_CLAIM_STRING_LENGTH);
    if (!ok)
      throw invalidField(
        'The credential offer',
        pointer,
        `must be a boolean, a finite number or a string of at most ${MAX_CLAIM_STRING_LENGTH} characters`,
      );
  }
  if (input.subjectDid !== null && !isDid(input.subjectDid))
    throw invalidField('The credential offer', '#/subjectDid', 'is not a DID');
  if (input.reference.length === 0 || input.reference.length > 128) {
    throw invalidField('The credential offer', '#/reference', 'must be 1 to 128 characters');
  }
  const ttl = input.ttlSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_OFFER_TTL_SECONDS)) {
    throw invalidField(
      'The credential offer',
      '#/ttlSeconds',
      `must be a whole number of seconds from 1 to ${MAX_OFFER_TTL_SECONDS}`,
    );
  }
}

function oauth(code: ConstructorParameters<typeof OAuthError>[0], description: string): OAuthError {
  return new OAuthError(code, description);
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

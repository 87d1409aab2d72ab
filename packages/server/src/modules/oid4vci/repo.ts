import type { Kysely } from 'kysely';
import type { Database, Oid4vciCredentialsTable, Oid4vciOffersTable } from '../../store/schema.js';
import type { Configuration, OfferedFormat } from './metadata.js';

/** Where an offer is: its pre-authorized code is live (`offered`), exchanged for a token, or canceled. */
export type OfferState = 'offered' | 'redeemed' | 'canceled';

/** An offer row with its numbers as numbers (PostgreSQL returns bigints as strings). Times: epoch s. */
export interface OfferRow {
  id: string;
  projectId: string;
  issuerId: string;
  credentialType: string;
  configurationIds: string[];
  claimsBox: string;
  subjectDid: string | null;
  reference: string;
  txCodeDigest: string | null;
  txCodeFailures: number;
  state: OfferState;
  createdAt: number;
  expiresAt: number;
}

/** A credential issued (or being issued) for one configuration of an offer. */
export interface IssuedRow {
  offerId: string;
  configurationId: string;
  issuerId: string;
  credentialHash: string | null;
  revocable: boolean;
}

function toOffer(row: Oid4vciOffersTable): OfferRow {
  return {
    id: row.id,
    projectId: row.project_id,
    issuerId: row.issuer_id,
    credentialType: row.credential_type,
    configurationIds: JSON.parse(row.configuration_ids) as string[],
    claimsBox: row.claims_box,
    subjectDid: row.subject_did,
    reference: row.reference,
    txCodeDigest: row.tx_code_digest,
    txCodeFailures: Number(row.tx_code_failures),
    state: row.state as OfferState,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

function toIssued(row: Oid4vciCredentialsTable): IssuedRow {
  return {
    offerId: row.offer_id,
    configurationId: row.configuration_id,
    issuerId: row.issuer_id,
    credentialHash: row.credential_hash,
    revocable: Number(row.revocable) === 1,
  };
}

/** The oid4vci_* tables. Only the OpenID4VCI service calls this; every query is scoped by project. */
export class Oid4vciRepo {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (repo: Oid4vciRepo) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new Oid4vciRepo(trx as unknown as Kysely<Database>)));
  }

  async insertOffer(offer: OfferRow, codeHash: string): Promise<void> {
    await this.db
      .insertInto('oid4vci_offers')
      .values({
        id: offer.id,
        project_id: offer.projectId,
        issuer_id: offer.issuerId,
        credential_type: offer.credentialType,
        configuration_ids: JSON.stringify(offer.configurationIds),
        claims_box: offer.claimsBox,
        subject_did: offer.subjectDid,
        reference: offer.reference,
        code_hash: codeHash,
        tx_code_digest: offer.txCodeDigest,
        tx_code_failures: offer.txCodeFailures,
        state: offer.state,
        created_at: offer.createdAt,
        expires_at: offer.expiresAt,
        redeemed_at: null,
        canceled_at: null,
      })
      .execute();
  }

  /** Makes the configurations known to the project's issuer metadata (kept once offered). */
  async addConfigurations(projectId: string, configurations: readonly Configuration[], at: number) {
    for (const configuration of configurations) {
      await this.db
        .insertInto('oid4vci_configurations')
        .values({
          project_id: projectId,
          id: configuration.id,
          format: configuration.format,
          credential_type: configuration.credentialType,
          created_at: at,
        })
        .onConflict((conflict) => conflict.columns(['project_id', 'id']).doNothing())
        .execute();
    }
  }

  async configurations(projectId: string): Promise<Configuration[]> {
    const rows = await this.db
      .selectFrom('oid4vci_configurations')
      .select(['id', 'format', 'credential_type'])
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      format: row.format as OfferedFormat,
      credentialType: row.credential_type,
    }));
  }

  async offer(projectId: string, offerId: string): Promise<OfferRow | undefined> {
    const row = await this.db
      .selectFrom('oid4vci_offers')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', offerId)
      .executeTakeFirst();
    return row && toOffer(row);
  }

  async offerByCode(projectId: string, codeHash: string): Promise<OfferRow | undefined> {
    const row = await this.db
      .selectFrom('oid4vci_offers')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    return row && toOffer(row);
  }

  /** Counts a wrong tx_code of a live offer; the failures so far, or undefined if it is no longer live. */
  async recordTxCodeFailure(offerId: string): Promise<number | undefined> {
    const row = await this.db
      .updateTable('oid4vci_offers')
      .set((eb) => ({ tx_code_failures: eb('tx_code_failures', '+', 1) }))
      .where('id', '=', offerId)
      .where('state', '=', 'offered')
      .returning('tx_code_failures')
      .executeTakeFirst();
    return row && Number(row.tx_code_failures);
  }

  /** Exchanges a live, unexpired offer's code once: false when another request did first (or it ended). */
  async redeem(offerId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('oid4vci_offers')
      .set({ state: 'redeemed', redeemed_at: now })
      .where('id', '=', offerId)
      .where('state', '=', 'offered')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Cancels the offers that are not canceled yet; their ids. */
  async cancel(projectId: string, by: { offerId: string } | { reference: string }, now: number) {
    let query = this.db
      .updateTable('oid4vci_offers')
      .set({ state: 'canceled', canceled_at: now })
      .where('project_id', '=', projectId)
      .where('state', '!=', 'canceled');
    query =
      'offerId' in by ? query.where('id', '=', by.offerId) : query.where('reference', '=', by.reference);
    const rows = await query.returning('id').execute();
    const ids = rows.map((row) => row.id);
    if (ids.length > 0)
      await this.db.deleteFrom('oid4vci_access_tokens').where('offer_id', 'in', ids).execute();
    return ids;
  }

  async insertToken(row: {
    tokenHash: string;
    projectId: string;
    offerId: string;
    createdAt: number;
    expiresAt: number;
  }): Promise<void> {
    await this.db
      .insertInto('oid4vci_access_tokens')
      .values({
        token_hash: row.tokenHash,
        project_id: row.projectId,
        offer_id: row.offerId,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
      })
      .execute();
  }

  /** The offer of an unexpired access token, if that offer was redeemed and not canceled since. */
  async offerOfToken(projectId: string, tokenHash: string, now: number): Promise<OfferRow | undefined> {
    const row = await this.db
      .selectFrom('oid4vci_access_tokens as t')
      .innerJoin('oid4vci_offers as o', 'o.id', 't.offer_id')
      .selectAll('o')
      .where('t.project_id', '=', projectId)
      .where('t.token_hash', '=', tokenHash)
      .where('t.expires_at', '>', now)
      .where('o.state', '=', 'redeemed')
      .executeTakeFirst();
    return row && toOffer(row);
  }

  /**
   * Records a c_nonce as used (hashed, until it expires): true for its first use, false when it was used
   * before.
   */
  async useNonce(row: { nonceHash: string; projectId: string; expiresAt: number }): Promise<boolean> {
    const result = await this.db
      .insertInto('oid4vci_used_nonces')
      .values({ nonce_hash: row.nonceHash, project_id: row.projectId, expires_at: row.expiresAt })
      .onConflict((conflict) => conflict.column('nonce_hash').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Deletes used nonces and access tokens that have expired (neither could be used any more). */
  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('oid4vci_used_nonces').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('oid4vci_access_tokens').where('expires_at', '<=', now).execute();
  }

  /**
   * Claims one configuration of an offer for issuance before signing: false when it was issued (or is
   * being issued) already, so two requests with one token cannot both get it.
   */
  async claimIssuance(offer: OfferRow, configurationId: string, format: OfferedFormat): Promise<boolean> {
    const result = await this.db
      .insertInto('oid4vci_credentials')
      .values({
        offer_id: offer.id,
        configuration_id: configurationId,
        project_id: offer.projectId,
        issuer_id: offer.issuerId,
        reference: offer.reference,
        format,
        credential_hash: null,
        revocable: 0,
        issued_at: null,
        revoked_at: null,
      })
      .onConflict((conflict) => conflict.columns(['offer_id', 'configuration_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async completeIssuance(
    offerId: string,
    configurationId: string,
    issued: { credentialHash: string; revocable: boolean; at: number },
  ): Promise<void> {
    await this.db
      .updateTable('oid4vci_credentials')
      .set({
        credential_hash: issued.credentialHash,
        revocable: issued.revocable ? 1 : 0,
        issued_at: issued.at,
      })
      .where('offer_id', '=', offerId)
      .where('configuration_id', '=', configurationId)
      .execute();
  }

  /** Gives a claimed configuration back after a failed issuance, so the wallet may try again. */
  async releaseIssuance(offerId: string, configurationId: string): Promise<void> {
    await this.db
      .deleteFrom('oid4vci_credentials')
      .where('offer_id', '=', offerId)
      .where('configuration_id', '=', configurationId)
      .where('credential_hash', 'is', null)
      .execute();
  }

  /** Issued credentials of a reference that are not revoked yet. */
  async issuedFor(projectId: string, reference: string): Promise<IssuedRow[]> {
    const rows = await this.db
      .selectFrom('oid4vci_credentials')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('reference', '=', reference)
      .where('credential_hash', 'is not', null)
      .where('revoked_at', 'is', null)
      .execute();
    return rows.map(toIssued);
  }

  async markRevoked(offerId: string, configurationId: string, at: number): Promise<void> {
    await this.db
      .updateTable('oid4vci_credentials')
      .set({ revoked_at: at })
      .where('offer_id', '=', offerId)
      .where('configuration_id', '=', configurationId)
      .execute();
  }
}

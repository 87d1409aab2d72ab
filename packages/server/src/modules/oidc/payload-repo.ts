import { type Kysely, sql } from 'kysely';
import { GroupCommit } from '../../store/group-commit.js';
import { preparedQuery } from '../../store/prepared.js';
import type { Database, OidcPayloadsTable } from '../../store/schema.js';
import { relaxedDurability } from '../../store/sqlite-driver.js';

/** What oidc-provider hands its adapter: open-ended JSON with a few fields it later searches by. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/** The time in epoch seconds, oidc-provider's unit for `exp`, `iat` and `consumed`. */
export const epochNow = (): number => Math.floor(Date.now() / 1000);

type FindColumn = 'id' | 'user_code' | 'uid';
type UpsertArgs = [
  projectId: string,
  model: string,
  id: string,
  payload: string,
  grantId: string | null,
  userCode: string | null,
  uid: string | null,
  expiresAt: number | null,
];
type FindArgs = [projectId: string, model: string, value: string, now: number];
type PayloadRow = Pick<OidcPayloadsTable, 'payload' | 'consumed_at'>;
/** A write that must be on disk before its caller goes on, run in a shared transaction. */
type DurableWrite = (db: Kysely<Database>) => Promise<unknown>;

/** Durable writes per transaction at most; more wait for the next one. */
const MAX_DURABLE_BATCH = 256;

/**
 * The `oidc_payloads` table: every provider record of every project, keyed by (project, model, id).
 * Expired rows are invisible to every read and removed by `purgeExpired`.
 */
export class OidcPayloadRepo {
  /** The lookups by each searchable column, compiled once: the provider runs several per request. */
  private readonly finders: Record<FindColumn, (...args: FindArgs) => Promise<PayloadRow[]>>;
  /** One id looked up in three models at once: the introspection fast path's single query per token. */
  private readonly inThreeModels: (
    ...args: [projectId: string, models: string, models: string, models: string, id: string, now: number]
  ) => Promise<(PayloadRow & { model: string })[]>;
  /** The provider's writes, compiled once: a sign-in stores six records and deletes one. */
  private readonly upsertRow: (...args: UpsertArgs) => Promise<unknown>;
  private readonly destroyRelaxed: (projectId: string, model: string, id: string) => Promise<unknown>;
  /**
   * Consumptions, revocations and the end of sessions and grants must survive a power cut (replay
   * protection, sign-out), so each waits for the disk; the ones that arrive together share one
   * transaction and one disk sync instead of one each.
   */
  private readonly durable: GroupCommit<DurableWrite>;

  constructor(private readonly db: Kysely<Database>) {
    const commit = async (writes: DurableWrite[]) => {
      await db.transaction().execute(async (trx) => {
        for (const write of writes) await write(trx);
      });
    };
    // Every write is idempotent (a delete, or a consumption that keeps the first time), so a batch that
    // failed as a whole, e.g. PostgreSQL's victim of a deadlock with another replica's batch, is run again.
    this.durable = new GroupCommit((writes) => commit(writes).catch(() => commit(writes)), MAX_DURABLE_BATCH);
    const finder = (column: FindColumn) =>
      preparedQuery<FindArgs, PayloadRow>(
        db,
        ['project', 'model', 'value', 0],
        (projectId, model, value, now) =>
          db
            .selectFrom('oidc_payloads')
            .select(['payload', 'consumed_at'])
            .where('project_id', '=', projectId)
            .where('model', '=', model)
            .where(column, '=', value)
            .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
      );
    this.finders = { id: finder('id'), user_code: finder('user_code'), uid: finder('uid') };
    this.inThreeModels = preparedQuery(
      db,
      ['project', 'm1', 'm2', 'm3', 'id', 0],
      (projectId, m1, m2, m3, id, now) =>
        db
          .selectFrom('oidc_payloads')
          .select(['model', 'payload', 'consumed_at'])
          .where('project_id', '=', projectId)
          .where('model', 'in', [m1, m2, m3])
          .where('id', '=', id)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
    );
    this.upsertRow = preparedQuery<UpsertArgs, never>(
      db,
      ['project', 'model', 'id', 'payload', 'grant', 'code', 'uid', 0],
      (projectId, model, id, payload, grantId, userCode, uid, expiresAt) =>
        db
          .insertInto('oidc_payloads')
          .values({
            project_id: projectId,
            model,
            id,
            payload,
            grant_id: grantId,
            user_code: userCode,
            uid,
            expires_at: expiresAt,
          })
          .onConflict((oc) =>
            oc.columns(['project_id', 'model', 'id']).doUpdateSet({
              payload,
              grant_id: grantId,
              user_code: userCode,
              uid,
              expires_at: expiresAt,
              consumed_at: sql<null>`null`,
            }),
          )
          .modifyEnd(relaxedDurability),
    );
    this.destroyRelaxed = preparedQuery<[string, string, string], never>(
      db,
      ['project', 'model', 'id'],
      (projectId, model, id) => deleteRecords(db, projectId, model, 'id', id).modifyEnd(relaxedDurability),
    );
  }

  /**
   * Stores a record without waiting for the disk (see `relaxedDurability`): a power cut can lose the
   * latest ones, which at worst makes a user sign in again; it can never bring back a revoked one.
   */
  async upsert(projectId: string, model: string, id: string, payload: OidcPayload, expiresIn?: number) {
    await this.upsertRow(
      projectId,
      model,
      id,
      JSON.stringify(payload),
      payload.grantId ?? null,
      payload.userCode ?? null,
      payload.uid ?? null,
      expiresIn ? epochNow() + expiresIn : null,
    );
  }

  find(projectId: string, model: string, id: string): Promise<OidcPayload | undefined> {
    return this.findBy(projectId, model, 'id', id);
  }

  /** The records stored under `id` in each of three models (as `find` would return them), by model. */
  async findInModels(
    projectId: string,
    models: readonly [string, string, string],
    id: string,
  ): Promise<Map<string, OidcPayload>> {
    const rows = await this.inThreeModels(projectId, ...models, id, epochNow());
    return new Map(rows.map((row) => [row.model, toPayload(row)]));
  }

  findByUserCode(projectId: string, model: string, userCode: string): Promise<OidcPayload | undefined> {
    return this.findBy(projectId, model, 'user_code', userCode);
  }

  findByUid(projectId: string, model: string, uid: string): Promise<OidcPayload | undefined> {
    return this.findBy(projectId, model, 'uid', uid);
  }

  async consume(projectId: string, model: string, id: string): Promise<void> {
    const consumedAt = epochNow();
    await this.durable.add((db) =>
      db
        .updateTable('oidc_payloads')
        .set({ consumed_at: consumedAt })
        .where('project_id', '=', projectId)
        .where('model', '=', model)
        .where('id', '=', id)
        // The first consumption counts: a token rotated again within the grace window keeps its deadline.
        .where('consumed_at', 'is', null)
        .execute(),
    );
  }

  async destroy(projectId: string, model: string, id: string): Promise<void> {
    // A finished interaction coming back after a power cut is harmless (it expires and its result is
    // spent); a session, grant or token coming back after a sign-out or revocation is not.
    if (model === 'Interaction') {
      await this.destroyRelaxed(projectId, model, id);
      return;
    }
    await this.durable.add((db) => deleteRecords(db, projectId, model, 'id', id).execute());
  }

  async revokeByGrantId(projectId: string, model: string, grantId: string): Promise<void> {
    await this.durable.add((db) => deleteRecords(db, projectId, model, 'grant_id', grantId).execute());
  }

  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('expires_at', '<=', epochNow()).execute();
  }

  private async findBy(
    projectId: string,
    model: string,
    column: FindColumn,
    value: string,
  ): Promise<OidcPayload | undefined> {
    const [row] = await this.finders[column](projectId, model, value, epochNow());
    return row && toPayload(row);
  }
}

/** The records of one model of a project whose `column` holds `value`. */
function deleteRecords(
  db: Kysely<Database>,
  projectId: string,
  model: string,
  column: 'id' | 'grant_id',
  value: string,
) {
  return db
    .deleteFrom('oidc_payloads')
    .where('project_id', '=', projectId)
    .where('model', '=', model)
    .where(column, '=', value);
}

function toPayload(row: PayloadRow): OidcPayload {
  const payload = JSON.parse(row.payload) as OidcPayload;
  if (row.consumed_at !== null) payload.consumed = Number(row.consumed_at);
  return payload;
}

import type { Kysely } from 'kysely';
import { inChunks, ROWS_PER_STATEMENT } from '../../store/chunks.js';
import { rowInserter } from '../../store/prepared.js';
import type { AuditEventsTable, Database } from '../../store/schema.js';

const insertRow = rowInserter('audit_events');

/** The audit_events table. Only the audit service calls this. */
export class AuditRepo {
  constructor(readonly db: Kysely<Database>) {}

  insert(row: AuditEventsTable): Promise<void> {
    return insertRow(this.db, row);
  }

  async insertMany(rows: readonly AuditEventsTable[]): Promise<void> {
    await inChunks(rows, ROWS_PER_STATEMENT, async (chunk) => {
      await this.db.insertInto('audit_events').values(chunk).execute();
    });
  }

  /** The organization a project belongs to; null once the project is gone. */
  async orgOfProject(projectId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('projects')
      .select('org_id')
      .where('id', '=', projectId)
      .executeTakeFirst();
    return row?.org_id ?? null;
  }

  listForProject(projectId: string, options: { after?: string; limit: number }): Promise<AuditEventsTable[]> {
    let query = this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .limit(options.limit);
    if (options.after) query = query.where('id', '>', options.after);
    return query.execute();
  }
}

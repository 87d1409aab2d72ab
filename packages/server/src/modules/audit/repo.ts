import type { Kysely } from 'kysely';
import type { AuditEventsTable, Database } from '../../store/schema.js';

/** The audit_events table. Only the audit service calls this. */
export class AuditRepo {
  constructor(readonly db: Kysely<Database>) {}

  async insert(row: AuditEventsTable): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
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

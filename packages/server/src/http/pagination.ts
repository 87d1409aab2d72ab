import { type TSchema, Type } from 'typebox';
import { Problem } from './problem.js';

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page.' }),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: 'The `nextCursor` of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for the next page; null on the last page.',
    }),
  });
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: the base64url of the last id on the page (ids sort by creation). */
export function decodeCursor(cursor: string | undefined, idPattern: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!idPattern.test(id)) {
    throw new Problem('validation-error', 'The cursor is not one this list returned.', {
      errors: [{ in: 'querystring', pointer: '#/cursor', detail: 'is not a valid cursor' }],
    });
  }
  return id;
}

/** Given up to limit+1 rows sorted by id, returns the page and the cursor of the next one. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: rows.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
  };
}

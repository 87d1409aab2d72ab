/**
 * Rows written by one multi-row statement at most: SQLite (32,766) and PostgreSQL (65,535) both cap the
 * bound parameters of a statement, and the widest rows written this way have 12 columns.
 */
export const ROWS_PER_STATEMENT = 1000;

/** Runs `work` on consecutive slices of `items` of at most `size`, one after the other, in order. */
export async function inChunks<T>(
  items: readonly T[],
  size: number,
  work: (chunk: T[], start: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += size)
    await work(items.slice(start, start + size), start);
}

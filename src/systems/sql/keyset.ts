// Keyset pagination over one or more columns: the condition for "after the last row".
import type { KeyRange } from '../../collectors/types.js';

/** (k1 > ?) OR (k1 = ? AND k2 > ?) OR …: portable across SQLite, PostgreSQL and MySQL. */
export function keysetCondition(keys: string[]): string {
  return keys.map((k, i) => `(${[...keys.slice(0, i).map((p) => `${p} = ?`), `${k} > ?`].join(' AND ')})`).join(' OR ');
}

export function keysetParams(last: unknown[]): unknown[] {
  const params: unknown[] = [];
  last.forEach((v, i) => params.push(...last.slice(0, i), v));
  return params;
}

const tuple = (items: readonly string[]) => (items.length === 1 ? items[0]! : `(${items.join(', ')})`);

/** A key range (from inclusive, to exclusive) as " AND …" conditions on the key columns;
 *  row values compare composite keys ((a, b) >= (?, ?)) in SQLite, PostgreSQL and MySQL. */
export function rangeCondition(keys: readonly string[], range: { from: readonly unknown[] | null; to: readonly unknown[] | null }): { sql: string; params: unknown[] } {
  const marks = tuple(keys.map(() => '?'));
  let sql = '';
  const params: unknown[] = [];
  if (range.from) {
    sql += ` AND ${tuple(keys)} >= ${marks}`;
    params.push(...range.from);
  }
  if (range.to) {
    sql += ` AND ${tuple(keys)} < ${marks}`;
    params.push(...range.to);
  }
  return { sql, params };
}

/** Ranges read in one query at most (SQLite allows 500 parts in a compound SELECT). */
const BATCH_RANGES = 100;

/** The ranges grouped for reading: consecutive ranges whose rows (as counted when they were
 *  found) fit in one page go in one query; a range of unknown or larger size is read alone. */
export function rangeBatches(ranges: readonly KeyRange[], pageSize: number): KeyRange[][] {
  const batches: KeyRange[][] = [];
  let batch: KeyRange[] = [];
  let rows = 0;
  for (const range of ranges) {
    const size = range.rows ?? Infinity;
    if (batch.length > 0 && (batch.length >= BATCH_RANGES || rows + size > pageSize)) {
      batches.push(batch);
      batch = [];
      rows = 0;
    }
    batch.push(range);
    rows += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** A page of the rows of a batch of ranges, after `last` (null: from the start): one SELECT
 *  per range, so that each searches the key index for its own range (an OR of the ranges
 *  would scan the whole index), joined with UNION ALL and ordered once. The ranges do not
 *  overlap, so every row is in one part. */
export function rangesQuery(
  q: { select: string; from: string; where: string; params: readonly unknown[]; keys: string[]; pageSize: number },
  batch: readonly KeyRange[],
  last: unknown[] | null,
): { sql: string; params: unknown[] } {
  const after = last ? ` AND (${keysetCondition(q.keys)})` : '';
  const afterParams = last ? keysetParams(last) : [];
  const params: unknown[] = [];
  const parts = batch.map((range) => {
    const bounds = rangeCondition(q.keys, range);
    params.push(...q.params, ...bounds.params, ...afterParams);
    return `SELECT ${q.select} FROM ${q.from} WHERE ${q.where}${bounds.sql}${after}`;
  });
  const sql =
    parts.length === 1 ? `${parts[0]} ORDER BY ${q.keys.join(', ')} LIMIT ${q.pageSize}` : `SELECT * FROM (${parts.join(' UNION ALL ')}) parity_ranges ORDER BY ${q.keys.join(', ')} LIMIT ${q.pageSize}`;
  return { sql, params };
}

/**
 * The pages of a keyset read, each asked for as soon as the one before has arrived, so the
 * database works on the next page while the reader maps and diffs this one. `ask(last)` runs
 * the query for the page after the row values `last` (null: the first page); a page shorter
 * than `pageSize` is the last. A reader that stops early leaves no query running.
 */
export async function* keysetPages<Row extends Record<string, unknown>>(ask: (last: unknown[] | null) => Promise<Row[]>, paging: readonly string[], pageSize: number): AsyncGenerator<Row[]> {
  const start = (last: unknown[] | null) => {
    const rows = ask(last);
    rows.catch(() => undefined); // seen when awaited; not unhandled if the reader stops first
    return rows;
  };
  let pending: Promise<Row[]> | null = start(null);
  try {
    while (pending) {
      const rows: Row[] = await pending;
      pending = null;
      if (rows.length >= pageSize) {
        const lastRow = rows[rows.length - 1]!;
        pending = start(paging.map((c) => lastRow[c]));
      }
      if (rows.length > 0) yield rows;
    }
  } finally {
    if (pending) await pending.catch(() => undefined);
  }
}

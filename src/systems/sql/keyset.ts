// Keyset pagination over one or more columns: the condition for "after the last row".

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

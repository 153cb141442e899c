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

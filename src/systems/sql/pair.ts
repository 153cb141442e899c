// Two SQLite files on this machine: SQLite has no hash function to checksum segments with, but
// one connection can attach the other file (opened read-only, like its own, and query_only)
// and join both tables. Only the keys that differ, each with the key after it (among both
// tables' keys), leave SQLite; consecutive ones make a run, read back from both sides as a
// range and diffed exactly.
//
// The rule that keeps this exact is bisection's: SQL calls two rows equal only when parity
// would, never the other way round. A value is equal only to one of the same storage class
// with the same bytes (BINARY collation, typeof alike), NULL to NULL; keys pair only the same
// way. Whatever SQL calls different is read and compared by the streaming diff as usual.
import type { AttachedJoin } from '../../collectors/types.js';
import { TRIMMED_CHARS } from './row-text.js';
import type { SegmentColumns, SqlAccess } from './segment-access.js';

const PEER = 'parity_peer';

type Row = Record<string, unknown>;

const sameValue = (a: unknown, b: unknown) => a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
const sameKey = (a: readonly unknown[], b: readonly unknown[]) => a.every((v, i) => sameValue(v, b[i]));

export async function joinAttached(own: SqlAccess, ownColumns: SegmentColumns, peer: SqlAccess, peerColumns: SegmentColumns, keyOrders: readonly string[]): Promise<AttachedJoin | string> {
  if (!own.file || !peer.file || own.file === ':memory:' || peer.file === ':memory:') return 'a side is not a SQLite file';
  // Runs of keys are read back as ranges: each side must order its keys as the join does.
  const unordered = keyOrders.find((o) => o !== 'number' && o !== 'text:binary');
  if (unordered) return `a key is ordered otherwise than by value or by byte (${unordered})`;
  if (peer.from.includes('.')) return 'the other table is named with a schema';
  const keys = ownColumns.keys.length;
  const width = ownColumns.text.length;
  if (peerColumns.text.length !== width || peerColumns.keys.length !== keys) return 'the two sides compare different fields';
  const c = (i: number) => `parity_c${i}`;
  // A trimmed field is trimmed as the transform does it: text only, every character trim() drops.
  const valueOf = (col: SegmentColumns['text'][number]) =>
    col.column === null ? 'NULL' : col.trim ? `(CASE WHEN typeof(${col.column}) = 'text' THEN trim(${col.column}, '${TRIMMED_CHARS}') ELSE ${col.column} END)` : col.column;
  const select = (columns: SegmentColumns, from: string, base: string) =>
    `SELECT ${columns.text.map((col, i) => `${valueOf(col)} AS ${c(i)}`).join(', ')} FROM ${from} WHERE ${base}${columns.text
      .slice(0, keys)
      .map((col) => ` AND ${col.column} IS NOT NULL`)
      .join('')}`;
  const alike = (i: number) => `(s.${c(i)} IS d.${c(i)} COLLATE BINARY AND typeof(s.${c(i)}) = typeof(d.${c(i)}))`;
  // Keys are never NULL here: '=' lets SQLite use the other table's key index.
  const pairs = Array.from({ length: keys }, (_, i) => `(d.${c(i)} = s.${c(i)} COLLATE BINARY AND typeof(d.${c(i)}) = typeof(s.${c(i)}))`).join(' AND ');
  const same = Array.from({ length: width - keys }, (_, i) => alike(keys + i)).join(' AND ') || '1';
  const k = Array.from({ length: keys }, (_, i) => `k${i}`);
  const next = k.map((name) => `next_${name}`);
  const common = `WITH s AS NOT MATERIALIZED (${select(ownColumns, own.from, own.base)}),
d AS NOT MATERIALIZED (${select(peerColumns, `${PEER}.${peer.from}`, peer.base)}),
x AS (
  SELECT ${k.map((name, i) => `s.${c(i)} AS ${name}`).join(', ')}, 1 AS in_s, d.${c(0)} IS NOT NULL AS in_d
  FROM s LEFT JOIN d ON ${pairs} WHERE d.${c(0)} IS NULL OR NOT (${same})
  UNION ALL
  SELECT ${k.map((_, i) => `d.${c(i)}`).join(', ')}, 0, 1 FROM d WHERE NOT EXISTS (SELECT 1 FROM s WHERE ${pairs})
)`;
  // The key after each differing one, among both tables' keys: two index lookups for a single
  // key; for a composite key, LEAD over every key of both tables (one sort).
  const sql =
    keys === 1
      ? `${common}
SELECT k0, in_s, in_d, (SELECT MIN(m) FROM (SELECT MIN(${c(0)}) AS m FROM s WHERE ${c(0)} > x.k0 UNION ALL SELECT MIN(${c(0)}) FROM d WHERE ${c(0)} > x.k0)) AS next_k0 FROM x ORDER BY k0`
      : `${common},
u AS (SELECT ${k.map((name, i) => `${c(i)} AS ${name}`).join(', ')} FROM s UNION ALL SELECT ${k.map((name, i) => `d.${c(i)}`).join(', ')} FROM d WHERE NOT EXISTS (SELECT 1 FROM s WHERE ${pairs})),
w AS (SELECT ${k.join(', ')}, ${k.map((name, i) => `LEAD(${name}) OVER o AS ${next[i]}`).join(', ')} FROM u WINDOW o AS (ORDER BY ${k.join(', ')}))
SELECT x.*, ${next.map((n) => `w.${n}`).join(', ')} FROM x JOIN w ON ${k.map((name) => `w.${name} IS x.${name} AND typeof(w.${name}) = typeof(x.${name})`).join(' AND ')} ORDER BY ${k.map((name) => `x.${name}`).join(', ')}`;
  await own.query(`ATTACH DATABASE ? AS ${PEER}`, [peer.file]);
  try {
    const rows = await own.query<Row>(sql, []);
    const [count] = await own.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (${select(ownColumns, own.from, own.base)})`, []);
    const result: AttachedJoin = { ranges: [], matched: Number(count?.n ?? 0), rowsToRead: { source: 0, target: 0 }, queries: 2, bytes: 0 };
    let current: { from: unknown[]; to: unknown[] | null; rows: number } | null = null;
    let inRun = { source: 0, target: 0 };
    for (const row of rows) {
      const key = k.map((name) => row[name]);
      // A run of differing keys (each the key after the one before) is one range, up to the key after it.
      if (!current || current.to === null || !sameKey(current.to, key)) {
        current = { from: key, to: null, rows: 0 };
        inRun = { source: 0, target: 0 };
        result.ranges.push(current);
      }
      current.to = row[next[0]!] === null ? null : next.map((n) => row[n]);
      inRun.source += Number(row.in_s);
      inRun.target += Number(row.in_d);
      current.rows = Math.max(inRun.source, inRun.target);
      result.rowsToRead.source += Number(row.in_s);
      result.rowsToRead.target += Number(row.in_d);
      // Every source row not among the differing ones is paired with an equal target row.
      result.matched -= Number(row.in_s);
      result.bytes += 16 * (keys * 2 + 2);
    }
    return result;
  } finally {
    await own.query(`DETACH DATABASE ${PEER}`, []);
  }
}

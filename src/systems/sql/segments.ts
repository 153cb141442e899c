// A SQL side's segments for bisection: counts and order-independent checksums (the sum of
// each row's 60-bit MD5 of its canonical text) of key ranges, computed in PostgreSQL or
// MySQL/MariaDB with one grouped query per split; a SQLite side (no hash function) is read
// range by range and hashed here. Cut points come from one query (every n-th key by
// ROW_NUMBER, or even steps of an integer key), never from OFFSET.
import type { AttachedJoin, KeyRange, SegmentSource, SegmentSpec, SegmentSums } from '../../collectors/types.js';
import { joinAttached } from './pair.js';
import type { SegmentColumns, SqlAccess } from './segment-access.js';
import { keysetCondition, keysetParams, rangeCondition } from './keyset.js';
import { rowHash, rowHashSql, rowTextSql, typeClass, valuePiece, type TypeClass } from './row-text.js';

const tuple = (items: readonly string[]) => (items.length === 1 ? items[0]! : `(${items.join(', ')})`);
const marks = (n: number) => tuple(Array.from({ length: n }, () => '?'));

export class SqlSegments implements SegmentSource {
  readonly inDatabase: boolean;
  readonly stats = { queries: 0, bytes: 0 };
  /** How the database orders each key column (see keyOrders). */
  keyOrder: string[] = [];
  /** The class of each row-text column (PostgreSQL, MySQL). */
  readonly classes: string[];
  /** SQLite: the other side's classes, so its numbers take the form the other side gives them. */
  private peer: readonly string[] = [];
  private readonly keys: string;
  private readonly quotedKeys: string[];
  private readonly notNull: string;

  constructor(
    private readonly access: SqlAccess,
    private readonly columns: SegmentColumns,
  ) {
    this.inDatabase = access.dialect !== 'sqlite';
    this.quotedKeys = columns.keys.map(columns.quote);
    this.keys = tuple(this.quotedKeys);
    this.notNull = this.quotedKeys.map((k) => `${k} IS NOT NULL`).join(' AND ');
    this.classes = columns.text.map((c) => typeClass(access.dialect, c.type));
  }

  align(peer: readonly string[]): void {
    this.peer = peer;
  }

  /** SQLite beside SQLite: this side's connection joins both tables (pair.ts). */
  async joinAttached(peer: SegmentSource): Promise<AttachedJoin | string> {
    if (!(peer instanceof SqlSegments) || this.access.dialect !== 'sqlite' || peer.access.dialect !== 'sqlite') return 'the sides are not two SQLite files';
    const made = await joinAttached(this.access, this.columns, peer.access, peer.columns, [...this.keyOrder, ...peer.keyOrder]);
    if (typeof made !== 'string') this.stats.queries += made.queries;
    return made;
  }

  private async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    this.stats.queries++;
    const rows = await this.access.query<T>(sql, params);
    return rows;
  }

  /** The range as a condition: from <= key < to, with the side's own conditions. */
  private range(range: KeyRange): { sql: string; params: unknown[] } {
    const bounds = rangeCondition(this.quotedKeys, range);
    return { sql: `${this.access.base} AND ${this.notNull}${bounds.sql}`, params: bounds.params };
  }

  /** Which part of the range a row falls in: 0 before the first cut, i after cut i - 1. */
  private part(cuts: readonly (readonly unknown[])[]): { sql: string; params: unknown[] } {
    if (cuts.length === 0) return { sql: '0', params: [] };
    const params: unknown[] = [];
    const whens = cuts.map((cut, i) => {
      params.push(...cut);
      return `WHEN ${this.keys} < ${marks(cut.length)} THEN ${i}`;
    });
    return { sql: `(CASE ${whens.join(' ')} ELSE ${cuts.length} END)`, params };
  }

  async checksums(range: KeyRange, cuts: readonly (readonly unknown[])[]): Promise<SegmentSums[]> {
    const sums: SegmentSums[] = Array.from({ length: cuts.length + 1 }, () => ({ count: 0, sum: 0n }));
    const where = this.range(range);
    const part = this.part(cuts);
    const dialect = this.access.dialect;
    if (dialect === 'sqlite') {
      await this.hashHere(where, part, sums);
      return sums;
    }
    const hash = rowHashSql(dialect, rowTextSql(dialect, this.columns.text));
    const grouped = cuts.length > 0 ? ' GROUP BY 1' : '';
    const rows = await this.query<{ parity_seg: number | string; parity_n: number | string; parity_s: number | string | null }>(
      `SELECT ${part.sql} AS parity_seg, COUNT(*) AS parity_n, SUM(${hash}) AS parity_s FROM ${this.access.from} WHERE ${where.sql}${grouped}`,
      [...part.params, ...where.params],
    );
    for (const row of rows) {
      const i = Number(row.parity_seg);
      sums[i] = { count: Number(row.parity_n), sum: row.parity_s === null ? 0n : BigInt(String(row.parity_s).replace(/\.0*$/, '')) };
    }
    this.stats.bytes += rows.length * 48;
    return sums;
  }

  /** SQLite: the rows of the range, a page at a time in key order, hashed here. */
  private async hashHere(where: { sql: string; params: unknown[] }, part: { sql: string; params: unknown[] }, sums: SegmentSums[]): Promise<void> {
    const { text } = this.columns;
    const selected = [...new Set(text.flatMap((c) => (c.name === null ? [] : [c.name])))];
    const columns = selected.map((c) => this.columns.quote(c)).join(', ');
    let last: unknown[] | null = null;
    for (;;) {
      const after = last ? ` AND (${keysetCondition(this.quotedKeys)})` : '';
      const rows: Record<string, unknown>[] = await this.query<Record<string, unknown>>(
        `SELECT ${part.sql} AS parity_seg, ${columns} FROM ${this.access.from} WHERE ${where.sql}${after} ORDER BY ${this.quotedKeys.join(', ')} LIMIT ${this.access.pageSize}`,
        [...part.params, ...where.params, ...(last ? keysetParams(last) : [])],
      );
      for (const row of rows) {
        let line = '';
        for (let i = 0; i < text.length; i++) {
          const c = text[i]!;
          const value = c.name === null ? null : row[c.name];
          line += c.name === null ? '-' : valuePiece(c.trim && typeof value === 'string' ? value.trim() : value, c.key, this.peer[i] as TypeClass | undefined);
        }
        const s = sums[Number(row.parity_seg)]!;
        s.count++;
        s.sum += rowHash(line);
        this.stats.bytes += line.length;
      }
      if (rows.length < this.access.pageSize) return;
      const lastRow = rows[rows.length - 1]!;
      last = this.columns.keys.map((k) => lastRow[k]);
    }
  }

  async count(range: KeyRange): Promise<number> {
    const where = this.range(range);
    const rows = await this.query<{ parity_n: number | string }>(`SELECT COUNT(*) AS parity_n FROM ${this.access.from} WHERE ${where.sql}`, where.params);
    this.stats.bytes += 16;
    return Number(rows[0]?.parity_n ?? 0);
  }

  async cuts(range: KeyRange, parts: number, rows: number): Promise<unknown[][]> {
    return (await this.evenCuts(range, parts)) ?? (await this.everyNth(range, Math.ceil(rows / parts)));
  }

  /** An integer key: cuts at even steps between the range's smallest and largest key (two
   *  index lookups, no scan). null when the key is not one integer column. */
  private async evenCuts(range: KeyRange, parts: number): Promise<unknown[][] | null> {
    if (this.quotedKeys.length !== 1 || this.classes[0] !== 'int') return null;
    const where = this.range(range);
    const key = this.quotedKeys[0]!;
    const [row] = await this.query<{ lo: unknown; hi: unknown }>(`SELECT MIN(${key}) AS lo, MAX(${key}) AS hi FROM ${this.access.from} WHERE ${where.sql}`, where.params);
    this.stats.bytes += 32;
    const lo = Number(row?.lo);
    const hi = Number(row?.hi);
    // Past 2^53 (or a value that is not a number), the sampled cuts below.
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || typeof row?.lo === 'object' || typeof row?.hi === 'object') return null;
    const cuts: unknown[][] = [];
    for (let i = 1; i < parts; i++) {
      const cut = lo + Math.floor(((hi - lo + 1) * i) / parts);
      if (cut > lo && cut <= hi && cut !== cuts[cuts.length - 1]?.[0]) cuts.push([cut]);
    }
    return cuts;
  }

  /** Every `step`-th key of the range, by ROW_NUMBER: one ordered scan of the key. */
  private async everyNth(range: KeyRange, step: number): Promise<unknown[][]> {
    const where = this.range(range);
    const names = this.quotedKeys.join(', ');
    const rows = await this.query<Record<string, unknown>>(
      `SELECT ${names} FROM (SELECT ${names}, ROW_NUMBER() OVER (ORDER BY ${names}) AS parity_rn FROM ${this.access.from} WHERE ${where.sql}) parity_cuts WHERE parity_rn % ? = 0 ORDER BY parity_rn`,
      [...where.params, step],
    );
    this.stats.bytes += rows.length * 16 * this.quotedKeys.length;
    return rows.map((row) => this.columns.keys.map((k) => row[k]));
  }
}

/** Why the side's rows cannot be matched by checksum alone, or null: a key that repeats (the
 *  streaming diff reports duplicates) or is empty text (such a record is invalid). */
export async function keyProblems(access: SqlAccess, quotedKeys: readonly string[], primaryKey: readonly string[], keys: readonly string[], types: Record<string, string>): Promise<string | null> {
  const notNull = quotedKeys.map((k) => `${k} IS NOT NULL`).join(' AND ');
  const isPrimary = primaryKey.length === keys.length && keys.every((k) => primaryKey.includes(k));
  if (!isPrimary) {
    const repeated = await access.query(`SELECT 1 AS n FROM ${access.from} WHERE ${access.base} AND ${notNull} GROUP BY ${quotedKeys.join(', ')} HAVING COUNT(*) > 1 LIMIT 1`, []);
    if (repeated.length) return 'a key occurs more than once';
  }
  // In PostgreSQL and MySQL only a text column can hold empty text: an integer key needs no
  // scan for it. A SQLite column holds whatever was stored in it, so every key is checked.
  const typed = access.dialect !== 'sqlite';
  const texts = quotedKeys.filter((_, i) => !typed || !/INT|NUMERIC|DECIMAL|REAL|DOUBLE|FLOAT|DATE|TIME|BOOL/i.test(types[keys[i]!] ?? ''));
  if (texts.length === 0) return null;
  const empty = texts.map((k) => `CAST(${k} AS ${access.dialect === 'mysql' ? 'CHAR' : 'TEXT'}) = ''`).join(' OR ');
  const blank = await access.query(`SELECT 1 AS n FROM ${access.from} WHERE ${access.base} AND (${empty}) LIMIT 1`, []);
  return blank.length ? 'a key is empty text' : null;
}

/** A side's segments: the key's columns, and the row text's columns (keys, then the compared
 *  fields; a field the table lacks is NULL, as the streaming diff reads it). */
export async function segmentsOf(
  access: SqlAccess,
  spec: SegmentSpec,
  table: { name: string; columnOf: (field: string) => string | undefined; types: Record<string, string>; primaryKey: readonly string[]; quote: (c: string) => string; trimmed?: (field: string) => boolean },
): Promise<SqlSegments | string> {
  const keys = spec.keyFields.map((f) => table.columnOf(f) ?? f);
  const text = [...spec.keyFields.map((f) => ({ f, key: true })), ...spec.compareFields.map((f) => ({ f, key: false }))].map(({ f, key }) => {
    const c = table.columnOf(f);
    const present = c !== undefined && table.types[c] !== undefined;
    return { name: present ? c : null, column: present ? table.quote(c) : null, type: present ? table.types[c]! : '', key, trim: !key && (table.trimmed?.(f) ?? false) };
  });
  const problem = await keyProblems(access, keys.map(table.quote), table.primaryKey, keys, table.types);
  if (problem) return problem;
  const segments = new SqlSegments(access, { keys, text, quote: table.quote });
  segments.keyOrder = await keyOrders(access, table.name, keys, table.types, table.quote);
  return segments;
}

const BINARY_COLLATIONS = new Set(['c', 'posix', 'c.utf-8', 'c.utf8', 'ucs_basic', 'binary']);

/**
 * How the database orders each key column: "number", "date", "time", "text:binary" (by code
 * point: PostgreSQL's C collations, MySQL's *_bin, SQLite's BINARY), or the collation's name.
 * Two sides cut at the same keys hold the same rows only when they order the key alike.
 */
export async function keyOrders(access: SqlAccess, table: string, keys: readonly string[], types: Record<string, string>, quote: (c: string) => string): Promise<string[]> {
  const { dialect } = access;
  let collations = new Map<string, string>();
  if (dialect === 'postgres') {
    const rows = await access.query<{ name: string; coll: string }>(
      `SELECT a.attname AS name, COALESCE(NULLIF(co.collname, 'default'), (SELECT datcollate FROM pg_database WHERE datname = current_database())) AS coll FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation WHERE a.attrelid = CAST(? AS regclass) AND a.attnum > 0`,
      [table.split('.').map(quote).join('.')],
    );
    collations = new Map(rows.map((r) => [r.name, r.coll]));
  } else if (dialect === 'mysql') {
    const [schema, name] = table.includes('.') ? table.split('.', 2) : [null, table];
    const rows = await access.query<{ name: string; coll: string | null }>(
      `SELECT COLUMN_NAME AS name, COLLATION_NAME AS coll FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schema ? '?' : 'DATABASE()'} AND TABLE_NAME = ?`,
      schema ? [schema, name] : [name],
    );
    collations = new Map(rows.map((r) => [r.name, r.coll ?? 'binary']));
  } else {
    const rows = await access.query<{ sql: string | null }>(`SELECT sql FROM sqlite_master WHERE name = ?`, [table]);
    // A COLLATE (NOCASE, RTRIM) declared on a key column, or in a constraint, orders text
    // otherwise than BINARY; one on another column does not matter here.
    const body = rows[0]?.sql ?? '';
    const parts = body.slice(body.indexOf('(') + 1).split(',');
    const declared = (k: string) => parts.some((p) => /\bCOLLATE\b/i.test(p) && (/^\s*(PRIMARY|UNIQUE|CONSTRAINT)\b/i.test(p) || new RegExp(`^\\s*["\`[]?${k.replace(/\W/g, '\\$&')}["\`\\]]?\\s`, 'i').test(p)));
    const collated = keys.find(declared);
    if (collated !== undefined) return keys.map((k) => `text:sqlite:declared collation on ${collated}`);
  }
  return keys.map((k) => {
    const type = (types[k] ?? '').toUpperCase();
    if (dialect === 'sqlite') {
      if (type.includes('INT') || /REAL|FLOA|DOUB|NUMERIC|DECIMAL/.test(type)) return 'number';
      return 'text:binary';
    }
    const cls = typeClass(dialect, type);
    if (cls === 'int' || cls === 'decimal' || cls === 'float') return 'number';
    if (cls === 'date') return 'date';
    if (cls === 'timestamp' || cls === 'naive-timestamp') return 'time';
    const coll = collations.get(k) ?? 'unknown';
    const binary = BINARY_COLLATIONS.has(coll.toLowerCase()) || (dialect === 'mysql' && coll.toLowerCase().endsWith('_bin'));
    return binary ? 'text:binary' : `text:${dialect}:${coll}`;
  });
}

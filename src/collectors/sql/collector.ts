// Reads an entity side from a SQL table with keyset pagination (WHERE key > last ORDER BY
// key LIMIT n), never OFFSET, so every page costs the same on a million-row table.
import { QueryTypes, type Sequelize } from 'sequelize';
import { describeError, ParityError } from '../../core/errors.js';
import { openSequelize, parseDatabaseUrl, type SqlTarget } from '../../core/sql.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import type { SideSpec } from '../schema.js';
import type { Collector, ProbeResult, ReadOptions } from '../types.js';
import type { SqlSystemConfig } from './schema.js';

export interface SqlCollectorOptions {
  side: SideSpec;
  keyFields: readonly string[];
  baseDir: string;
}

export class SqlCollector implements Collector {
  private readonly system: SqlSystemConfig;
  private readonly target: SqlTarget;
  private readonly table: string;
  private readonly where: string | undefined;
  private readonly keyColumns: string[];
  /** null: every column. */
  private readonly selectColumns: string[] | null;
  private sequelize: Sequelize | undefined;

  constructor(private readonly options: SqlCollectorOptions) {
    const { side } = options;
    if (side.system.type !== 'sql') throw new Error(`SqlCollector given a ${side.system.type} system`);
    this.system = side.system;
    this.target = parseDatabaseUrl(side.system.url, options.baseDir);
    this.table = side.config.table!;
    this.where = side.config.where;
    const columnOf = (field: string) => side.mappings?.find((m) => m.name === field)?.from ?? field;
    this.keyColumns = options.keyFields.map(columnOf);
    this.selectColumns = side.mappings ? [...new Set([...this.keyColumns, ...side.mappings.map((m) => m.from)])] : null;
  }

  private get where_(): string {
    return this.where ? `(${this.where})` : '1 = 1';
  }

  private async db(): Promise<Sequelize> {
    if (!this.sequelize) {
      try {
        this.sequelize = await openSequelize(this.target);
        await this.sequelize.authenticate();
      } catch (err) {
        await this.close();
        throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `system "${this.options.side.systemName}" (${this.target.display}): cannot connect: ${describeError(err)}`, { cause: err });
      }
    }
    return this.sequelize;
  }

  private quote(identifier: string): string {
    const qi = this.sequelize!.getQueryInterface();
    return identifier.split('.').map((part) => qi.quoteIdentifier(part)).join('.');
  }

  private sqlError(action: string, err: unknown): ParityError {
    return new ParityError('PARITY_SQL_ERROR', `system "${this.options.side.systemName}" table ${this.table}: ${action} failed: ${describeError(err)}`, { cause: err });
  }

  private async describe(): Promise<string[]> {
    const db = await this.db();
    const [schema, tableName] = this.table.includes('.') ? this.table.split('.', 2) : [undefined, this.table];
    try {
      const described = await db.getQueryInterface().describeTable(schema ? { tableName: tableName!, schema } : tableName!);
      return Object.keys(described);
    } catch (err) {
      throw this.sqlError('reading the table\'s columns', err);
    }
  }

  async columns(): Promise<string[]> {
    return this.describe();
  }

  async *read({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    const db = await this.db();
    const keys = this.keyColumns.map((c) => this.quote(c));
    const select = this.selectColumns ? this.selectColumns.map((c) => this.quote(c)).join(', ') : '*';
    const notNull = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');
    const orderBy = keys.join(', ');
    const from = this.quote(this.table);

    // Rows whose key is NULL cannot be paged by key; count them as invalid instead of losing them.
    const nullKeys = await this.query<{ n: number | string }>(db, `SELECT COUNT(*) AS n FROM ${from} WHERE ${this.where_} AND NOT (${notNull})`, []);
    const nullCount = Number(nullKeys[0]?.n ?? 0);
    if (nullCount > 0) {
      const invalid: InvalidRecord[] = Array.from({ length: nullCount }, (_, i) => ({ ref: `${this.table} row ${i + 1} of ${nullCount} with a NULL key`, reason: `key column ${this.keyColumns.join(', ')} is NULL` }));
      yield { records: [], invalid };
    }

    let last: unknown[] | null = null;
    let rowNumber = 0;
    for (;;) {
      if (signal?.aborted) throw new ParityError('PARITY_ABORTED', 'read aborted');
      const after: string = last ? ` AND (${keysetCondition(keys)})` : '';
      const params: unknown[] = last ? keysetParams(last) : [];
      const sql: string = `SELECT ${select} FROM ${from} WHERE ${this.where_} AND ${notNull}${after} ORDER BY ${orderBy} LIMIT ${this.system.pageSize}`;
      const rows: Record<string, unknown>[] = await this.query<Record<string, unknown>>(db, sql, params);
      if (rows.length === 0) return;
      const records: NormalizedRecord[] = [];
      const invalid: InvalidRecord[] = [];
      for (const row of rows) {
        rowNumber++;
        const result = mapper.map(row, `${this.table} row ${rowNumber}`);
        if (result.record) records.push(result.record);
        else invalid.push(result.invalid);
      }
      yield { records, invalid };
      if (rows.length < this.system.pageSize) return;
      const lastRow: Record<string, unknown> = rows[rows.length - 1]!;
      last = this.keyColumns.map((c) => lastRow[c]);
    }
  }

  private async query<T>(db: Sequelize, sql: string, replacements: unknown[]): Promise<T[]> {
    try {
      return (await db.query(sql, { type: QueryTypes.SELECT, replacements, raw: true })) as T[];
    } catch (err) {
      throw this.sqlError('reading', err);
    }
  }

  async probe(): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    try {
      const columns = await this.describe();
      const wanted = this.selectColumns ?? this.keyColumns;
      const missing = wanted.filter((c) => !columns.includes(c));
      results.push({
        ok: missing.length === 0,
        check: `table ${this.table}`,
        detail: missing.length === 0 ? `found (${columns.length} columns)` : `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (has ${columns.join(', ')})`,
      });
      if (this.where && missing.length === 0) {
        const db = await this.db();
        await this.query(db, `SELECT 1 FROM ${this.quote(this.table)} WHERE ${this.where_} LIMIT 1`, []);
        results.push({ ok: true, check: `where clause`, detail: 'runs' });
      }
    } catch (err) {
      results.push({ ok: false, check: `table ${this.table}`, detail: describeError(err) });
    }
    return results;
  }

  async close(): Promise<void> {
    const s = this.sequelize;
    this.sequelize = undefined;
    await s?.close();
  }
}

/** (k1 > ?) OR (k1 = ? AND k2 > ?) OR …: portable across SQLite, PostgreSQL and MySQL. */
function keysetCondition(keys: string[]): string {
  return keys
    .map((k, i) => `(${[...keys.slice(0, i).map((p) => `${p} = ?`), `${k} > ?`].join(' AND ')})`)
    .join(' OR ');
}

function keysetParams(last: unknown[]): unknown[] {
  const params: unknown[] = [];
  last.forEach((v, i) => params.push(...last.slice(0, i), v));
  return params;
}

/** Checks that the system answers at all, for `parity validate`. */
export async function probeSqlSystem(system: SqlSystemConfig, baseDir: string): Promise<ProbeResult> {
  const target = parseDatabaseUrl(system.url, baseDir);
  let db: Sequelize | undefined;
  try {
    db = await openSequelize(target);
    await db.authenticate();
    return { ok: true, check: 'connect', detail: `reached ${target.display}` };
  } catch (err) {
    return { ok: false, check: 'connect', detail: `${target.display}: ${describeError(err)}` };
  } finally {
    await db?.close();
  }
}

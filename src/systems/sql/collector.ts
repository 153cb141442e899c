// Reads an entity side from a SQL table or a read-only query with keyset pagination
// (WHERE key > last ORDER BY key LIMIT n), never OFFSET, so every page costs the same on a
// million-row table. Incremental reads add `field > watermark`.
import { QueryTypes, type Sequelize } from 'sequelize';
import { describeError, ParityError } from '../../core/errors.js';
import { openSequelize, sqliteAll, parseDatabaseUrl, readErrorHint, type SqlTarget } from '../../core/sql.js';
import { checkQuery, singleStatement } from './statement.js';
import { keysetPages, rangeBatches, rangesQuery } from './keyset.js';
import { segmentsOf } from './segments.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import type { Collector, ProbeResult, ReadOptions, SegmentSource, SegmentSpec } from '../../collectors/types.js';
import { WatermarkTracker } from '../../collectors/watermark.js';
import type { SqlSideSpec, SqlSystemConfig } from './schema.js';
import type { MetricDef, MetricValue } from '../../collectors/metrics.js';
import { aggregateSql, computeMetrics, type SqlContext } from './metrics.js';
import { pushdownConditions } from './pushdown.js';

export interface SqlCollectorOptions {
  side: SqlSideSpec;
  keyChains: readonly (readonly string[])[];
  baseDir: string;
}

const QUERY_ALIAS = 'parity_q';
/** The incremental column as the database's text (its full precision), beside the row. */
const EXACT_WATERMARK = 'parity_watermark_text';
/** Rows mapped between two pages handed on. */
const MAP_SLICE = 1000;

export class SqlCollector implements Collector {
  private readonly system: SqlSystemConfig;
  private readonly target: SqlTarget;
  private readonly label: string;
  private readonly columnOf: (field: string) => string;
  private readonly keyColumns: string[];
  /** null: every column. */
  private readonly selectColumns: string[] | null;
  private sequelize: Sequelize | undefined;
  private tracker: WatermarkTracker | null = null;
  private bytes = 0;
  /** Queries sent so far (tests check that metrics take one query per grouping). */
  queryCount = 0;

  constructor(private readonly options: SqlCollectorOptions) {
    const { side } = options;
    this.system = side.system;
    this.target = parseDatabaseUrl(side.system.url, options.baseDir);
    this.label = side.config.table ? `table ${side.config.table}` : 'query';
    this.columnOf = (field: string) => side.mappings?.find((m) => m.name === field)?.from ?? field;
    this.keyColumns = [...new Set(options.keyChains.flat().map(this.columnOf))];
    const incremental = side.config.incremental?.field;
    this.selectColumns = side.mappings
      ? [...new Set([...this.keyColumns, ...side.mappings.map((m) => m.from), ...(side.config.pageBy ?? []), ...(incremental ? [incremental] : [])])]
      : null;
  }

  private async db(): Promise<Sequelize> {
    if (!this.sequelize) {
      try {
        this.sequelize = await openSequelize(this.target, { readOnly: { statementTimeoutS: this.system.statementTimeoutS } });
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

  /** What to select from: the table, or the query as a derived table. */
  private source(): string {
    const { table, query } = this.options.side.config;
    if (table) return this.quote(table);
    const checked = checkQuery(query!, this.target.dialect);
    if (checked.problem !== undefined) throw new ParityError('PARITY_CONFIG_INVALID', `system "${this.options.side.systemName}": the query ${checked.problem}`);
    // The newline ends a trailing "-- comment" before the closing parenthesis.
    return `(${checked.sql}\n) ${this.quote(QUERY_ALIAS)}`;
  }

  /** The side's `where:` as a condition, or null. */
  private where(): string | null {
    const { where } = this.options.side.config;
    if (!where) return null;
    const checked = singleStatement(where, this.target.dialect);
    if (checked.problem !== undefined) throw new ParityError('PARITY_CONFIG_INVALID', `system "${this.options.side.systemName}": the where clause ${checked.problem}`);
    return `(${checked.sql}\n)`;
  }

  private sqlError(action: string, err: unknown): ParityError {
    const message = describeError(err);
    return new ParityError('PARITY_SQL_ERROR', `system "${this.options.side.systemName}" ${this.label}: ${action} failed: ${message}${readErrorHint(message, this.system.statementTimeoutS)}`, { cause: err });
  }

  private async query<T>(sql: string, replacements: unknown[]): Promise<T[]> {
    const db = await this.db();
    this.queryCount++;
    try {
      // SQLite: straight to the driver on Sequelize's own (read-only) connection, parameters
      // bound by the driver; Sequelize's query layer costs more than the read itself.
      if (this.target.dialect === 'sqlite') return await sqliteAll<T>(db, sql, replacements);
      // Each read is its own READ ONLY transaction, always rolled back: whatever a query's
      // functions try (a write, a changed session setting) is refused or undone.
      const transaction = await db.transaction();
      try {
        if (this.target.dialect === 'postgres') await db.query('SET TRANSACTION READ ONLY', { transaction });
        return (await db.query(sql, { type: QueryTypes.SELECT, replacements, raw: true, transaction })) as T[];
      } finally {
        await transaction.rollback();
      }
    } catch (err) {
      throw this.sqlError('reading', err);
    }
  }

  private async describe(): Promise<{ columns: string[]; primaryKey: string[]; types?: Record<string, string> } | null> {
    const db = await this.db();
    const { table } = this.options.side.config;
    if (!table) {
      const rows = await this.query<Record<string, unknown>>(`SELECT * FROM ${this.source()} LIMIT 1`, []);
      return rows[0] ? { columns: Object.keys(rows[0]), primaryKey: [] } : null;
    }
    const [schema, tableName] = table.includes('.') ? table.split('.', 2) : [undefined, table];
    try {
      const described = await db.getQueryInterface().describeTable(schema ? { tableName: tableName!, schema } : tableName!);
      const types = Object.fromEntries(Object.entries(described).map(([name, c]) => [name, c.type]));
      return { columns: Object.keys(described), primaryKey: Object.entries(described).filter(([, c]) => c.primaryKey).map(([name]) => name), types };
    } catch (err) {
      throw this.sqlError("reading the table's columns", err);
    }
  }

  async columns(): Promise<string[] | null> {
    return (await this.describe())?.columns ?? null;
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  /** The columns pages are ordered by: the key, or with fallback chains `pageBy` or the primary key. */
  private async pageColumns(): Promise<string[]> {
    if (this.options.keyChains.length === 1) return this.keyColumns;
    if (this.options.side.config.pageBy) return this.options.side.config.pageBy;
    const pk = (await this.describe())?.primaryKey ?? [];
    if (pk.length === 0) {
      throw new ParityError('PARITY_CONFIG_INVALID', `system "${this.options.side.systemName}" ${this.label}: with key fallback chains, set "pageBy" to a unique, non-null column list (there is no primary key to page by)`);
    }
    return pk;
  }

  async *read({ mapper, signal, since, filters: filterFields, window, ranges }: ReadOptions): AsyncIterable<Page> {
    const side = this.options.side;
    const incremental = side.config.incremental?.field;
    this.tracker = new WatermarkTracker(incremental, (row, f) => row[f]);
    await this.db();
    const from = this.source();
    const paging = await this.pageColumns();
    const keys = paging.map((c) => this.quote(c));
    // The paging columns are selected too (a primary key the fields do not map), or the next page could not start after the last row.
    const columns = this.selectColumns ? [...new Set([...this.selectColumns, ...paging])].map((c) => this.quote(c)).join(', ') : '*';
    // PostgreSQL and MySQL timestamps carry microseconds a JS Date drops: the watermark takes
    // the database's own text of the value, so an unchanged row is not read again next time.
    const exact = incremental && this.target.dialect !== 'sqlite' ? `CAST(${this.quote(incremental)} AS ${this.target.dialect === 'postgres' ? 'TEXT' : 'CHAR'}) AS ${this.quote(EXACT_WATERMARK)}` : null;
    const select = exact ? `${columns}, ${exact}` : columns;
    const filters: string[] = [];
    const filterParams: unknown[] = [];
    const where = this.where();
    if (where) filters.push(where);
    if (incremental && since) {
      filters.push(`${this.quote(incremental)} > ?`);
      filterParams.push(since);
    }
    const asked = pushdownConditions(side.mappings, { filters: filterFields, window }, (c) => this.quote(c));
    filters.push(...asked.conditions);
    filterParams.push(...asked.params);
    const base = filters.length ? filters.join(' AND ') : '1 = 1';
    const notNull = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');

    // Rows whose paging key is NULL cannot be paged; count them as invalid instead of losing them.
    const nullKeys = await this.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${from} WHERE ${base} AND NOT (${notNull})`, filterParams);
    const nullCount = Number(nullKeys[0]?.n ?? 0);
    if (nullCount > 0) {
      const invalid: InvalidRecord[] = Array.from({ length: nullCount }, (_, i) => ({ ref: `${this.label} row ${i + 1} of ${nullCount} with a NULL key`, reason: `key column ${paging.join(', ')} is NULL` }));
      yield { records: [], invalid };
    }

    let rowNumber = 0;
    const refOf = (at: number) => `${this.label} row ${at}`;
    const query = { select, from, where: `${base} AND ${notNull}`, params: filterParams, keys, pageSize: this.system.pageSize };
    // Bisection reads the segments that differ, key ranges (small ones several to a query);
    // otherwise the whole table.
    for (const batch of ranges ? rangeBatches(ranges, this.system.pageSize) : [[{ from: null, to: null }]]) {
      const ask = (last: unknown[] | null) => {
        const { sql, params } = rangesQuery(query, batch, last);
        return this.query<Record<string, unknown>>(sql, params);
      };
      for await (const rows of keysetPages(ask, paging, this.system.pageSize)) {
        if (signal?.aborted) throw new ParityError('PARITY_ABORTED', 'read aborted');
        if (ranges) this.bytes += Buffer.byteLength(JSON.stringify(rows));
        // Mapped and handed on in slices: a 5,000-row page is never one long stretch of CPU.
        for (let start = 0; start < rows.length; start += MAP_SLICE) {
          const records: NormalizedRecord[] = [];
          const invalid: InvalidRecord[] = [];
          const end = Math.min(rows.length, start + MAP_SLICE);
          for (let i = start; i < end; i++) {
            const row = rows[i]!;
            rowNumber++;
            if (exact) {
              const text = row[EXACT_WATERMARK];
              delete row[EXACT_WATERMARK];
              this.tracker.see(row, text === null || text === undefined ? undefined : String(text));
            } else this.tracker.see(row);
            const result = mapper.map(row, refOf, rowNumber);
            if (result.record) records.push(result.record);
            else invalid.push(result.invalid);
          }
          yield { records, invalid };
        }
      }
    }
  }

  bytesRead(): number {
    return this.bytes;
  }

  /** The side's segment checksums for bisection, or why it cannot have them. */
  async segments(spec: SegmentSpec): Promise<SegmentSource | string> {
    const { side } = this.options;
    if (!side.config.table) return `${side.systemName} reads a query (bisection needs a table)`;
    await this.db();
    const described = await this.describe();
    if (!described?.types) return `${side.systemName} ${this.label}: its columns cannot be described`;
    const ctx = this.metricContext();
    const pushed = spec.metrics.filter((m) => aggregateSql(m, ctx) !== null);
    if (pushed.length < spec.metrics.length) return `metric ${spec.metrics.find((m) => !pushed.includes(m))!.name} is not computed in the database`;
    const columnOf = (field: string) => (side.mappings ? side.mappings.find((m) => m.name === field)?.from : field);
    const access = { dialect: this.target.dialect, query: <T>(sql: string, params: unknown[]) => this.query<T>(sql, params), from: this.source(), base: this.where() ?? '1 = 1', pageSize: this.system.pageSize, file: this.target.dialect === 'sqlite' ? this.target.storage : undefined };
    const trimmed = (field: string) => side.mappings?.find((m) => m.name === field)?.transforms.every((t) => t.text === 'trim') ?? false;
    const made = await segmentsOf(access, spec, { name: side.config.table, columnOf, types: described.types, primaryKey: described.primaryKey, quote: (c) => this.quote(c), trimmed });
    return typeof made === 'string' ? `${side.systemName} ${this.label}: ${made}` : made;
  }

  /** Metrics computed in the database, one query per grouping (see computeMetrics). */
  async metrics(defs: readonly MetricDef[]): Promise<Map<string, MetricValue>> {
    if (defs.length === 0) return new Map();
    await this.db();
    return computeMetrics(defs, this.metricContext(), { from: this.source(), where: this.where() ?? '1 = 1', query: (sql, params) => this.query(sql, params) });
  }

  private metricContext(): SqlContext {
    const { mappings } = this.options.side;
    const column = (field: string) => {
      if (!mappings) return field;
      const m = mappings.find((x) => x.name === field);
      return m && m.transforms.length === 0 ? m.from : null;
    };
    return { dialect: this.target.dialect, quote: (c) => this.quote(c), column };
  }

  async probe(): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    const check = this.label;
    try {
      const described = await this.describe();
      if (!described) {
        results.push({ ok: true, check, detail: 'runs (no rows yet, so its columns cannot be checked)' });
        return results;
      }
      const { columns } = described;
      const wanted = this.selectColumns ?? this.keyColumns;
      const missing = wanted.filter((c) => !columns.includes(c));
      results.push({
        ok: missing.length === 0,
        check,
        detail: missing.length === 0 ? `found (${columns.length} columns)` : `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (has ${columns.join(', ')})`,
      });
      if (this.options.side.config.where && missing.length === 0) {
        await this.query(`SELECT 1 FROM ${this.source()} WHERE ${this.where()} LIMIT 1`, []);
        results.push({ ok: true, check: 'where clause', detail: 'runs' });
      }
    } catch (err) {
      results.push({ ok: false, check, detail: describeError(err) });
    }
    return results;
  }

  async close(): Promise<void> {
    const s = this.sequelize;
    this.sequelize = undefined;
    await s?.close();
  }
}

// Writes an entity's difference into a SQL table: bulk upserts through Sequelize
// (INSERT … ON CONFLICT (key) DO UPDATE on SQLite and PostgreSQL, ON DUPLICATE KEY UPDATE
// on MySQL/MariaDB), keyed by a unique index on the key columns; soft or hard deletes.
// Rows go in chunks, one transaction per chunk: a chunk the database refuses (a constraint)
// is rolled back alone and its rows are reported; the others are kept.
import { DataTypes, Op, type Model, type ModelAttributes, type ModelStatic, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import { describeError, ParityError } from '../../core/errors.js';
import { classifySql } from '../../core/failure.js';

export interface SqlLoadRow {
  localId: string;
  /** Column → value, key columns included. */
  values: Record<string, unknown>;
  /** Whether the target lacked the record (counted as created) or held another version (updated). */
  exists: boolean;
}

export interface SqlDelete {
  localId: string;
  /** Key column → value. */
  key: Record<string, unknown>;
}

export interface SqlLoadOptions {
  sequelize: Sequelize;
  /** "table" or "schema.table". */
  table: string;
  keyColumns: readonly string[];
  /** Every column the loader writes, key columns included. */
  columns: readonly string[];
  chunkSize: number;
  delete: 'none' | 'soft' | 'hard';
  softDeleteColumn?: string | undefined;
  softDeleteValue?: string | number | boolean | undefined;
  /** Where errors point the user, e.g. "entities.items.target.write". */
  where: string;
}

export interface SqlLoadSummary {
  created: number;
  updated: number;
  deleted: number;
  rejected: number;
  /** Rows of the chunks the database refused, with its reason. */
  rejections: { localId: string; error: string }[];
  /** Statements sent (the bench and tests compare this with the rows written). */
  statements: number;
  /** Rows not written because the connection was lost (or the server busy): for a later run. */
  pending: number;
  pendingIds: string[];
  /** Why the load stopped early, or null. */
  interrupted: string | null;
}

/** How a load is stopped between chunks (a chunk in flight is committed or rolled back whole). */
export interface SqlLoadRun {
  signal?: AbortSignal | undefined;
  /** True once the agent drains: no new chunk starts. */
  draining?: (() => boolean) | undefined;
  onChunk?: (() => void) | undefined;
}

export const DEFAULT_SOFT_DELETE_COLUMN = 'is_deleted';

const isBinaryType = (dbType: string) => /blob|bytea|binary/i.test(dbType);

/** Column types as Sequelize needs them to write values: booleans and dates matter, the rest goes as given. */
function attributeType(dbType: string) {
  const t = dbType.toLowerCase();
  if (isBinaryType(t)) return DataTypes.BLOB;
  if (/bool|^bit\b|tinyint\(1\)/.test(t)) return DataTypes.BOOLEAN;
  if (/^(big)?int|^integer|^smallint|^mediumint|^tinyint/.test(t)) return DataTypes.BIGINT;
  if (/^(decimal|numeric|real|double|float)/.test(t)) return DataTypes.DECIMAL;
  return DataTypes.STRING;
}

/** A column's declared default as a value like `like` ("0", "'active'::character varying",
 *  "b'0'"), or undefined when there is none or it is an expression (now(), a sequence). */
function columnDefault(raw: unknown, like: unknown): unknown {
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (typeof raw === 'number' || typeof raw === 'boolean') return typeof like === 'boolean' ? Boolean(raw) : raw;
  const text = String(raw).replace(/::[\w\s]+$/, '').trim();
  if (text.includes('(')) return undefined;
  const unquoted = /^'(.*)'$/s.exec(text)?.[1]?.replace(/''/g, "'") ?? text;
  if (typeof like === 'number') return Number.isFinite(Number(unquoted)) ? Number(unquoted) : undefined;
  if (typeof like === 'boolean') return /^(1|true|t)$/i.test(unquoted) ? true : /^(0|false|f)$/i.test(unquoted) ? false : undefined;
  return unquoted;
}

export class SqlLoader {
  private model: ModelStatic<Model> | undefined;
  private readonly tableName: { tableName: string; schema?: string };
  private restoreValue: unknown = null;
  /** Binary columns: their values come as base64 text (see binaryAsText) and go in as bytes. */
  private binary: string[] = [];

  constructor(private readonly o: SqlLoadOptions) {
    const parts = o.table.split('.');
    this.tableName = parts.length === 2 ? { schema: parts[0]!, tableName: parts[1]! } : { tableName: o.table };
  }

  private get softColumn(): string {
    return this.o.softDeleteColumn ?? DEFAULT_SOFT_DELETE_COLUMN;
  }

  /**
   * Checks the table before anything is written: it exists, has every column to write and a
   * unique index (or primary key) on exactly the key columns, which the upsert is keyed by.
   */
  async prepare(): Promise<void> {
    if (this.model) return;
    const qi = this.o.sequelize.getQueryInterface();
    const { where } = this.o;
    let described: Record<string, { type: string }>;
    try {
      described = (await qi.describeTable(this.tableName as never)) as Record<string, { type: string }>;
    } catch (err) {
      throw new ParityError('PARITY_CONFIG_INVALID', `${where}.table: cannot read table "${this.o.table}": ${describeError(err)}`);
    }
    const lower = new Map(Object.keys(described).map((c) => [c.toLowerCase(), c]));
    const needed = [...this.o.columns, ...(this.o.delete === 'soft' ? [this.softColumn] : [])];
    const absent = needed.filter((c) => !lower.has(c.toLowerCase()));
    if (absent.length) {
      throw new ParityError('PARITY_CONFIG_INVALID', `${where}: table "${this.o.table}" has no column ${absent.map((c) => `"${c}"`).join(', ')}${this.o.delete === 'soft' && absent.includes(this.softColumn) ? ' (the soft-delete column: add it, or set write.softDeleteColumn)' : ''}`);
    }
    const indexes = (await qi.showIndex(this.tableName as never)) as { unique?: boolean; primary?: boolean; fields?: { attribute: string }[] }[];
    const keySet = this.o.keyColumns.map((c) => c.toLowerCase()).sort().join(',');
    const keyed = indexes.some((i) => (i.unique || i.primary) && (i.fields ?? []).map((f) => f.attribute.toLowerCase()).sort().join(',') === keySet);
    if (!keyed) {
      const cols = this.o.keyColumns.join(', ');
      throw new ParityError('PARITY_CONFIG_INVALID', `${where}: table "${this.o.table}" has no unique index on (${cols}), which the upsert is keyed by: create one (CREATE UNIQUE INDEX ${this.tableName.tableName}_parity_key ON ${this.o.table} (${cols}))`);
    }
    this.binary = this.o.columns.filter((c) => isBinaryType(described[lower.get(c.toLowerCase())!]!.type));
    const attributes: ModelAttributes = {};
    for (const column of new Set(needed)) {
      const actual = lower.get(column.toLowerCase())!;
      attributes[actual] = { type: attributeType(described[actual]!.type), primaryKey: this.o.keyColumns.includes(column) };
    }
    const value = this.o.softDeleteValue ?? true;
    // Upserting a record undeletes it (a created row too): the column's default when it has one
    // (is_deleted DEFAULT 0, status DEFAULT 'active'), else false for a flag, 0 for a number,
    // NULL for a value such as a date.
    const declared = this.o.delete === 'soft' ? columnDefault((described[lower.get(this.softColumn.toLowerCase())!] as { defaultValue?: unknown }).defaultValue, value) : undefined;
    this.restoreValue = declared !== undefined ? declared : typeof value === 'boolean' ? !value : typeof value === 'number' ? 0 : null;
    this.model = this.o.sequelize.define(`parity_${this.tableName.tableName}`, attributes, { ...this.tableName, timestamps: false, freezeTableName: true });
  }

  private bytes(values: Record<string, unknown>): Record<string, unknown> {
    if (this.binary.length === 0) return values;
    const out = { ...values };
    for (const c of this.binary) if (typeof out[c] === 'string') out[c] = Buffer.from(out[c] as string, 'base64');
    return out;
  }

  async load(upserts: readonly SqlLoadRow[], deletes: readonly SqlDelete[], run: SqlLoadRun = {}): Promise<SqlLoadSummary> {
    await this.prepare();
    const model = this.model!;
    const summary: SqlLoadSummary = { created: 0, updated: 0, deleted: 0, rejected: 0, rejections: [], statements: 0, pending: 0, pendingIds: [], interrupted: null };
    const keys = [...this.o.keyColumns];
    const soft = this.o.delete === 'soft';
    const updateColumns = [...new Set([...this.o.columns, ...(soft ? [this.softColumn] : [])])].filter((c) => !keys.includes(c));

    const inChunks = async <T extends { localId: string }>(rows: readonly T[], write: (chunk: T[], transaction: Transaction) => Promise<void>, count: (chunk: T[]) => void) => {
      for (let i = 0; i < rows.length; i += this.o.chunkSize) {
        // Once the connection is lost, or the run is stopping, nothing more is tried: the rest
        // stays for a later run, which finds it still missing or changed.
        if (!summary.interrupted && (run.signal?.aborted || run.draining?.())) summary.interrupted = 'the agent is shutting down';
        if (summary.interrupted) {
          for (const row of rows.slice(i)) summary.pendingIds.push(row.localId);
          summary.pending += rows.length - i;
          return;
        }
        const chunk = rows.slice(i, i + this.o.chunkSize);
        try {
          await this.o.sequelize.transaction((transaction) => write(chunk, transaction));
          count(chunk);
          run.onChunk?.();
        } catch (err) {
          const error = describeError(err);
          if (classifySql(err).action === 'retry-later') {
            // The chunk was rolled back with its transaction; its rows are not the database's to refuse.
            summary.interrupted = error;
            summary.pending += chunk.length;
            for (const row of chunk) summary.pendingIds.push(row.localId);
            continue;
          }
          summary.rejected += chunk.length;
          for (const row of chunk) summary.rejections.push({ localId: row.localId, error });
        }
      }
    };

    await inChunks(
      upserts,
      async (chunk, transaction) => {
        const rows = chunk.map((r) => this.bytes(soft ? { ...r.values, [this.softColumn]: this.restoreValue } : r.values));
        summary.statements++;
        await model.bulkCreate(rows, {
          transaction,
          conflictAttributes: keys,
          updateOnDuplicate: updateColumns.length ? updateColumns : keys,
          validate: false,
          hooks: false,
          returning: false,
        });
      },
      (chunk) => {
        for (const r of chunk) summary[r.exists ? 'updated' : 'created']++;
      },
    );

    if (this.o.delete !== 'none') {
      await inChunks(
        deletes,
        async (chunk, transaction) => {
          const where: WhereOptions =
            keys.length === 1 ? { [keys[0]!]: { [Op.in]: chunk.map((d) => d.key[keys[0]!] as string) } } : { [Op.or]: chunk.map((d) => Object.fromEntries(keys.map((k) => [k, d.key[k]]))) };
          summary.statements++;
          if (soft) await model.update({ [this.softColumn]: this.o.softDeleteValue ?? true }, { where, transaction, hooks: false });
          else await model.destroy({ where, transaction, hooks: false });
        },
        (chunk) => {
          summary.deleted += chunk.length;
        },
      );
    }
    return summary;
  }
}

// Writes an entity's difference into a SQL target through the loader: the key's and the
// compared fields' columns, bulk upserts by the key's unique index, deletes as configured.
import { decodeKeyParts } from '../../core/canonical.js';
import { describeError } from '../../core/errors.js';
import type { NormalizedRecord, ProbeResult } from '../../core/record.js';
import type { Sequelize } from 'sequelize';
import { openSequelize, parseDatabaseUrl } from '../../core/sql.js';
import { emptyPushResult, type PushPlan, type PushResult, type PushRun, type Pusher } from '../../push/types.js';
import type { PusherContext, WriteTarget } from '../types.js';
import { SqlLoader, type SqlDelete, type SqlLoadRow } from './loader.js';
import type { SqlSideSpec, SqlWriteConfig } from './schema.js';

export class SqlPusher implements Pusher {
  private readonly side: SqlSideSpec;
  private readonly write: SqlWriteConfig;
  private readonly keyFields: string[];

  constructor(
    private readonly target: WriteTarget,
    private readonly context: Pick<PusherContext, 'baseDir'>,
  ) {
    this.side = target.side as SqlSideSpec;
    this.write = target.write as SqlWriteConfig;
    this.keyFields = [...target.keyChains[0]!];
  }

  private columnOf(field: string): string {
    return this.side.mappings?.find((m) => m.name === field)?.from ?? field;
  }

  private loader(sequelize: Sequelize, fields: readonly string[]): SqlLoader {
    return new SqlLoader({
      sequelize,
      table: this.write.table ?? this.side.config.table!,
      keyColumns: this.keyFields.map((f) => this.columnOf(f)),
      columns: fields.map((f) => this.columnOf(f)),
      chunkSize: this.write.batchSize,
      delete: this.write.delete,
      softDeleteColumn: this.write.softDeleteColumn,
      softDeleteValue: this.write.softDeleteValue,
      where: this.target.where,
    });
  }

  /** The table exists, has the columns to write and a unique index on the key. */
  async probe(): Promise<ProbeResult[]> {
    let sequelize: Sequelize | undefined;
    try {
      sequelize = await openSequelize(parseDatabaseUrl(this.side.system.url, this.context.baseDir));
      await this.loader(sequelize, [...new Set([...this.keyFields, ...(this.target.compare ?? [])])]).prepare();
      return [{ ok: true, check: 'write', detail: `table ${this.write.table ?? this.side.config.table} has the columns to write and a unique index on (${this.keyFields.map((f) => this.columnOf(f)).join(', ')})` }];
    } catch (err) {
      return [{ ok: false, check: 'write', detail: describeError(err) }];
    } finally {
      await sequelize?.close();
    }
  }

  async push(plan: PushPlan, run: PushRun): Promise<PushResult> {
    // Attachment columns are written by the uploader, with the file's bytes.
    const fields = [...new Set([...this.keyFields, ...plan.compareFields])].filter((f) => !this.target.attachments.includes(f));
    const rowOf = (r: NormalizedRecord, exists: boolean): SqlLoadRow => ({
      localId: r.key,
      values: Object.fromEntries(fields.map((f) => [this.columnOf(f), r.fields[f] ?? null])),
      exists,
    });
    const keyOf = (r: NormalizedRecord): SqlDelete => {
      const parts = this.keyFields.every((f) => r.fields[f] !== undefined) ? this.keyFields.map((f) => r.fields[f]) : decodeKeyParts(r.key, this.keyFields.length);
      return { localId: r.key, key: Object.fromEntries(this.keyFields.map((f, i) => [this.columnOf(f), parts[i]])) };
    };
    const sequelize = await openSequelize(parseDatabaseUrl(this.side.system.url, this.context.baseDir));
    try {
      const summary = await this.loader(sequelize, fields).load(
        plan.upserts.map((u) => rowOf(u.record, u.exists)),
        plan.deletes.map(keyOf),
        { signal: run.signal, draining: run.draining, onChunk: run.onBatch },
      );
      const result = emptyPushResult();
      Object.assign(result, { created: summary.created, updated: summary.updated, deleted: summary.deleted, rejected: summary.rejected, pending: summary.pending, rejections: summary.rejections });
      if (summary.interrupted) {
        // Not the rows' fault: they are written by a later run, which finds them still missing or changed.
        result.deferred = summary.interrupted;
        run.log.warn({ pending: summary.pending, err: summary.interrupted }, 'the rest waits for the next run');
      }
      const refused = new Set([...summary.rejections.map((r) => r.localId), ...summary.pendingIds]);
      for (const u of plan.upserts) if (!refused.has(u.record.key)) result.delivered.set(u.record.key, u.record.hash);
      if (this.write.delete !== 'none') for (const r of plan.deletes) if (!refused.has(r.key)) result.delivered.set(r.key, null);
      run.log.info({ created: summary.created, updated: summary.updated, deleted: summary.deleted, rejected: summary.rejected, statements: summary.statements }, 'rows written');
      return result;
    } finally {
      await sequelize.close();
    }
  }

  async close(): Promise<void> {}
}

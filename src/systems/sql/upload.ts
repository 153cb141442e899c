// Writes attachments into a SQL target: the file's bytes into the attachment field's column
// (a BLOB, bytea or LONGBLOB) of the row with the record's key. The row was written by the
// push just before; setting the same bytes twice leaves the same row.
import type { Sequelize } from 'sequelize';
import { openSequelize, parseDatabaseUrl } from '../../core/sql.js';
import type { AttachmentSink, AttachmentUpload, WriteTarget } from '../types.js';
import type { SqlSideSpec, SqlWriteConfig } from './schema.js';

export class SqlUploader implements AttachmentSink {
  private sequelize: Promise<Sequelize> | null = null;
  private readonly side: SqlSideSpec;
  private readonly table: string;

  constructor(
    target: WriteTarget,
    private readonly baseDir: string,
  ) {
    this.side = target.side as SqlSideSpec;
    this.table = (target.write as SqlWriteConfig).table ?? this.side.config.table!;
  }

  private columnOf(field: string): string {
    return this.side.mappings?.find((m) => m.name === field)?.from ?? field;
  }

  async put(u: AttachmentUpload): Promise<void> {
    this.sequelize ??= openSequelize(parseDatabaseUrl(this.side.system.url, this.baseDir));
    const sequelize = await this.sequelize;
    const where = Object.fromEntries(Object.entries(u.keyValues).map(([f, v]) => [this.columnOf(f), v]));
    const changed: unknown = await sequelize.getQueryInterface().bulkUpdate(this.table, { [this.columnOf(u.field)]: u.body }, where);
    if (changed === 0) throw new Error(`no row of ${this.table} has this key`);
  }

  async close(): Promise<void> {
    if (this.sequelize) await (await this.sequelize).close();
  }
}

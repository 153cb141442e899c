// Config schema of a SQL system: one database URL (sqlite:, postgres://, mysql://, mariadb://).
import { z } from 'zod';
import { commonSideShape, type SideSpec } from '../../collectors/schema.js';
import { commonWriteShape } from '../../push/schema.js';

export const sqlSystemSchema = z.strictObject({
  type: z.literal('sql'),
  url: z.string().min(1),
  /** Rows per keyset page. */
  pageSize: z.number().int().positive().max(100000).default(5000),
  /** A read statement running longer than this is cancelled by the database (PostgreSQL, MySQL/MariaDB). */
  statementTimeoutS: z.number().positive().default(300),
});
export type SqlSystemConfig = z.infer<typeof sqlSystemSchema>;

/** Where a SQL side reads: a table (with an optional where) or one read-only query. */
export const sqlSideShape = {
  table: z.string().min(1).optional(),
  where: z.string().min(1).optional(),
  query: z.string().min(1).optional(),
  /** Columns to page by when the key cannot be (key fallback chains); default: the primary key. */
  pageBy: z.array(z.string().min(1)).min(1).optional(),
};
const sqlSideSchema = z.strictObject({ ...commonSideShape, ...sqlSideShape });
export type SqlSideConfig = z.infer<typeof sqlSideSchema>;
export type SqlSideSpec = SideSpec<SqlSystemConfig, SqlSideConfig>;

/** A SQL target's write block: rows upserted by the key's unique index, in transactions of batchSize. */
export const sqlWriteShape = {
  /** The table to write (default: the side's `table`). */
  table: z.string().optional(),
  softDeleteColumn: z.string().optional(),
  softDeleteValue: z.union([z.string(), z.number(), z.boolean()]).optional(),
};
export const sqlWriteSchema = z.strictObject({ ...commonWriteShape, batchSize: commonWriteShape.batchSize.default(1000), ...sqlWriteShape });
export type SqlWriteConfig = z.infer<typeof sqlWriteSchema>;

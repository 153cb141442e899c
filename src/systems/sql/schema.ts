// Config schema of a SQL system: one database URL (sqlite:, postgres://, mysql://, mariadb://).
import { z } from 'zod';

export const sqlSystemSchema = z.strictObject({
  type: z.literal('sql'),
  url: z.string().min(1),
  /** Rows per keyset page. */
  pageSize: z.number().int().positive().max(100000).default(5000),
  /** A read statement running longer than this is cancelled by the database (PostgreSQL, MySQL/MariaDB). */
  statementTimeoutS: z.number().positive().default(300),
});
export type SqlSystemConfig = z.infer<typeof sqlSystemSchema>;

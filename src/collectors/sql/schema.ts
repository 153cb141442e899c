// Config schema of a SQL system: one database URL (sqlite:, postgres://, mysql://, mariadb://).
import { z } from 'zod';

export const sqlSystemSchema = z.strictObject({
  type: z.literal('sql'),
  url: z.string().min(1),
  /** Rows per keyset page. */
  pageSize: z.number().int().positive().max(100000).default(5000),
});
export type SqlSystemConfig = z.infer<typeof sqlSystemSchema>;

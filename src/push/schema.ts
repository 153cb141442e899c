// Config schema of a target side's `write` block: how differences are synced into it.
import { z } from 'zod';

export const writeSchema = z.strictObject({
  /** HTTP: the sync endpoint. */
  path: z.string().optional(),
  /** SQL: the table to write (default: the side's `table`). */
  table: z.string().optional(),
  /** Records per request (HTTP, default 100) or per transaction (SQL, default 1000). */
  batchSize: z.number().int().positive().max(10000).optional(),
  delete: z.enum(['none', 'soft', 'hard']).default('none'),
  softDeleteColumn: z.string().optional(),
  softDeleteValue: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** HTTP: `./hooks.ts#name`, a function that shapes the request body for another dialect. */
  request: z.string().optional(),
  /** HTTP: `./hooks.ts#name`, a function that reads the answer of another dialect into results. */
  response: z.string().optional(),
  /** Read the pushed keys back from the target and compare them again (closed loop). */
  verify: z.boolean().default(true),
});
export type WriteConfig = z.infer<typeof writeSchema>;

export const DEFAULT_HTTP_BATCH = 100;
export const DEFAULT_SQL_BATCH = 1000;

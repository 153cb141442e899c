// Config schema of a target side's `write` block: how differences are synced into it.
import { z } from 'zod';

export const writeSchema = z.strictObject({
  path: z.string().optional(),
  table: z.string().optional(),
  batchSize: z.number().int().positive().max(10000).default(100),
  delete: z.enum(['none', 'soft', 'hard']).default('none'),
  softDeleteColumn: z.string().optional(),
  softDeleteValue: z.union([z.string(), z.number(), z.boolean()]).optional(),
  request: z.string().optional(),
});
export type WriteConfig = z.infer<typeof writeSchema>;

// Config schema of what every target's `write` block takes, whatever its system. Each system
// type that can be written adds its own keys and its batchSize default in its folder
// (src/systems/<type>/schema.ts); the registry composes them.
import { z } from 'zod';

export const commonWriteShape = {
  /** Records per request (HTTP) or per transaction (SQL); each writer has its own default. */
  batchSize: z.number().int().positive().max(10000),
  delete: z.enum(['none', 'soft', 'hard']).default('none'),
  /** Read the pushed keys back from the target and compare them again (closed loop). */
  verify: z.boolean().default(true),
};

const commonWriteSchema = z.strictObject({ ...commonWriteShape, batchSize: commonWriteShape.batchSize.optional() });
/** `delete` is none, soft or hard, or for a target written record by record the request that
 *  deletes one (any other value than 'none' turns deletes on). */
export type CommonWriteConfig = Omit<z.infer<typeof commonWriteSchema>, 'delete'> & { delete: 'none' | 'soft' | 'hard' | { method: string; path: string } };

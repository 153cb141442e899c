// Config schema of a CSV file system (read with csv-parse).
import { z } from 'zod';

export const csvSystemSchema = z.strictObject({
  type: z.literal('csv'),
  path: z.string().min(1),
  delimiter: z.string().min(1).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'latin1', 'utf16le']).default('utf8'),
});

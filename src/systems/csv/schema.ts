// Config schema of a CSV file system (read with csv-parse).
import { z } from 'zod';
import { commonSideShape, refreshSchema, type SideSpec } from '../../collectors/schema.js';

export const csvSystemSchema = z.strictObject({
  type: z.literal('csv'),
  path: z.string().min(1),
  delimiter: z.string().min(1).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'latin1', 'utf16le']).default('utf8'),
  /** A command that writes the export before it is read. */
  refresh: refreshSchema.optional(),
});
export type CsvSystemConfig = z.infer<typeof csvSystemSchema>;

/** Where a CSV side reads: the header row (the lines before it are skipped). */
export const csvSideShape = {
  headerRow: z.number().int().min(1).optional(),
};
const csvSideSchema = z.strictObject({ ...commonSideShape, ...csvSideShape });
export type CsvSideConfig = z.infer<typeof csvSideSchema>;
export type CsvSideSpec = SideSpec<CsvSystemConfig, CsvSideConfig>;

// Config schema of the systems and of the read part of an entity's side. Each system
// type's own schema lives in its collector's folder; this file composes them.
import { z } from 'zod';
import { httpSystemSchema, paginationSchema } from './http/schema.js';
import { sqlSystemSchema } from './sql/schema.js';
import { excelSystemSchema } from './excel/schema.js';
import { csvSystemSchema } from './csv/schema.js';
import type { FieldMapping } from './mapper.js';

export const systemSchema = z.discriminatedUnion('type', [httpSystemSchema, sqlSystemSchema, excelSystemSchema, csvSystemSchema]);
export type SystemConfig = z.infer<typeof systemSchema>;

export const fieldSpecSchema = z.union([
  z.string().min(1),
  z.strictObject({ from: z.string().min(1).optional(), transform: z.string().optional() }),
]);

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Where and how a side is read. The push stage adds `write`. */
export const readSideSchema = z.strictObject({
  system: z.string().min(1),
  // SQL
  table: z.string().min(1).optional(),
  where: z.string().min(1).optional(),
  query: z.string().min(1).optional(),
  /** Columns to page by when the key cannot be (key fallback chains); default: the primary key. */
  pageBy: z.array(z.string().min(1)).min(1).optional(),
  // HTTP
  path: z.string().min(1).optional(),
  list: z.string().optional(),
  pagination: paginationSchema.optional(),
  params: z.record(z.string(), scalar).optional(),
  // Excel, CSV
  sheet: z.union([z.string(), z.number().int().min(1)]).optional(),
  headerRow: z.number().int().min(1).optional(),
  // every type
  fields: z.record(z.string(), fieldSpecSchema).optional(),
  incremental: z.strictObject({ field: z.string().min(1), param: z.string().optional() }).optional(),
});
export type ReadSideConfig = z.infer<typeof readSideSchema>;

/** What a collector needs to know about its side, resolved from the config. */
export interface SideSpec {
  role: 'source' | 'target';
  systemName: string;
  system: SystemConfig;
  config: ReadSideConfig;
  /** null when the side has no `fields`: its columns are the entity's field names. */
  mappings: FieldMapping[] | null;
}

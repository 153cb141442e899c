// Config schema of an Excel workbook system (read with exceljs' streaming reader).
import { z } from 'zod';
import { commonSideShape, refreshSchema, type SideSpec } from '../../collectors/schema.js';

export const excelSystemSchema = z.strictObject({
  type: z.literal('excel'),
  path: z.string().min(1),
  refresh: refreshSchema.optional(),
});
export type ExcelSystemConfig = z.infer<typeof excelSystemSchema>;

/** Where an Excel side reads: a sheet (by name or number) and its header row. */
export const excelSideShape = {
  sheet: z.union([z.string(), z.number().int().min(1)]).optional(),
  headerRow: z.number().int().min(1).optional(),
};
const excelSideSchema = z.strictObject({ ...commonSideShape, ...excelSideShape });
export type ExcelSideConfig = z.infer<typeof excelSideSchema>;
export type ExcelSideSpec = SideSpec<ExcelSystemConfig, ExcelSideConfig>;

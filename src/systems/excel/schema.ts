// Config schema of an Excel workbook system (read with exceljs' streaming reader).
import { z } from 'zod';

export const excelSystemSchema = z.strictObject({
  type: z.literal('excel'),
  path: z.string().min(1),
  refresh: z
    .strictObject({
      command: z.string().min(1),
      timeoutS: z.number().positive().default(120),
      waitNewer: z.boolean().default(false),
    })
    .optional(),
});

// The Excel workbook system type: read with exceljs' streaming reader, refreshed by a
// command first when configured; not written.
import { probeFile } from '../../collectors/file.js';
import type { SystemType } from '../types.js';
import { lazyCollector } from '../lazy.js';
import { excelSideShape, excelSystemSchema, type ExcelSideConfig, type ExcelSideSpec, type ExcelSystemConfig } from './schema.js';

export const excelSystem: SystemType = {
  type: 'excel',
  schema: excelSystemSchema,
  sideShape: excelSideShape,
  capabilities: { canFilter: () => false, nestedFields: false },
  describe: (system) => (system as ExcelSystemConfig).path,
  describeSide: (side) => {
    const sheet = (side as ExcelSideConfig).sheet;
    return sheet === undefined ? null : String(sheet);
  },
  secrets: () => [],
  checkSide: () => undefined,
  // exceljs takes a third of a second to load: only a command that reads a workbook loads it.
  createCollector: (side, context) => lazyCollector(async () => new (await import('./collector.js')).ExcelCollector({ side: side as ExcelSideSpec, baseDir: context.baseDir, lastRunAt: context.lastRunAt ?? null })),
  probe: async (_name, system, baseDir) => probeFile((system as ExcelSystemConfig).path, baseDir),
};

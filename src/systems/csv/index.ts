// The CSV file system type: read with csv-parse; not written.
import { probeFile } from '../../collectors/file.js';
import type { SystemType } from '../types.js';
import { CsvCollector } from './collector.js';
import { csvSideShape, csvSystemSchema, type CsvSideSpec, type CsvSystemConfig } from './schema.js';

export const csvSystem: SystemType = {
  type: 'csv',
  schema: csvSystemSchema,
  sideShape: csvSideShape,
  capabilities: { canFilter: () => false, nestedFields: false },
  describe: (system) => (system as CsvSystemConfig).path,
  describeSide: () => null,
  secrets: () => [],
  checkSide: () => undefined,
  createCollector: (side, context) => new CsvCollector(side as CsvSideSpec, context.baseDir, context.lastRunAt ?? null),
  probe: async (_name, system, baseDir) => probeFile((system as CsvSystemConfig).path, baseDir),
};

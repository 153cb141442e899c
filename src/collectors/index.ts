// The collector registry: maps a system's `type` to the collector that reads it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CsvCollector } from './csv/collector.js';
import { ExcelCollector } from './excel/collector.js';
import { HttpCollector, probeHttpSystem } from './http/collector.js';
import { SqlCollector, probeSqlSystem } from './sql/collector.js';
import type { SideSpec, SystemConfig } from './schema.js';
import type { Collector, ProbeResult } from './types.js';

export type { Collector, ProbeResult, ReadOptions } from './types.js';
export type { SideSpec, SystemConfig } from './schema.js';
export { RecordMapper, type FieldMapping } from './mapper.js';

export interface CollectorContext {
  keyChains: readonly (readonly string[])[];
  /** Relative file paths resolve against this folder (the config's). */
  baseDir: string;
  /** When the last completed run started (for an export's refresh.waitNewer). */
  lastRunAt?: Date | null;
}

/** Creates the collector of a side. No I/O happens until it is used. */
export function createCollector(side: SideSpec, context: CollectorContext): Collector {
  switch (side.system.type) {
    case 'sql':
      return new SqlCollector({ side, keyChains: context.keyChains, baseDir: context.baseDir });
    case 'http':
      return new HttpCollector(side);
    case 'csv':
      return new CsvCollector(side, context.baseDir);
    case 'excel':
      return new ExcelCollector({ side, baseDir: context.baseDir, lastRunAt: context.lastRunAt ?? null });
  }
}

/** Reaches a system for `parity validate`. */
export async function probeSystem(name: string, system: SystemConfig, baseDir: string): Promise<ProbeResult> {
  switch (system.type) {
    case 'sql':
      return probeSqlSystem(system, baseDir);
    case 'http':
      return probeHttpSystem(system, name);
    case 'csv':
    case 'excel': {
      const file = path.resolve(baseDir, system.path);
      return existsSync(file) ? { ok: true, check: 'connect', detail: `file ${system.path} exists` } : { ok: false, check: 'connect', detail: `file ${system.path} does not exist (${file})` };
    }
  }
}

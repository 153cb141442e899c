// The collector registry: maps a system's `type` to the collector that reads it.
import { ParityError } from '../core/errors.js';
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
}

/** Creates the collector of a side. No I/O happens until it is used. */
export function createCollector(side: SideSpec, context: CollectorContext): Collector {
  switch (side.system.type) {
    case 'sql':
      return new SqlCollector({ side, keyChains: context.keyChains, baseDir: context.baseDir });
    case 'http':
      return new HttpCollector(side);
    default:
      throw new ParityError('PARITY_CONFIG_UNSUPPORTED', `${side.system.type} systems are not supported yet`);
  }
}

/** Reaches a system for `parity validate`. */
export async function probeSystem(name: string, system: SystemConfig, baseDir: string): Promise<ProbeResult> {
  switch (system.type) {
    case 'sql':
      return probeSqlSystem(system, baseDir);
    case 'http':
      return probeHttpSystem(system, name);
    default:
      return { ok: false, check: 'connect', detail: `${system.type} systems are not supported yet` };
  }
}

// The collector stage's contract and shared parts. Each system type's collector is in its
// folder under src/systems/; the registry creates them.
export type { Collector, ProbeResult, ReadOptions } from './types.js';
export type { CommonSideConfig, SideSpec } from './schema.js';
export { RecordMapper, type FieldMapping } from './mapper.js';

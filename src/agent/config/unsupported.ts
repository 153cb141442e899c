// Parts of DESIGN's config that parity does not carry out yet. They are refused at load
// ("not supported yet: <path>") rather than silently ignored; each entry is removed when
// the feature lands.
import type { PathPart } from './load.js';
import type { ParityConfig } from './schema.js';

export interface Unsupported {
  path: PathPart[];
  detail?: string;
}

export function unsupportedPaths(config: ParityConfig): Unsupported[] {
  const out: Unsupported[] = [];
  const top = ['server', 'schedule', 'alerts'] as const;
  for (const k of top) if (config[k] !== undefined) out.push({ path: [k] });

  for (const [name, system] of Object.entries(config.systems)) {
    const at = ['systems', name];
    if (system.type === 'http' && system.breaker !== undefined) out.push({ path: [...at, 'breaker'], detail: 'the circuit breaker guards pushes, which are not built yet' });
  }

  for (const [name, entity] of Object.entries(config.entities)) {
    const at = ['entities', name];
    if (entity.safety?.maxDeleteRatio !== undefined) out.push({ path: [...at, 'safety', 'maxDeleteRatio'], detail: 'it limits deletes, and pushing to the target is not built yet' });
    for (const role of ['source', 'target'] as const) {
      const side = entity[role];
      if (side.write !== undefined) out.push({ path: [...at, role, 'write'], detail: 'pushing to the target' });
    }
  }
  return out;
}

// Parts of DESIGN's config that parity does not carry out yet. They are refused at load
// ("not supported yet: <path>") rather than silently ignored; each entry is removed when
// the feature lands.
import type { PathPart } from '../../core/config-path.js';
import type { ParityConfig } from './schema.js';

export interface Unsupported {
  path: PathPart[];
  detail?: string;
}

export function unsupportedPaths(config: ParityConfig): Unsupported[] {
  const out: Unsupported[] = [];

  for (const [name, entity] of Object.entries(config.entities)) {
    const at = ['entities', name];
    for (const role of ['source', 'target'] as const) {
      const side = entity[role];
      if (side.write === undefined) continue;
      if (role === 'source') out.push({ path: [...at, role, 'write'], detail: 'a source is only read' });
    }
  }
  return out;
}

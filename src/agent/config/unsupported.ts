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
  const top = ['server', 'schedule', 'alerts', 'transforms'] as const;
  for (const k of top) if (config[k] !== undefined) out.push({ path: [k] });
  config.reports.formats.forEach((f, i) => {
    if (f === 'html') out.push({ path: ['reports', 'formats', i], detail: 'html reports; use json and md' });
  });

  for (const [name, system] of Object.entries(config.systems)) {
    const at = ['systems', name];
    if (system.type === 'excel' || system.type === 'csv') out.push({ path: [...at, 'type'], detail: `${system.type} systems` });
    if (system.type === 'http') {
      if (!['none', 'bearer', 'header'].includes(system.auth.type)) out.push({ path: [...at, 'auth', 'type'], detail: `auth type ${system.auth.type}` });
      for (const k of ['rateLimit', 'retry', 'breaker'] as const) if (system[k] !== undefined) out.push({ path: [...at, k] });
    }
  }

  for (const [name, entity] of Object.entries(config.entities)) {
    const at = ['entities', name];
    if (entity.keys) out.push({ path: [...at, 'keys'], detail: 'key fallback chains; use key' });
    for (const k of ['metrics', 'safety', 'tolerance', 'validate'] as const) if (entity[k] !== undefined) out.push({ path: [...at, k] });
    if (entity.conflict.startsWith('newest-wins')) out.push({ path: [...at, 'conflict'], detail: 'newest-wins' });
    for (const role of ['source', 'target'] as const) {
      const side = entity[role];
      for (const k of ['query', 'incremental', 'write'] as const) if (side[k] !== undefined) out.push({ path: [...at, role, k] });
      if (side.pagination && side.pagination.type !== 'page') out.push({ path: [...at, role, 'pagination', 'type'], detail: `${side.pagination.type} pagination` });
    }
  }
  return out;
}

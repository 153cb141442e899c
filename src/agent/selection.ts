// Which entities a run takes and which of their records: --entities, --source (the entities
// whose source is that system) and --filter (equality on an entity's fields). A name or field
// that does not exist is a usage error, said in one line before anything runs.
import { ParityError } from '../core/errors.js';
import { createCollector } from '../systems/registry.js';
import type { LoadedConfig, ResolvedEntity } from './config/load.js';

export interface Selection {
  source?: string | undefined;
  /** Field → value, compared with the field's canonical text. */
  filters?: Record<string, string> | undefined;
}

export function selectEntities(loaded: LoadedConfig, names: readonly string[] | undefined, source?: string): ResolvedEntity[] {
  let chosen = loaded.entities;
  if (names && names.length > 0) {
    const known = new Set(loaded.entities.map((e) => e.name));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new ParityError('PARITY_USAGE', `unknown entit${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((n) => `"${n}"`).join(', ')} (configured: ${[...known].join(', ')})`);
    }
    chosen = chosen.filter((e) => names.includes(e.name));
  }
  if (source !== undefined) {
    const sources = [...new Set(loaded.entities.map((e) => e.source.systemName))];
    if (!sources.includes(source)) throw new ParityError('PARITY_USAGE', `--source ${source}: no entity reads from a system of that name (sources: ${sources.join(', ')})`);
    chosen = chosen.filter((e) => e.source.systemName === source);
    if (chosen.length === 0) throw new ParityError('PARITY_USAGE', `--source ${source}: none of the selected entities reads from it`);
  }
  return chosen;
}

const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** The window an entity is compared in this run: its own (window: { field, last }), its
 *  length replaced by --window, or none with --window all or --full. */
export function windowOf(entity: ResolvedEntity, options: { window?: string | undefined; full?: boolean | undefined }, now: Date): { field: string; from: string; param?: string | undefined } | undefined {
  const own = entity.config.window;
  if (!own || options.full || options.window === 'all') return undefined;
  const last = options.window ?? own.last;
  const m = /^(\d+)([hdw])$/.exec(last)!;
  return { field: own.field, from: new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]).toISOString(), param: own.param };
}

/** Every filter names a field of every selected entity's source: mapped, compared, a key, or a
 *  column the source shows. */
export async function checkFilters(loaded: LoadedConfig, entities: readonly ResolvedEntity[], filters: Readonly<Record<string, string>>): Promise<void> {
  for (const entity of entities) {
    const side = entity.source;
    let fields: string[] | null = side.mappings ? side.mappings.map((m) => m.name) : null;
    if (!fields) {
      const collector = createCollector(side, { keyChains: entity.keyChains, baseDir: loaded.baseDir });
      try {
        fields = (await collector.columns()) ?? [...entity.keyFields, ...(entity.compare ?? [])];
      } finally {
        await collector.close();
      }
    }
    const unknown = Object.keys(filters).find((f) => !fields!.includes(f));
    if (unknown !== undefined) throw new ParityError('PARITY_USAGE', `--filter ${unknown}: entity "${entity.name}" has no field "${unknown}" (its fields: ${fields.join(', ')})`);
  }
}

/** A date-like value as epoch ms; -Infinity when it is none (the record is outside any window). */
export function timeOf(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return Number.NEGATIVE_INFINITY;
  // "2026-11-22 10:00:00" (SQL text) reads as UTC, like an ISO time without a zone.
  const t = Date.parse(/^\d{4}-\d\d-\d\d \d/.test(v) && !/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? `${v.replace(' ', 'T')}Z` : v);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

// What a SQL side asks of the database beyond its own `where`: --filter equalities and a
// rolling window's start, on the columns that hold those fields as they are (no transform).
// The database returns the same rows or more; the agent filters the records exactly.
import type { FieldMapping } from '../../collectors/mapper.js';
import type { ReadOptions } from '../../collectors/types.js';

export function pushdownConditions(
  mappings: readonly FieldMapping[] | null,
  options: Pick<ReadOptions, 'filters' | 'window'>,
  quote: (column: string) => string,
): { conditions: string[]; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  /** The column of a field read as it is, or null when a transform or a path stands between. */
  const columnOf = (field: string): string | null => {
    if (!mappings) return field;
    const m = mappings.find((x) => x.name === field);
    return m && m.transforms.length === 0 && !m.from.includes('.') ? m.from : null;
  };
  for (const [field, value] of Object.entries(options.filters ?? {})) {
    const column = columnOf(field);
    if (column === null) continue;
    conditions.push(`${quote(column)} = ?`);
    params.push(value);
  }
  if (options.window) {
    const column = columnOf(options.window.field);
    if (column !== null) {
      // A day earlier, as a date alone: a superset whether the column holds timestamps,
      // dates or 'YYYY-MM-DD hh:mm:ss' text (SQLite), whatever the database's time zone.
      conditions.push(`${quote(column)} >= ?`);
      params.push(new Date(Date.parse(options.window.from) - 86_400_000).toISOString().slice(0, 10));
    }
  }
  return { conditions, params };
}

// What a SQL side's segments work with: its query function and table, and the columns of its
// row text (see segments.ts, and pair.ts for two SQLite files joined).
import type { SqlDialect } from '../../core/sql.js';
import type { TextColumn } from './row-text.js';

export interface SqlAccess {
  dialect: SqlDialect;
  query<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** What to select from (a quoted table). */
  from: string;
  /** The side's own conditions (its where clause), or '1 = 1'. */
  base: string;
  pageSize: number;
  /** SQLite: the database file (another side's connection may attach it). */
  file?: string | undefined;
}

export interface SegmentColumns {
  /** Key columns, unquoted, in the key's order. */
  keys: readonly string[];
  /** The row text's columns: keys first, then the compared fields in their sorted order. */
  text: readonly (TextColumn & { name: string | null })[];
  quote: (identifier: string) => string;
}

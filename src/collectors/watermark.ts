// Tracks the largest value of a side's incremental field while it is read: the watermark
// the next incremental read starts after.
import { canonicalValue } from '../core/canonical.js';

function order(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const x = canonicalValue(a) ?? '';
  const y = canonicalValue(b) ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

export class WatermarkTracker {
  private max: unknown = undefined;
  /** The database's own text of the largest value, when it gave one (microseconds that a JS Date drops). */
  private maxExact: string | undefined = undefined;

  constructor(
    private readonly field: string | undefined,
    private readonly getter: (row: Record<string, unknown>, field: string) => unknown,
  ) {}

  /** `exact`: the value as the database writes it, for a type JavaScript holds less precisely. */
  see(row: Record<string, unknown>, exact?: string): void {
    if (!this.field) return;
    const v = this.getter(row, this.field);
    if (v === null || v === undefined || v === '') return;
    const o = this.max === undefined ? 1 : order(v, this.max);
    // Equal as Dates (to the millisecond) but later in the database's text: the later microsecond.
    if (o > 0 || (o === 0 && exact !== undefined && this.maxExact !== undefined && exact > this.maxExact)) {
      this.max = v;
      this.maxExact = exact;
    }
  }

  /** The largest value seen, in canonical form (the database's text for a timestamp); null when none. */
  value(): string | null {
    if (this.max === undefined) return null;
    return this.max instanceof Date && this.maxExact !== undefined ? this.maxExact : canonicalValue(this.max);
  }
}

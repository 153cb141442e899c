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

  constructor(
    private readonly field: string | undefined,
    private readonly getter: (row: Record<string, unknown>, field: string) => unknown,
  ) {}

  see(row: Record<string, unknown>): void {
    if (!this.field) return;
    const v = this.getter(row, this.field);
    if (v === null || v === undefined || v === '') return;
    if (this.max === undefined || order(v, this.max) > 0) this.max = v;
  }

  /** The largest value seen, in canonical form; null when none (or no incremental field). */
  value(): string | null {
    return this.max === undefined ? null : canonicalValue(this.max);
  }
}

// Which fields of a changed record differ, beyond their tolerances, in canonical form.
import Big from 'big.js';
import { canonicalValue, compareValue } from '../core/canonical.js';
import type { ChangedRecord, ChangedSample, Tolerances } from './types.js';

function withinTolerance(a: string | null, b: string | null, tolerance: number | undefined): boolean {
  if (a === b) return true;
  if (tolerance === undefined || a === null || b === null) return false;
  try {
    return new Big(a).minus(b).abs().lte(tolerance);
  } catch {
    return false;
  }
}

/** The fields of a changed record that differ (beyond their tolerance), in canonical form. */
export function changedFields(change: ChangedRecord, compareFields: readonly string[], tolerances: Tolerances = {}): ChangedSample {
  const fields: ChangedSample['fields'] = {};
  for (const name of compareFields) {
    const a = change.source.fields[name];
    const b = change.target.fields[name];
    // Compared as decimals, shown as they were mapped ("12.50", not "12.5").
    if (!withinTolerance(compareValue(a), compareValue(b), tolerances[name])) fields[name] = [canonicalValue(a), canonicalValue(b)];
  }
  return { key: change.key, fields };
}

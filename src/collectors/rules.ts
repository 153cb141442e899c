// Per-field rules applied after the transforms, before the key and hash: empty text as
// null, dates cut to a precision, and the entity's `validate` rules (a record that breaks
// one is invalid, with the reason).
import Big from 'big.js';
import { canonicalValue } from '../core/canonical.js';

export type Precision = 'day' | 'hour' | 'minute' | 'second' | 'millisecond';

export interface ValidateRule {
  required?: boolean | undefined;
  pattern?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
  oneOf?: (string | number | boolean)[] | undefined;
}

export interface FieldRules {
  /** true: every field; or the fields whose empty text means null. */
  emptyIsNull: boolean | readonly string[];
  precision: Readonly<Record<string, Precision>>;
  validate: Readonly<Record<string, ValidateRule>>;
}

export const NO_RULES: FieldRules = { emptyIsNull: false, precision: {}, validate: {} };

const CUT: Record<Precision, number> = { day: 10, hour: 13, minute: 16, second: 19, millisecond: 23 };

/** A date at a precision: "2026-03-04" for day (a date-only value keeps its calendar date,
 *  whatever the zone), else the UTC ISO time cut after the unit. */
export function atPrecision(value: unknown, precision: Precision): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
    return precision === 'day' ? value.trim() : `${value.trim()}T00:00:00.000Z`.slice(0, CUT[precision]);
  }
  const s = typeof value === 'string' ? value.trim() : value;
  const zoned = typeof s === 'string' && !/[zZ]$|[+-]\d{2}:?\d{2}$/.test(s) ? `${s.replace(' ', 'T')}Z` : s;
  const d = s instanceof Date ? s : new Date(zoned as string | number);
  if (Number.isNaN(d.getTime())) throw new Error(`"${String(value)}" is not a date`);
  return d.toISOString().slice(0, CUT[precision]);
}

function checkRule(name: string, value: unknown, rule: ValidateRule): string | null {
  const empty = value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
  if (empty) return rule.required ? `field ${name} is required` : null;
  const text = canonicalValue(value) ?? '';
  if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(text)) return `field ${name}: "${text}" does not match ${rule.pattern}`;
  if (rule.oneOf !== undefined && !rule.oneOf.some((v) => canonicalValue(v) === text)) return `field ${name}: "${text}" is not one of ${rule.oneOf.join(', ')}`;
  if (rule.min !== undefined || rule.max !== undefined) {
    let n: Big;
    try {
      n = new Big(text);
    } catch {
      return `field ${name}: "${text}" is not a number`;
    }
    if (rule.min !== undefined && n.lt(rule.min)) return `field ${name}: ${text} is below the minimum ${rule.min}`;
    if (rule.max !== undefined && n.gt(rule.max)) return `field ${name}: ${text} is above the maximum ${rule.max}`;
  }
  return null;
}

/** Applies the rules to a record's fields in place; returns why the record is invalid, or null. */
export function applyRules(fields: Record<string, unknown>, rules: FieldRules): string | null {
  const { emptyIsNull } = rules;
  if (emptyIsNull !== false) {
    for (const name of emptyIsNull === true ? Object.keys(fields) : emptyIsNull) {
      const v = fields[name];
      if (typeof v === 'string' && v.trim() === '') fields[name] = null;
    }
  }
  for (const [name, precision] of Object.entries(rules.precision)) {
    try {
      fields[name] = atPrecision(fields[name], precision);
    } catch (err) {
      return `field ${name}: ${(err as Error).message}`;
    }
  }
  for (const [name, rule] of Object.entries(rules.validate)) {
    const problem = checkRule(name, fields[name], rule);
    if (problem) return problem;
  }
  return null;
}

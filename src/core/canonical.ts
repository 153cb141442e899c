// Canonical forms for comparison: two values that mean the same thing produce the same
// string, so formatting and field order never show up as a false change.
import { createHash } from 'node:crypto';

/** The canonical string of a value, or null for null/undefined. Numbers use JavaScript's
 *  shortest round-trip form (so 1.50 and 1.5 are the same number), dates their UTC ISO form,
 *  objects their keys in sorted order. Strings are kept exactly: "007" is not 7. */
export function canonicalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Object.is(value, -0) ? '0' : String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return JSON.stringify(canonicalJson(value));
}

function canonicalJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonicalJson((value as Record<string, unknown>)[k]);
    return out;
  }
  return canonicalValue(value);
}

/** Text that is a plain decimal number: an optional minus, no leading zeros (so "007"
 *  stays text), an optional fraction. No exponent, no spaces, no thousands separators. */
const DECIMAL_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** A decimal in one form, exactly: "1.50" and "1.5" and 1.5 give "1.5"; "-0" gives "0". */
function normalDecimal(text: string): string {
  let [int, frac = ''] = text.replace(/^-/, '').split('.') as [string, string?];
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return text.startsWith('-') && body !== '0' ? `-${body}` : body;
}

/**
 * The canonical form of a compared value: canonicalValue, except that numbers are compared
 * as decimals. A JavaScript number loses its float noise (15 significant digits: 0.1 + 0.2
 * is 0.3), and decimal text is compared by value, so a PostgreSQL numeric "10.50" equals a
 * SQLite REAL 10.5 and a JSON 10.5.
 */
export function compareValue(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const text = String(Number(value.toPrecision(15)));
    return DECIMAL_TEXT.test(text) ? normalDecimal(text) : text;
  }
  if (typeof value === 'string' && DECIMAL_TEXT.test(value)) return normalDecimal(value);
  return canonicalValue(value);
}

/** Hash of the compared fields. `compareFields` must already be sorted (see sortedFields),
 *  so the hash does not depend on the order fields were mapped or read in. */
export function hashFields(fields: Record<string, unknown>, compareFields: readonly string[]): string {
  const values = compareFields.map((name) => compareValue(fields[name]));
  // Hex of the first 16 bytes: a string of its own. (Slicing the 64-character hex would keep
  // the whole of it alive behind every hash a big diff holds.)
  return createHash('sha256').update(JSON.stringify(values)).digest().toString('hex', 0, 16);
}

export function sortedFields(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

/** The key string of a record, or null when a key part is missing or empty.
 *  A single part is its canonical value; several parts are a JSON array, so
 *  ("a|b", "c") and ("a", "b|c") can never collide. */
/** The parts of a key made by encodeKey (canonical text). */
export function decodeKeyParts(key: string, parts: number): string[] {
  if (parts === 1) return [key];
  const decoded = JSON.parse(key) as unknown;
  return Array.isArray(decoded) ? decoded.map(String) : [key];
}

export function encodeKey(parts: readonly unknown[]): string | null {
  const canonical: string[] = [];
  for (const part of parts) {
    const c = canonicalValue(part);
    if (c === null || c === '') return null;
    canonical.push(c);
  }
  return canonical.length === 1 ? canonical[0]! : JSON.stringify(canonical);
}

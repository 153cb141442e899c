// Canonical forms for comparison: two values that mean the same thing produce the same
// string, so formatting and field order never show up as a false change.
import xxhash from 'xxhash-wasm';

/** xxHash64 (WASM), set up once when this module loads. */
const { h64ToString } = await xxhash();

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


/** A decimal in one form, exactly: "1.50" and "1.5" and 1.5 give "1.5"; "-0" gives "0". */
function normalDecimal(text: string): string {
  const dot = text.indexOf('.');
  if (dot < 0) return text === '-0' ? '0' : text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (end === dot + 1) end = dot;
  const body = text.slice(0, end);
  return body === '-0' ? '0' : body;
}

/** Whether text is a plain decimal number: an optional minus, no leading zeros (so "007"
 *  stays text), an optional fraction; no exponent, no spaces, no thousands separators
 *  (/^-?(0|[1-9]\d*)(\.\d+)?$/, read a character at a time: this runs on every compared
 *  text value). */
function isDecimalText(text: string): boolean {
  const n = text.length;
  let i = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const first = text.charCodeAt(i);
  if (!(first >= 48 && first <= 57)) return false;
  i++;
  // No leading zero: "0" alone or "0.x", never "07".
  if (first !== 48) while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  if (i === n) return true;
  if (text.charCodeAt(i) !== 46 /* . */ || i === n - 1) return false;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The canonical form of a compared value: canonicalValue, except that numbers are compared
 * as decimals. A JavaScript number loses its float noise (15 significant digits: 0.1 + 0.2
 * is 0.3), and decimal text is compared by value, so a PostgreSQL numeric "10.50" equals a
 * SQLite REAL 10.5 and a JSON 10.5.
 */
export function compareValue(value: unknown): string | null {
  if (typeof value === 'string') return isDecimalText(value) ? normalDecimal(value) : value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Integers of up to 15 digits are their own decimal form; other numbers lose their float noise first.
    if (Number.isInteger(value) && value < 1e15 && value > -1e15) return value === 0 ? '0' : String(value);
    // The shortest round-trip text, when it has 15 characters of digits or fewer, is already
    // what rounding to 15 significant digits gives (12.34, -0.5): no float noise to remove.
    const short = String(value);
    if (short.length <= 16 && !short.includes('e') && short.length - (short.charCodeAt(0) === 45 ? 2 : 1) <= 15) return short;
    const text = String(Number(value.toPrecision(15)));
    return isDecimalText(text) ? normalDecimal(text) : text;
  }
  return canonicalValue(value);
}

/** Hash of the compared fields. `compareFields` must already be sorted (see sortedFields),
 *  so the hash does not depend on the order fields were mapped or read in. */
export function hashFields(fields: Record<string, unknown>, compareFields: readonly string[]): string {
  // Each value as its length and its text (null as a lone marker), so no two lists of values
  // make the same string; hashed with xxHash64 (16 hex digits: not a security hash, a
  // content fingerprint, compared only between records of the same key).
  let text = '';
  for (let i = 0; i < compareFields.length; i++) {
    const v = compareValue(fields[compareFields[i]!]);
    text += v === null ? '\u0000;' : `${v.length}:${v}`;
  }
  return h64ToString(text);
}

/** hashFields() of a row of text cells read straight from a file: the compared fields are the
 *  cells at `at` (in compareFields' order; -1: a field the row does not have), and an empty
 *  or absent cell is null. The same hash as hashFields() of the same values, without the
 *  record of fields. */
export function hashCells(cells: readonly unknown[], at: readonly number[]): string {
  let text = '';
  for (let i = 0; i < at.length; i++) {
    const cell = at[i]! < 0 ? undefined : (cells[at[i]!] as string | undefined);
    const v = cell === undefined || cell === '' ? null : compareValue(cell);
    text += v === null ? '\u0000;' : `${v.length}:${v}`;
  }
  return h64ToString(text);
}

export function sortedFields(names: Iterable<string>): string[] {
  return [...new Set(names)].sort();
}

/** The parts of a key made by encodeKey (canonical text). */
export function decodeKeyParts(key: string, parts: number): string[] {
  if (parts === 1) return [key];
  const decoded = JSON.parse(key) as unknown;
  return Array.isArray(decoded) ? decoded.map(String) : [key];
}

/** The key string of a record, or null when a key part is missing or empty.
 *  A single part is its canonical value; several parts are a JSON array, so
 *  ("a|b", "c") and ("a", "b|c") can never collide. */
export function encodeKey(parts: readonly unknown[]): string | null {
  const canonical: string[] = [];
  for (const part of parts) {
    const c = canonicalValue(part);
    if (c === null || c === '') return null;
    canonical.push(c);
  }
  return canonical.length === 1 ? canonical[0]! : JSON.stringify(canonical);
}

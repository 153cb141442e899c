// The fixed, safe transform vocabulary of field mappings ("decimal(2) | trim"): parsed
// once at config load, applied per value in the collectors. No eval, no user code here.
import Big from 'big.js';
import { parse as parseYaml } from 'yaml';
import { importUserModule } from './modules.js';
import { canonicalValue } from './canonical.js';

export type TransformFn = (value: unknown) => unknown;

export interface Transform {
  /** As written in the config, for error messages: "decimal(2)". */
  text: string;
  apply: TransformFn;
}

/** Thrown by a transform for one value; the record becomes invalid with this reason. */
export class TransformError extends Error {}

/** Thrown when a transform spec cannot be parsed or names an unknown transform. */
export class TransformSpecError extends Error {}

type Factory = (args: string | undefined, text: string) => TransformFn;

const isBlank = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

function noArgs(name: string, fn: TransformFn): Factory {
  return (args) => {
    if (args !== undefined && args.trim() !== '') throw new TransformSpecError(`${name} takes no argument`);
    return fn;
  };
}

function onStrings(fn: (s: string) => unknown): TransformFn {
  return (v) => (typeof v === 'string' ? fn(v) : v);
}

function toBig(v: unknown): Big {
  const text = typeof v === 'string' ? v.trim().replace(/^\+/, '') : canonicalValue(v);
  try {
    return new Big(text ?? '');
  } catch {
    throw new TransformError(`"${String(v)}" is not a number`);
  }
}

const ZEROS = '0'.repeat(20);

/**
 * `text` at `places` decimals when that needs no rounding and no normalising (a plain decimal
 * without leading zeros, exponent or sign of zero, with at most `places` decimals): what
 * big.js gives, without parsing it. null for every other text, which takes big.js.
 */
function plainFixed(text: string, places: number): string | null {
  const n = text.length;
  const start = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (start >= n) return null;
  // "0", "0.5"; not "-0…" (big.js drops the sign of a zero) nor "007".
  if (text.charCodeAt(start) === 48 && (start === 1 || (n > 1 && text.charCodeAt(1) !== 46))) return null;
  let dot = -1;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (dot >= 0) return null;
      dot = i;
    } else if (c < 48 || c > 57) return null;
  }
  if (dot === start || dot === n - 1) return null;
  const decimals = dot < 0 ? 0 : n - dot - 1;
  if (decimals > places) return null;
  if (places === 0) return text;
  return (dot < 0 ? `${text}.` : text) + ZEROS.slice(0, places - decimals);
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * A number that has at most `places` decimals, as fixed-point text with exactly that many,
 * without its shortest round-trip text (a costly conversion): null for any other number.
 * When r / 10^places is `v` and r has at most 15 digits, the decimal r / 10^places is the
 * only one of 15 significant digits or fewer that reads back as `v`, so it is what String(v)
 * shows, less its trailing zeros.
 */
function fixedOfNumber(v: number, places: number): string | null {
  const scale = POW10[places];
  if (scale === undefined) return null;
  const r = Math.round(v * scale);
  if (!(r > -1e15 && r < 1e15) || r / scale !== v || Object.is(v, -0)) return null;
  const digits = String(r < 0 ? -r : r);
  const padded = digits.length > places ? digits : ZEROS.slice(0, places + 1 - digits.length) + digits;
  const text = places === 0 ? padded : `${padded.slice(0, padded.length - places)}.${padded.slice(padded.length - places)}`;
  return r < 0 ? `-${text}` : text;
}

/** The text big.js would read for a value: numbers in their shortest round-trip form. */
const numberText = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? canonicalValue(v) : null);

/** A YAML scalar or flow value as the argument: default(0), eq("Y"), map({a: b}). */
function literal(args: string | undefined, name: string): unknown {
  if (args === undefined || args.trim() === '') throw new TransformSpecError(`${name} needs an argument`);
  try {
    return parseYaml(args);
  } catch {
    throw new TransformSpecError(`${name}(${args}): the argument is not a valid value`);
  }
}

function parseDate(v: unknown): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'number') return new Date(v);
  if (typeof v === 'string') {
    const s = v.trim();
    // A timestamp without a zone is taken as UTC, so results never depend on the machine's zone.
    const zoned = /[zZ]$|[+-]\d{2}:?\d{2}$/.test(s) || !/\d{2}:\d{2}/.test(s) ? s : `${s.replace(' ', 'T')}Z`;
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : zoned);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new TransformError(`"${String(v)}" is not a date`);
}

const FACTORIES: Record<string, Factory> = {
  trim: noArgs('trim', onStrings((s) => s.trim())),
  lower: noArgs('lower', onStrings((s) => s.toLowerCase())),
  upper: noArgs('upper', onStrings((s) => s.toUpperCase())),
  int: noArgs('int', (v) => {
    if (isBlank(v)) return null;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v === 0 ? 0 : v;
    const text = typeof v === 'string' && v.length <= 15 ? plainFixed(v, 0) : null;
    if (text !== null) return Number(text);
    const n = toBig(v);
    if (!n.eq(n.round(0, Big.roundDown))) throw new TransformError(`"${String(v)}" is not a whole number`);
    return Number(n.toFixed(0));
  }),
  decimal: (args) => {
    const places = Number(args);
    if (!Number.isInteger(places) || places < 0 || places > 20) {
      throw new TransformSpecError(`decimal(n) needs a whole number of places from 0 to 20, got "${args ?? ''}"`);
    }
    // Fixed-point string: exact, and "1.5", 1.5 and "1.50" all become "1.50".
    return (v) => {
      if (typeof v === 'number') {
        const fixed = fixedOfNumber(v, places);
        if (fixed !== null) return fixed;
      }
      if (isBlank(v)) return null;
      const text = numberText(v);
      return (text === null ? null : plainFixed(text, places)) ?? toBig(v).toFixed(places, Big.roundHalfUp);
    };
  },
  bool: noArgs('bool', (v) => {
    if (isBlank(v)) return null;
    if (typeof v === 'boolean') return v;
    const s = String(v).trim().toLowerCase();
    if (['1', 'true', 't', 'yes', 'y', 'on'].includes(s)) return true;
    if (['0', 'false', 'f', 'no', 'n', 'off'].includes(s)) return false;
    throw new TransformError(`"${String(v)}" is not a boolean`);
  }),
  date: noArgs('date', (v) => (isBlank(v) ? null : parseDate(v).toISOString().slice(0, 10))),
  datetime: noArgs('datetime', (v) => (isBlank(v) ? null : parseDate(v).toISOString())),
  default: (args) => {
    const fallback = literal(args, 'default');
    return (v) => (isBlank(v) ? fallback : v);
  },
  map: (args) => {
    const table = literal(args, 'map');
    if (table === null || typeof table !== 'object' || Array.isArray(table)) {
      throw new TransformSpecError('map needs a mapping such as map({A: active, I: inactive})');
    }
    const lookup = new Map<string, unknown>();
    for (const [from, to] of Object.entries(table)) lookup.set(from, to);
    return (v) => {
      const c = canonicalValue(v);
      return c !== null && lookup.has(c) ? lookup.get(c) : v;
    };
  },
  eq: (args) => {
    const expected = canonicalValue(literal(args, 'eq'));
    return (v) => canonicalValue(v) === expected;
  },
  split: (args) => {
    const sep = String(literal(args, 'split'));
    return (v) => (typeof v === 'string' ? (v === '' ? [] : v.split(sep).map((s) => s.trim())) : v);
  },
  join: (args) => {
    const sep = String(literal(args, 'join'));
    return (v) => (Array.isArray(v) ? v.map((x) => canonicalValue(x) ?? '').join(sep) : v);
  },
};

export const TRANSFORM_NAMES = Object.keys(FACTORIES);

/** Splits "a | b(x|y) | c" at the pipes that are not inside brackets or quotes. */
function splitChain(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of spec) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('({['.includes(ch)) depth++;
    else if (')}]'.includes(ch)) depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return parts;
}

/** A transform from the config's `transforms:` module: the value, then the argument
 *  written in parentheses (parsed as a YAML value), if any. */
export type CustomTransform = (value: unknown, arg?: unknown) => unknown;

/** Parses a transform chain. Throws TransformSpecError naming the bad step. */
export function parseTransforms(spec: string, custom: Readonly<Record<string, CustomTransform>> = {}): Transform[] {
  if (spec.trim() === '') return [];
  return splitChain(spec).map((step) => {
    const m = /^([a-zA-Z_][\w]*)\s*(?:\((.*)\))?$/s.exec(step);
    if (!m) throw new TransformSpecError(`cannot read transform "${step}"`);
    const name = m[1]!;
    const factory = FACTORIES[name];
    if (factory) return { text: step, apply: factory(m[2], step) };
    const fn = custom[name];
    if (!fn) {
      const known = [...TRANSFORM_NAMES, ...Object.keys(custom)];
      throw new TransformSpecError(`unknown transform "${name}" (known: ${known.join(', ')})`);
    }
    const arg = m[2] === undefined || m[2].trim() === '' ? undefined : literal(m[2], name);
    return {
      text: step,
      apply: (v) => {
        try {
          return arg === undefined ? fn(v) : fn(v, arg);
        } catch (err) {
          throw new TransformError(err instanceof Error ? err.message : String(err));
        }
      },
    };
  });
}

/** Loads a module of custom transforms: its exported functions, by name. */
export async function loadCustomTransforms(file: string): Promise<Record<string, CustomTransform>> {
  const mod = await importUserModule(file);
  const out: Record<string, CustomTransform> = {};
  const exported = { ...(typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>) : {}), ...mod };
  for (const [name, value] of Object.entries(exported)) {
    if (name === 'default' || typeof value !== 'function') continue;
    if (FACTORIES[name]) throw new TransformSpecError(`custom transform "${name}" has the name of a built-in transform; rename it`);
    out[name] = value as CustomTransform;
  }
  return out;
}

/** Applies a parsed chain. A failing step throws TransformError naming the step. */
export function applyTransforms(chain: readonly Transform[], value: unknown): unknown {
  let v = value;
  for (const t of chain) {
    try {
      v = t.apply(v);
    } catch (err) {
      if (err instanceof TransformError) throw new TransformError(`${t.text}: ${err.message}`);
      throw err;
    }
  }
  return v;
}

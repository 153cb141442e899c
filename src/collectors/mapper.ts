// Turns a side's raw rows into normalized records: field mapping, transforms, key, hash.
// Every collector uses it, so all sides agree on what "the same record" means.
import { canonicalValue, encodeKey, hashFields } from '../core/canonical.js';
import { MappedRecord, type InvalidRecord, type NormalizedRecord } from '../core/record.js';
import { readPath } from '../core/paths.js';
import { applyTransforms, TransformError, type Transform } from '../core/transforms.js';
import { applyRules, NO_RULES, type FieldRules } from './rules.js';

/** One entity field as read from one side: entity field `name` comes from the side's
 *  `from` (a column, a header, or a dotted path into a JSON item). */
export interface FieldMapping {
  name: string;
  from: string;
  transforms: Transform[];
}

export type Getter = (row: Record<string, unknown>, from: string) => unknown;

export const plainGetter: Getter = (row, from) => row[from];

/** Reads "a.b.c" from nested JSON objects. */
export const dottedGetter: Getter = (row, from) => (from.includes('.') ? readPath(row, from) : row[from]);

export interface MapperOptions {
  /** Key fallback chains: a record's key is the first chain whose fields are all present.
   *  One chain is the ordinary (possibly composite) key. */
  keyChains: readonly (readonly string[])[];
  /** Sorted field names that enter the hash. */
  compareFields: readonly string[];
  /** null: the side's own columns are the entity's fields, unchanged. */
  mappings: readonly FieldMapping[] | null;
  getter?: Getter;
  /** Fields to keep on unmapped sides besides the key and the compared ones (metrics). */
  extraFields?: readonly string[];
  rules?: FieldRules;
}

/** Binary values (a BLOB, a bytea) take one form on every side: base64 text. It goes on the
 *  wire as such, compares as such, and a SQL writer turns it back into bytes. */
export function binaryAsText(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value;
}

/** A mapper as plain data (RecordMapper.portable). */
export interface PortableMapper {
  keyChains: readonly (readonly string[])[];
  compareFields: readonly string[];
  mappings: { name: string; from: string }[] | null;
  extraFields: readonly string[];
}

export function mapperFromPortable(p: PortableMapper): RecordMapper {
  return new RecordMapper({ ...p, mappings: p.mappings?.map((m) => ({ ...m, transforms: [] })) ?? null });
}

/** Where a row came from: a text, or a function of the row's number (made once per read or
 *  page, so that a valid record costs neither a text nor a closure). */
export type RowRef = string | ((at: number) => string);

const refText = (where: RowRef, at: number) => (typeof where === 'string' ? where : where(at));

export type MapResult = { record: NormalizedRecord; invalid?: undefined } | { record?: undefined; invalid: InvalidRecord };

export class RecordMapper {
  readonly keyChains: readonly (readonly string[])[];
  private readonly keyFields: readonly string[];
  /** How many records took their key from each chain. */
  readonly chainCounts: number[];
  private readonly compareFields: readonly string[];
  private readonly mappings: readonly FieldMapping[] | null;
  private readonly getter: Getter;
  /** Fields kept on the record: the key and the compared fields (enough for samples and push). */
  private readonly keptFields: readonly string[];
  private readonly rules: FieldRules | null;

  constructor(options: MapperOptions) {
    this.keyChains = options.keyChains;
    this.keyFields = [...new Set(options.keyChains.flat())];
    this.chainCounts = options.keyChains.map(() => 0);
    this.compareFields = options.compareFields;
    this.mappings = options.mappings;
    this.getter = options.getter ?? plainGetter;
    const rules = options.rules ?? NO_RULES;
    this.rules = rules.emptyIsNull === false && Object.keys(rules.precision).length === 0 && Object.keys(rules.validate).length === 0 ? null : rules;
    this.keptFields = [...new Set([...this.keyFields, ...options.compareFields, ...(options.extraFields ?? []), ...Object.keys(rules.validate), ...Object.keys(rules.precision)])];
  }

  /** `where` (of `at`) says where the row came from ("row 12") for an invalid record. */
  map(row: Record<string, unknown>, where: RowRef, at = 0): MapResult {
    const fields: Record<string, unknown> = {};
    if (this.mappings) {
      for (const m of this.mappings) {
        const raw = binaryAsText(this.getter(row, m.from));
        try {
          fields[m.name] = m.transforms.length ? applyTransforms(m.transforms, raw) : raw;
        } catch (err) {
          if (err instanceof TransformError) {
            return { invalid: { ref: this.refWithKey(refText(where, at), row), reason: `field ${m.name}: ${err.message}` } };
          }
          throw err;
        }
      }
    } else {
      for (const name of this.keptFields) fields[name] = binaryAsText(row[name]);
    }
    if (this.rules) {
      const problem = applyRules(fields, this.rules);
      if (problem) return { invalid: { ref: this.refWithKey(refText(where, at), row), reason: problem } };
    }
    const key = this.keyOf(fields);
    if (key === null) {
      const empty = (chain: readonly string[]) => chain.filter((f) => fields[f] === null || fields[f] === undefined || fields[f] === '');
      if (this.keyChains.length === 1) return { invalid: { ref: refText(where, at), reason: `key field ${empty(this.keyChains[0]!).join(', ')} is empty` } };
      const why = this.keyChains.map((c) => `${c.join('+')} lacks ${empty(c).join(', ')}`).join('; ');
      return { invalid: { ref: refText(where, at), reason: `no key: ${why}` } };
    }
    return { record: new MappedRecord(key, hashFields(fields, this.compareFields), fields) };
  }

  /**
   * When a record can be made from text cells with nothing but its key and its hash: where the
   * key and each compared field are among `columns` (the names of the row's cells; -1: not
   * there). Null when the mapper does more than read them (transforms, rules, a key of several
   * fields or chains, nested paths). A record made so counts its key: see countPlaced.
   */
  placedPlan(columns: readonly string[]): { key: number; compared: number[] } | null {
    if (this.rules || this.getter !== plainGetter || this.keyChains.length !== 1 || this.keyChains[0]!.length !== 1) return null;
    if (this.mappings?.some((m) => m.transforms.length > 0)) return null;
    // As map() reads them: a field from its (last) mapping's column, or the column of its name.
    const at = (field: string) => {
      const from = this.mappings ? this.mappings.findLast((m) => m.name === field)?.from : field;
      return from === undefined ? -1 : columns.indexOf(from);
    };
    return { key: at(this.keyChains[0]![0]!), compared: this.compareFields.map(at) };
  }

  /** What another thread needs to make the same mapper (mapperFromPortable), when it only
   *  reads cells (as for placedPlan). Null otherwise. */
  portable(): PortableMapper | null {
    if (this.placedPlan([]) === null) return null;
    return { keyChains: this.keyChains, compareFields: this.compareFields, mappings: this.mappings?.map((m) => ({ name: m.name, from: m.from })) ?? null, extraFields: this.keptFields };
  }

  /** Counts keys of records made by a placedPlan. */
  countPlaced(n: number): void {
    this.chainCounts[0]! += n;
  }

  /** With several chains the key names its chain ("barcode:4006381333931"), so keys from
   *  different chains can never collide. */
  private keyOf(fields: Record<string, unknown>): string | null {
    if (this.keyChains.length === 1 && this.keyChains[0]!.length === 1) {
      // One key field: its canonical text, as encodeKey gives it, without the arrays.
      const key = canonicalValue(fields[this.keyChains[0]![0]!]);
      if (key === null || key === '') return null;
      this.chainCounts[0]!++;
      return key;
    }
    for (let i = 0; i < this.keyChains.length; i++) {
      const chain = this.keyChains[i]!;
      const encoded = encodeKey(chain.map((f) => fields[f]));
      if (encoded === null) continue;
      this.chainCounts[i]!++;
      return this.keyChains.length === 1 ? encoded : `${chain.join('+')}:${encoded}`;
    }
    return null;
  }

  private refWithKey(ref: string, row: Record<string, unknown>): string {
    const from = this.keyFields.map((f) => this.mappings?.find((m) => m.name === f)?.from ?? f);
    const key = encodeKey(from.map((f) => this.getter(row, f)));
    return key === null ? ref : `${ref} (key ${key})`;
  }
}

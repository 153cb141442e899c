// Records whose fields were not kept while they waited (a value JSON cannot carry exactly,
// or a record resolved as missing when no push needs it), and how their fields are put back
// when a report or a push needs them: one map lookup per record read again.
import { MappedRecord, type NormalizedRecord, type Span } from '../core/record.js';
import { detached } from '../core/text.js';
import type { DiffResult, Side } from './types.js';
import type { WaitingEntry } from './waiting.js';

/** What the caller will look at the fields of, beyond keys and hashes. */
export interface FieldNeeds {
  /** The first N changed records by key (the report's samples). */
  changedSamples: number;
  /** Every changed record (a push, or a newest-wins conflict rule). */
  allChanged: boolean;
  /** Every missing record (a push creates them). */
  allMissing: boolean;
  /** Every extra record (an export of the difference lists their fields). */
  allExtra?: boolean;
}

/**
 * The records whose fields are needed but were not kept (they waited as key and hash only), by
 * side and key. Reading a side again and handing each record to `refill` puts them back, one
 * map lookup per record.
 */
export function strippedNeeds(result: DiffResult, needs: FieldNeeds): Record<Side, Map<string, NormalizedRecord[]>> {
  const out: Record<Side, Map<string, NormalizedRecord[]>> = { source: new Map(), target: new Map() };
  const note = (side: Side, r: NormalizedRecord) => {
    if (r.fields !== STRIPPED) return;
    const list = out[side].get(r.key);
    if (list) list.push(r);
    else out[side].set(r.key, [r]);
  };
  if (needs.allMissing) for (const r of result.missing) note('source', r);
  if (needs.allExtra) for (const r of result.extra) note('target', r);
  const changed = needs.allChanged ? result.changed : result.changed.slice(0, needs.changedSamples);
  for (const c of changed) {
    note('source', c.source);
    note('target', c.target);
  }
  return out;
}

/** Puts back the fields of the waiting records with this record's key; false when none waited. */
export function refill(waiting: Map<string, NormalizedRecord[]>, record: NormalizedRecord): boolean {
  const list = waiting.get(record.key);
  if (!list) return false;
  for (const r of list) r.fields = record.fields;
  waiting.delete(record.key);
  return true;
}

/** The fields of a record that waited in compact mode: read again when needed. */
export const STRIPPED: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * A copy of a record that may wait long in a Map. V8 notes where the objects that outlive
 * young collections were allocated and allocates everything from there in the old
 * generation from then on: had the Maps held the collectors' own objects, every record of
 * the read would have been allocated there, to be swept long after it was matched (shuffled
 * CSV, 1,000,000 rows: 430 MB promoted, RSS 367 MB, 12.6 s; with the copy 43 MB, 283 MB,
 * 9.4 s).
 */
export function longLived(r: NormalizedRecord): NormalizedRecord {
  // Key and hash may be cut from a page's text (see PageColumns): copied, they keep none of it.
  if (r instanceof PlacedRecord && r.fields === STRIPPED) return new PlacedRecord(detached(r.key), detached(r.hash), r.place);
  return { key: detached(r.key), hash: detached(r.hash), fields: r.fields === STRIPPED ? STRIPPED : { ...r.fields } };
}

/** Starts a payload in the flat form (JSON never starts with it); NUL ends each name and value. */
const FLAT = '\u0001';
const NUL = '\u0000';

/**
 * What a waiting record keeps when packed: its fields as text, or nothing when a value would
 * not come back as it went in (a Date, binary): those are read again. Fields that are all
 * strings, finite numbers, booleans or null (a CSV row, a SQL row) take a flat form, each name
 * and each value (after a letter for its type) ended by NUL: a quarter of JSON.stringify's
 * cost, and this runs for every record that waits. Other fields, and text with a NUL in it,
 * go as JSON.
 */
export function payloadOf(r: NormalizedRecord): string | null {
  if (r.fields === STRIPPED) return null;
  let flat: string | null = FLAT;
  for (const name in r.fields) {
    const v = r.fields[name];
    if (flat !== null && !name.includes(NUL)) {
      if (typeof v === 'string') {
        if (!v.includes(NUL)) {
          flat += `${name}${NUL}s${v}${NUL}`;
          continue;
        }
      } else if (v === null) {
        flat += `${name}${NUL}z${NUL}`;
        continue;
      } else if (typeof v === 'number' && Number.isFinite(v)) {
        // -0 comes back as 0, as JSON gives it.
        flat += `${name}${NUL}n${v}${NUL}`;
        continue;
      } else if (typeof v === 'boolean') {
        flat += `${name}${NUL}${v ? 't' : 'f'}${NUL}`;
        continue;
      }
    }
    flat = null;
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number' && Number.isFinite(v)) continue;
    // Nested objects and arrays come from JSON answers in the first place.
    if (Array.isArray(v) || (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)) continue;
    return null;
  }
  return flat ?? JSON.stringify(r.fields);
}

/** The fields payloadOf() kept. */
export function fieldsOf(payload: string): Record<string, unknown> {
  if (!payload.startsWith(FLAT)) return JSON.parse(payload) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  if (payload.length === 1) return fields;
  const parts = payload.slice(1, -1).split(NUL);
  for (let i = 0; i < parts.length; i += 2) {
    const value = parts[i + 1]!;
    const type = value[0];
    fields[parts[i]!] = type === 's' ? value.slice(1) : type === 'n' ? Number(value.slice(1)) : type === 't' ? true : type === 'f' ? false : null;
  }
  return fields;
}

export function unpacked(e: WaitingEntry): NormalizedRecord {
  if (e.place) return new PlacedRecord(e.key, e.hash, e.place);
  return { key: e.key, hash: e.hash, fields: e.payload === null ? STRIPPED : fieldsOf(e.payload) };
}

/** A record whose fields were left in its side's file: where to read them again. */
class PlacedRecord extends MappedRecord {
  constructor(
    key: string,
    hash: string,
    readonly place: Span,
  ) {
    super(key, hash, STRIPPED);
  }
}

/** A record read as its key and hash only, and where it is in its side's file: its fields are
 *  read again from there if a report or a push needs them (see ReadOptions.placesOnly). */
export function placedRecord(key: string, hash: string, at: number, bytes: number): NormalizedRecord {
  return new PlacedRecord(key, hash, { at, bytes });
}

/** Where a record without its fields is in its side's file, when its side can read it from there. */
export function placeOf(r: NormalizedRecord): Span | null {
  return r instanceof PlacedRecord && r.fields === STRIPPED ? r.place : null;
}

/** Whether a record kept only key and hash (and its fields were not read again). */
export function isStripped(r: NormalizedRecord): boolean {
  return r.fields === STRIPPED;
}

// Compares two streams of normalized records by key and content hash. Pure: no I/O.
// The streams may arrive interleaved in any order (a symmetric hash join): only records
// not yet matched by the other side are held, plus a fingerprint of every key seen per
// side. When both sides arrive in the same key order and neither runs far ahead (the run
// keeps them in step), the unmatched records stay few: a merge in bounded memory.
import Big from 'big.js';
import { canonicalValue, compareValue } from '../core/canonical.js';
import type { InvalidRecord, NormalizedRecord } from '../core/record.js';
import { FingerprintSet } from './keyset.js';
import { sortInTurns } from '../core/yield.js';
import { WaitingTable, type WaitingEntry } from './waiting.js';

export type Side = 'source' | 'target';

export interface DiffCounts {
  matched: number;
  missing: number;
  extra: number;
  changed: number;
  duplicates: number;
  invalid: number;
}

export interface ChangedRecord {
  key: string;
  source: NormalizedRecord;
  target: NormalizedRecord;
}

export interface ChangedSample {
  key: string;
  /** Only the fields that differ: [source value, target value] in canonical form. */
  fields: Record<string, [string | null, string | null]>;
}

export interface DuplicateKey {
  key: string;
  side: Side;
  /** How many records carry this key on that side (2 or more). */
  occurrences: number;
}

export interface InvalidEntry extends InvalidRecord {
  side: Side;
}

export interface JoinStats {
  /** merge: the sides arrived in the same key order and few records waited for their
   *  counterpart; hash: they did not, and unmatched records were held until the end. */
  strategy: 'merge' | 'hash';
  /** The most records that waited for the other side at any moment. */
  maxPending: number;
}

export interface DiffResult {
  counts: DiffCounts;
  join: JoinStats;
  /** Matched records whose values differ only within a tolerance. */
  tolerated: number;
  /** Records per side that entered the comparison, with duplicates and invalid ones. */
  read: Record<Side, number>;
  /** Sorted by key. Source records absent from the target (they would be created). */
  missing: NormalizedRecord[];
  /** Sorted by key. Target records absent from the source. */
  extra: NormalizedRecord[];
  /** Sorted by key. */
  changed: ChangedRecord[];
  duplicateKeys: DuplicateKey[];
  invalid: InvalidEntry[];
}

/** Semantics, which the reference test restates: per side, the first record with a key takes
 *  part in the comparison; each later record with the same key counts once in `duplicates`
 *  and is otherwise ignored. A record with an invalid key never enters (see `invalid`). */
export class DiffBuilder {
  private readonly seen: Record<Side, FingerprintSet> = { source: new FingerprintSet(), target: new FingerprintSet() };
  /** Only keys seen more than once: how many times. */
  private readonly repeated: Record<Side, Map<string, number>> = { source: new Map(), target: new Map() };
  private maxPending = 0;

  /** When the most records waited for the other side stays at or under this, the join was a
   *  merge. Records whose hashes differ only by numbers within `tolerances` are matched. */
  constructor(
    private readonly mergeLimit = Number.POSITIVE_INFINITY,
    private readonly tolerance?: { fields: readonly string[]; tolerances: Tolerances },
    /** When given, every key's [key, source hash, target hash] is appended (for the key index). */
    private readonly index?: [string, string | null, string | null][],
  ) {}

  /** Records matched only thanks to a tolerance. */
  private tolerated = 0;
  /** Past this many waiting records, waiting records keep only their key and hash. */
  private compactAbove = Number.POSITIVE_INFINITY;
  private compact = false;

  /**
   * Bounds memory when the sides do not arrive in the same order: once more than `limit`
   * records wait for their counterpart, waiting records are packed outside the JavaScript heap
   * (key, hash and fields as JSON, see WaitingTable), so they need no second read and leave
   * no garbage behind. A record with a value JSON cannot carry exactly (a Date, binary) keeps
   * only its hash; if a report or a push needs its fields, they are read again afterwards:
   * see `strippedNeeds()` and `refill()`.
   */
  compactWhenPendingExceeds(limit: number): this {
    this.compactAbove = limit;
    return this;
  }

  private readonly done: Record<Side, boolean> = { source: false, target: false };
  /** Records resolved as missing/extra with their fields not kept: keys and hashes only. */
  private readonly resolved: Record<Side, { keys: string[]; hashes: string[] }> = { source: { keys: [], hashes: [] }, target: { keys: [], hashes: [] } };
  private keepResolved: Record<Side, boolean> = { source: true, target: true };

  /**
   * Whether a record that is missing (source) or extra (target) for certain, because the other
   * side has ended without its key, keeps its fields. Without them it keeps key and hash only:
   * a first load into an empty target then holds a million keys, not a million records.
   */
  keepFieldsOfResolved(keep: Record<Side, boolean>): this {
    this.keepResolved = keep;
    return this;
  }

  /** The side has no more records: from now on the other side's unmatched records are resolved. */
  sideDone(side: Side): void {
    this.done[side] = true;
  }
  private readonly pending: Record<Side, Map<string, NormalizedRecord>> = { source: new Map(), target: new Map() };
  /** Past the compact limit: waiting records packed outside the JavaScript heap. */
  private readonly packed: Record<Side, WaitingTable | null> = { source: null, target: null };
  private readonly changed: ChangedRecord[] = [];
  private readonly invalid: InvalidEntry[] = [];
  private readonly read: Record<Side, number> = { source: 0, target: 0 };
  private matched = 0;
  private duplicates = 0;

  add(side: Side, record: NormalizedRecord): void {
    this.read[side]++;
    if (!this.seen[side].add(record.key)) {
      const repeated = this.repeated[side];
      repeated.set(record.key, (repeated.get(record.key) ?? 1) + 1);
      this.duplicates++;
      return;
    }
    const other: Side = side === 'source' ? 'target' : 'source';
    let counterpart: NormalizedRecord | WaitingEntry | undefined = this.pending[other].get(record.key);
    if (counterpart) this.pending[other].delete(record.key);
    else counterpart = this.packed[other]?.take(record.key);
    if (counterpart === undefined) {
      if (this.done[other] && !this.keepResolved[side]) {
        // Missing or extra for certain: nothing will look it up, so no map entry, no object.
        this.resolved[side].keys.push(record.key);
        this.resolved[side].hashes.push(record.hash);
        return;
      }
      const waiting = this.pendingCount('source') + this.pendingCount('target') + 1;
      if (!this.compact && waiting > this.compactAbove) this.packAll();
      if (this.compact) this.packed[side]!.set(record.key, record.hash, payloadOf(record));
      else this.pending[side].set(record.key, record);
      if (waiting > this.maxPending) this.maxPending = waiting;
      return;
    }
    if (counterpart.hash === record.hash) {
      this.matched++;
      this.index?.push([record.key, record.hash, record.hash]);
      return;
    }
    if (!('fields' in counterpart)) counterpart = unpacked(counterpart);
    const [source, target] = side === 'source' ? [record, counterpart] : [counterpart, record];
    if (this.tolerance && Object.keys(changedFields({ key: record.key, source, target }, this.tolerance.fields, this.tolerance.tolerances).fields).length === 0) {
      this.matched++;
      this.tolerated++;
      // Equal within tolerance: the index records them as equal, so later runs agree.
      this.index?.push([record.key, source.hash, source.hash]);
      return;
    }
    this.index?.push([record.key, source.hash, target.hash]);
    this.changed.push({ key: record.key, source, target });
  }

  /** Records of this side still waiting for their counterpart. */
  pendingCount(side: Side): number {
    return this.pending[side].size + (this.packed[side]?.size ?? 0);
  }

  /** Moves every waiting record into the packed tables; from now on new ones go there too. */
  private packAll(): void {
    this.compact = true;
    for (const side of ['source', 'target'] as const) {
      const table = new WaitingTable();
      for (const r of this.pending[side].values()) table.set(r.key, r.hash, payloadOf(r));
      this.pending[side].clear();
      this.packed[side] = table;
    }
  }

  addInvalid(side: Side, entry: InvalidRecord): void {
    this.read[side]++;
    this.invalid.push({ side, ...entry });
  }

  finish(): DiffResult {
    const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return this.result(this.unmatched('source').sort(byKey), this.unmatched('target').sort(byKey), this.changed.sort(byKey));
  }

  /** finish(), sorting in slices so that a million-record result never stalls the event loop. */
  async finishInTurns(): Promise<DiffResult> {
    const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    const missing = await sortInTurns(this.unmatched('source'), byKey);
    const extra = await sortInTurns(this.unmatched('target'), byKey);
    return this.result(missing, extra, await sortInTurns(this.changed, byKey));
  }

  /** A side's records with no counterpart: those still waiting, and those resolved as such. */
  private unmatched(side: Side): NormalizedRecord[] {
    const out: NormalizedRecord[] = [...this.pending[side].values()];
    for (const entry of this.packed[side]?.drain() ?? []) out.push(unpacked(entry));
    const { keys, hashes } = this.resolved[side];
    for (let i = 0; i < keys.length; i++) out.push({ key: keys[i]!, hash: hashes[i]!, fields: STRIPPED });
    this.pending[side].clear();
    this.resolved[side] = { keys: [], hashes: [] };
    return out;
  }

  private result(missing: NormalizedRecord[], extra: NormalizedRecord[], changed: ChangedRecord[]): DiffResult {
    const byKey = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    if (this.index) {
      for (const r of missing) this.index.push([r.key, r.hash, null]);
      for (const r of extra) this.index.push([r.key, null, r.hash]);
    }
    const duplicateKeys: DuplicateKey[] = [];
    for (const side of ['source', 'target'] as const) {
      for (const [key, occurrences] of this.repeated[side]) duplicateKeys.push({ key, side, occurrences });
    }
    duplicateKeys.sort(byKey);
    return {
      counts: {
        matched: this.matched,
        missing: missing.length,
        extra: extra.length,
        changed: changed.length,
        duplicates: this.duplicates,
        invalid: this.invalid.length,
      },
      join: { strategy: this.maxPending <= this.mergeLimit ? 'merge' : 'hash', maxPending: this.maxPending },
      tolerated: this.tolerated,
      read: { ...this.read },
      missing,
      extra,
      changed,
      duplicateKeys,
      invalid: this.invalid,
    };
  }
}

/** What the caller will look at the fields of, beyond keys and hashes. */
export interface FieldNeeds {
  /** The first N changed records by key (the report's samples). */
  changedSamples: number;
  /** Every changed record (a push, or a newest-wins conflict rule). */
  allChanged: boolean;
  /** Every missing record (a push creates them). */
  allMissing: boolean;
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
const STRIPPED: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** What a waiting record keeps when packed: its fields as JSON, or nothing when a value
 *  would not come back from JSON as it went in (a Date, binary): those are read again. */
function payloadOf(r: NormalizedRecord): string | null {
  if (r.fields === STRIPPED) return null;
  for (const name in r.fields) {
    const v = r.fields[name];
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number' && Number.isFinite(v)) continue;
    // Nested objects and arrays come from JSON answers in the first place.
    if (Array.isArray(v) || (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)) continue;
    return null;
  }
  return JSON.stringify(r.fields);
}

function unpacked(e: WaitingEntry): NormalizedRecord {
  return { key: e.key, hash: e.hash, fields: e.payload === null ? STRIPPED : (JSON.parse(e.payload) as Record<string, unknown>) };
}

/** Whether a record kept only key and hash (and its fields were not read again). */
export function isStripped(r: NormalizedRecord): boolean {
  return r.fields === STRIPPED;
}


/** Per-field numeric tolerances: values within this distance are equal. */
export type Tolerances = Readonly<Record<string, number>>;

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

// Compares two streams of normalized records by key and content hash. Pure: no I/O.
// The streams may arrive interleaved in any order (a symmetric hash join): only records
// not yet matched by the other side are held, plus a fingerprint of every key seen per
// side. When both sides arrive in the same key order and neither runs far ahead (the run
// keeps them in step), the unmatched records stay few: a merge in bounded memory.
import type { InvalidRecord, NormalizedRecord } from '../core/record.js';
import { eventLoopTurns, sortInTurns } from '../core/yield.js';
import { changedFields } from './fields.js';
import { fingerprint, fingerprintLo, FingerprintSet, KeyTable } from './keyset.js';
import { longLived, payloadOf, STRIPPED, unpacked } from './stripped.js';
import type { ChangedRecord, DiffResult, DuplicateKey, InvalidEntry, Side, Tolerances } from './types.js';
import { InOrderQueues } from './in-order.js';
import { SAME_HASH, WaitingRecords, type WaitingEntry } from './waiting.js';

export type * from './types.js';
export { changedFields } from './fields.js';
export { isStripped, placeOf, refill, strippedNeeds, type FieldNeeds } from './stripped.js';

/** Semantics, which the reference test restates: per side, the first record with a key takes
 *  part in the comparison; each later record with the same key counts once in `duplicates`
 *  and is otherwise ignored. A record with an invalid key never enters (see `invalid`). */
/** Each side's bit in the key table. */
const BIT: Record<Side, number> = { source: 1, target: 2 };

export class DiffBuilder {
  private readonly keys = new KeyTable();
  private readonly seen: Record<Side, FingerprintSet> = { source: new FingerprintSet(undefined, this.keys, BIT.source), target: new FingerprintSet(undefined, this.keys, BIT.target) };
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

  /**
   * Bounds memory when the sides do not arrive in the same order: once more than `limit`
   * records wait for their counterpart, waiting records are packed outside the JavaScript heap
   * (a row of numbers in memory, key and fields as text in a temporary file, see
   * WaitingRecords), so they need no second read and leave no garbage behind. A record with
   * a value that text cannot carry exactly (a Date, binary) keeps only its hash; if a report
   * or a push needs its fields, they are read again afterwards: see `strippedNeeds()` and
   * `refill()`.
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

  private readonly expected: Record<Side, number> = { source: 0, target: 0 };

  /** About how many records the side holds (Page.expected): the key table, if the sides come
   *  out of order, is made big enough for the larger side at once. */
  expect(side: Side, records: number): void {
    this.expected[side] = records;
    this.keys.reserve(Math.max(this.expected.source, this.expected.target));
  }

  /** The side has no more records: from now on the other side's unmatched records are resolved. */
  sideDone(side: Side): void {
    this.done[side] = true;
  }
  private readonly pending: Record<Side, Map<string, NormalizedRecord>> = { source: new Map(), target: new Map() };
  /** While both sides' keys come in ascending order, waiting records queue (see InOrderQueues). */
  private readonly inOrder = new InOrderQueues(this.pending);
  /** Past the compact limit: waiting records packed outside the JavaScript heap. */
  private packed: WaitingRecords | null = null;
  private readonly changed: ChangedRecord[] = [];
  private readonly invalid: InvalidEntry[] = [];
  private readonly read: Record<Side, number> = { source: 0, target: 0 };
  private matched = 0;
  private duplicates = 0;

  /** `at` and `bytes`: where the record is in its file, when its side can read it again from
   *  there alone (-1: it cannot). A packed record then keeps that in place of its fields,
   *  unless all this side's unmatched records will want theirs (a push, an export): reading
   *  most of a file again by places costs more than keeping them. `hi`, `lo`: the key's
   *  fingerprint, when the caller has it (see addPage); -1: it is computed here. */
  add(side: Side, record: NormalizedRecord, at = -1, bytes = 0, hi = -1, lo = 0): void {
    this.read[side]++;
    if (this.keepResolved[side]) at = -1;
    // Packed: the key's slot in the key table, which also tells where its counterpart waits.
    const slot = this.packed ? this.seen[side].claim(record.key, hi, lo) : this.seen[side].add(record.key) ? 0 : -1;
    if (slot < 0) {
      const repeated = this.repeated[side];
      repeated.set(record.key, (repeated.get(record.key) ?? 1) + 1);
      this.duplicates++;
      return;
    }
    const other: Side = side === 'source' ? 'target' : 'source';
    let counterpart: NormalizedRecord | WaitingEntry | typeof SAME_HASH | undefined;
    if (this.packed) counterpart = this.packed.takeUnlessSame(slot, BIT[side], record.key, record.hash);
    else {
      if (this.inOrder.ordered) counterpart = this.inOrder.take(side, other, record.key);
      // A key out of order ends the ordered mode: then the counterpart is looked for in the Maps.
      if (!this.inOrder.ordered) {
        counterpart = this.pending[other].get(record.key);
        if (counterpart) this.pending[other].delete(record.key);
      }
    }
    if (counterpart === SAME_HASH) {
      this.matched++;
      this.index?.push([record.key, record.hash, record.hash]);
      return;
    }
    if (counterpart === undefined) {
      if (this.done[other] && !this.keepResolved[side]) {
        // Missing or extra for certain: nothing will look it up, so no map entry, no object.
        this.resolved[side].keys.push(record.key);
        this.resolved[side].hashes.push(record.hash);
        return;
      }
      // Packed, every waiting record is in the packed store.
      const waiting = (this.packed ? this.packed.size(1) + this.packed.size(2) : this.pendingCount('source') + this.pendingCount('target')) + 1;
      if (this.packed) this.packed.put(slot, BIT[side], record.key, record.hash, at < 0 ? payloadOf(record) : null, at, bytes);
      else if (waiting > this.compactAbove) {
        this.packAll();
        this.packed!.put(this.seen[side].slotOf(record.key), BIT[side], record.key, record.hash, at < 0 ? payloadOf(record) : null, at, bytes);
      } else if (this.inOrder.ordered) this.inOrder.push(side, record);
      else this.pending[side].set(record.key, longLived(record));
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

  /** The fingerprints of a page's keys (hi, lo pairs), while addPage() works through it. */
  private prints = new Uint32Array(0);
  /** What the last KeyTable.touch() read: kept, so that its loads are not left out. */
  private touched = 0;

  /**
   * add() of each record of a page, with Page.spans. Once the join is packed (the sides came
   * in different orders), the keys' fingerprints are computed first and their slots in the
   * key table, and the rows of the records waiting there, read in one pass (KeyTable.touch):
   * the page's cache misses then overlap instead of coming one record at a time (two
   * shuffled 1,000,000-row CSVs: about 7% faster, bench/README).
   */
  addPage(side: Side, records: readonly NormalizedRecord[], spans?: readonly number[]): void {
    const n = records.length;
    if (this.packed === null) {
      for (let i = 0; i < n; i++) this.add(side, records[i]!, spans ? spans[2 * i]! : -1, spans ? spans[2 * i + 1]! : 0);
      return;
    }
    if (this.prints.length < 2 * n) this.prints = new Uint32Array(2 * n);
    const prints = this.prints;
    for (let i = 0; i < n; i++) {
      prints[2 * i] = fingerprint(records[i]!.key);
      prints[2 * i + 1] = fingerprintLo;
    }
    this.touched ^= this.keys.touch(prints, n, this.packed.rowArray, this.packed.rowWords);
    for (let i = 0; i < n; i++) this.add(side, records[i]!, spans ? spans[2 * i]! : -1, spans ? spans[2 * i + 1]! : 0, prints[2 * i]!, prints[2 * i + 1]!);
  }

  /** Records of this side still waiting for their counterpart. */
  pendingCount(side: Side): number {
    return this.pending[side].size + (this.packed?.size(BIT[side]) ?? 0) + this.inOrder.count(side);
  }

  /** Moves every waiting record into the packed store; from now on new ones go there too. */
  private packAll(): void {
    this.inOrder.leave();
    const packed = new WaitingRecords(this.keys);
    for (const side of ['source', 'target'] as const) {
      // The waiting records' keys and fields go to a temporary file: memory keeps hashes.
      for (const r of this.pending[side].values()) packed.put(this.seen[side].slotOf(r.key), BIT[side], r.key, r.hash, payloadOf(r));
      this.pending[side].clear();
    }
    this.packed = packed;
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
    const turn = eventLoopTurns();
    const collect = async (side: Side) => {
      const out: NormalizedRecord[] = [];
      for (const r of this.unmatchedRecords(side)) if (out.push(r) % 16_384 === 0) await turn();
      return out;
    };
    const missing = await sortInTurns(await collect('source'), byKey);
    const extra = await sortInTurns(await collect('target'), byKey);
    return this.result(missing, extra, await sortInTurns(this.changed, byKey));
  }

  private unmatched(side: Side): NormalizedRecord[] {
    return [...this.unmatchedRecords(side)];
  }

  /** A side's records with no counterpart: those still waiting, and those resolved as such.
   *  Once through, they are gone from the builder (finish is called once). */
  private *unmatchedRecords(side: Side): Generator<NormalizedRecord> {
    yield* this.inOrder.drain(side);
    yield* this.pending[side].values();
    this.pending[side].clear();
    for (const entry of this.packed?.drain(BIT[side]) ?? []) yield unpacked(entry);
    const { keys, hashes } = this.resolved[side];
    this.resolved[side] = { keys: [], hashes: [] };
    for (let i = 0; i < keys.length; i++) yield { key: keys[i]!, hash: hashes[i]!, fields: STRIPPED };
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

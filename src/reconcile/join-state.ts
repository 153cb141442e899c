// The state of a join (see DiffBuilder): what each side showed, what waits, what is found,
// and the result it makes at the end. DiffBuilder adds the records.
import type { InvalidRecord, NormalizedRecord } from '../core/record.js';
import { detached } from '../core/text.js';
import { eventLoopTurns, sortInTurns } from '../core/yield.js';
import { FingerprintSet, KeyTable } from './keyset.js';
import { STRIPPED, unpacked } from './stripped.js';
import type { ChangedRecord, DiffResult, DuplicateKey, InvalidEntry, Side, Tolerances } from './types.js';
import { InOrderQueues } from './in-order.js';
import type { WaitingRecords } from './waiting.js';

/** Each side's bit in the key table. */
export const BIT: Record<Side, number> = { source: 1, target: 2 };

export class JoinState {
  protected readonly keys = new KeyTable();
  protected readonly seen: Record<Side, FingerprintSet> = { source: new FingerprintSet(undefined, this.keys, BIT.source), target: new FingerprintSet(undefined, this.keys, BIT.target) };
  /** Only keys seen more than once: how many times. */
  protected readonly repeated: Record<Side, Map<string, number>> = { source: new Map(), target: new Map() };
  protected maxPending = 0;

  /** When the most records waited for the other side stays at or under this, the join was a
   *  merge. Records whose hashes differ only by numbers within `tolerances` are matched. */
  constructor(
    protected readonly mergeLimit = Number.POSITIVE_INFINITY,
    protected readonly tolerance?: { fields: readonly string[]; tolerances: Tolerances },
    /** When given, every key's [key, source hash, target hash] is appended (for the key index). */
    protected readonly index?: [string, string | null, string | null][],
  ) {}

  /** Records matched only thanks to a tolerance. */
  protected tolerated = 0;
  /** Past this many waiting records, waiting records keep only their key and hash. */
  protected compactAbove = Number.POSITIVE_INFINITY;

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

  protected readonly done: Record<Side, boolean> = { source: false, target: false };
  /** Records resolved as missing/extra with their fields not kept: keys and hashes only. */
  protected readonly resolved: Record<Side, { keys: string[]; hashes: string[] }> = { source: { keys: [], hashes: [] }, target: { keys: [], hashes: [] } };
  protected keepResolved: Record<Side, boolean> = { source: true, target: true };

  /**
   * Whether a record that is missing (source) or extra (target) for certain, because the other
   * side has ended without its key, keeps its fields. Without them it keeps key and hash only:
   * a first load into an empty target then holds a million keys, not a million records.
   */
  keepFieldsOfResolved(keep: Record<Side, boolean>): this {
    this.keepResolved = keep;
    return this;
  }

  protected readonly expected: Record<Side, number> = { source: 0, target: 0 };

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
  protected readonly pending: Record<Side, Map<string, NormalizedRecord>> = { source: new Map(), target: new Map() };
  /** While both sides' keys come in ascending order, waiting records queue (see InOrderQueues). */
  protected readonly inOrder = new InOrderQueues(this.pending);
  /** Past the compact limit: waiting records packed outside the JavaScript heap. */
  protected packed: WaitingRecords | null = null;
  protected readonly changed: ChangedRecord[] = [];
  protected readonly invalid: InvalidEntry[] = [];
  protected readonly read: Record<Side, number> = { source: 0, target: 0 };
  protected matched = 0;
  protected duplicates = 0;

  protected repeat(side: Side, key: string): void {
    const repeated = this.repeated[side];
    repeated.set(key, (repeated.get(key) ?? 1) + 1);
    this.duplicates++;
  }

  /** Whether pages came as text columns: then a key or hash kept for long is copied first. */
  protected columned = false;

  protected resolve(side: Side, key: string, hash: string): void {
    this.resolved[side].keys.push(this.columned ? detached(key) : key);
    this.resolved[side].hashes.push(this.columned ? detached(hash) : hash);
  }

  /** Records of this side still waiting for their counterpart. */
  pendingCount(side: Side): number {
    return this.pending[side].size + (this.packed?.size(BIT[side]) ?? 0) + this.inOrder.count(side);
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

  protected unmatched(side: Side): NormalizedRecord[] {
    return [...this.unmatchedRecords(side)];
  }

  /** A side's records with no counterpart: those still waiting, and those resolved as such.
   *  Once through, they are gone from the builder (finish is called once). */
  protected *unmatchedRecords(side: Side): Generator<NormalizedRecord> {
    yield* this.inOrder.drain(side);
    yield* this.pending[side].values();
    this.pending[side].clear();
    for (const entry of this.packed?.drain(BIT[side]) ?? []) yield unpacked(entry);
    const { keys, hashes } = this.resolved[side];
    this.resolved[side] = { keys: [], hashes: [] };
    for (let i = 0; i < keys.length; i++) yield { key: keys[i]!, hash: hashes[i]!, fields: STRIPPED };
  }

  protected result(missing: NormalizedRecord[], extra: NormalizedRecord[], changed: ChangedRecord[]): DiffResult {
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

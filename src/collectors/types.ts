// The collector contract: how the reconcile stage reads one side of an entity.
import type { Page, ProbeResult, Span } from '../core/record.js';
import type { RecordMapper } from './mapper.js';
import type { MetricDef, MetricValue } from './metrics.js';

export type { ProbeResult } from '../core/record.js';

export interface ReadOptions {
  /** Maps each raw row to a normalized record (or an invalid one). */
  mapper: RecordMapper;
  signal?: AbortSignal;
  /** Read only records whose incremental field is past this watermark (sides that can filter). */
  since?: string | null;
  /** Equality filters by entity field (`parity run --filter`): a collector may apply the ones
   *  it can in the system (SQL: a condition); the caller filters the records again anyway. */
  filters?: Readonly<Record<string, string>> | undefined;
  /** A rolling window (`window:`): records whose `field` is at `from` (ISO) or later. A
   *  collector may ask the system for a superset; the caller filters exactly. */
  window?: { field: string; from: string; param?: string | undefined } | undefined;
  /** Only rows in these key ranges, in this order (bisection's segments to read). */
  ranges?: readonly KeyRange[] | undefined;
  /** The caller looks at nothing but each record's key and hash, and reads the fields of the
   *  few it needs again by their places (readAt): a collector that can may return records
   *  without fields, each with its place (placedRecord). */
  placesOnly?: boolean | undefined;
}

/** A range of keys as the database orders them: from `from` (inclusive) to `to` (exclusive);
 *  null is open. A bound holds one value per key column, as the database returned it. */
export interface KeyRange {
  from: readonly unknown[] | null;
  to: readonly unknown[] | null;
  /** The most rows either side held in the range when it was found to differ, if known: small
   *  ranges are read together, several in one query. */
  rows?: number | undefined;
}

/** A segment's row count and order-independent checksum. */
export interface SegmentSums {
  count: number;
  sum: bigint;
}

/** One side's segments: counts and checksums computed where the data lives. */
export interface SegmentSource {
  /** Count and checksum of each part of `range` cut at `cuts` (cuts.length + 1 parts, in order). */
  checksums(range: KeyRange, cuts: readonly (readonly unknown[])[]): Promise<SegmentSums[]>;
  /** The rows in `range`: a count only, no checksum. */
  count(range: KeyRange): Promise<number>;
  /** Where to cut `range` (holding about `rows` rows) into about `parts` parts, in key order. */
  cuts(range: KeyRange, parts: number, rows: number): Promise<unknown[][]>;
  /** Whether the database computes the checksums (false: the agent reads and hashes the rows). */
  readonly inDatabase: boolean;
  /** How the database orders each key column ("number", "text:binary", a collation…): two
   *  sides are cut at the same keys only when these agree. */
  readonly keyOrder: readonly string[];
  /** The type class of each value of the row text (keys, then compared fields). */
  readonly classes: readonly string[];
  /** A side the agent hashes takes the other side's classes, to write its values alike. */
  align(peer: readonly string[]): void;
  /** Two SQLite files: this side's database joins the other's table (attached) and says
   *  which key ranges differ; a string says why it cannot. */
  joinAttached?(peer: SegmentSource): Promise<AttachedJoin | string>;
  readonly stats: { queries: number; bytes: number };
}

/** The key ranges whose rows differ, found by joining both tables in one database: runs of
 *  consecutive differing keys, each up to the key after it. */
export interface AttachedJoin {
  ranges: KeyRange[];
  /** Rows equal on both sides (not read). */
  matched: number;
  rowsToRead: { source: number; target: number };
  queries: number;
  bytes: number;
}

/** What a side's segments are built from: the entity's key and compared fields. */
export interface SegmentSpec {
  keyFields: readonly string[];
  compareFields: readonly string[];
  metrics: readonly MetricDef[];
}

/**
 * Reads one side of one entity.
 * - `read()` is called at most once per collector; it streams pages in the side's natural
 *   order (key order where the system can sort). Records that fail mapping are reported in
 *   the page's `invalid` list; the stream goes on.
 * - A failure to reach or read the system throws a ParityError; nothing is retried here.
 * - `columns()` may be called before `read()` to learn the side's field names when the
 *   config maps none; it returns null when the system cannot tell without reading.
 * - `probe()` is for `parity validate`: it checks reachability and the table or endpoint,
 *   and never throws for an unreachable system (it reports it).
 * - `watermark()` is read after `read()` finished; the caller stores it only when the run
 *   completes, so a failed run never skips records next time.
 * - `close()` releases connections; it is safe to call more than once.
 */
export interface Collector {
  columns(): Promise<string[] | null>;
  read(options: ReadOptions): AsyncIterable<Page>;
  probe(): Promise<ProbeResult[]>;
  /** The metrics the system can compute itself (SQL: aggregate queries). Metrics missing
   *  from the answer are computed by the caller while streaming the records. */
  metrics(defs: readonly MetricDef[]): Promise<Map<string, MetricValue>>;
  /** After read(): the largest value of the side's incremental field seen, or null. */
  watermark(): string | null;
  /** The side's segment checksums (bisection), or why it has none. Optional: only SQL sides. */
  segments?(spec: SegmentSpec): Promise<SegmentSource | string>;
  /** The records at these places of the file, as read() gave them in its pages' spans;
   *  `spans` sorted by position. Optional: only sides whose pages have spans. */
  readAt?(options: ReadOptions, spans: readonly Span[]): AsyncIterable<Page>;
  /** Bytes of rows this collector returned (bisection's report), when it counts them. */
  bytesRead?(): number;
  close(): Promise<void>;
}

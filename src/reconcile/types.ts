// The shapes a diff produces: counts, the records on each side of it, samples.
import type { InvalidRecord, NormalizedRecord } from '../core/record.js';

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
  strategy: 'merge' | 'hash' | 'bisection' | 'attach';
  /** The most records that waited for the other side at any moment. */
  maxPending: number;
  /** bisection: segments whose checksums were compared, and those read and diffed. */
  segments?: { checked: number; read: number };
  /** bisection: rows read per side (the rest matched by checksum). */
  rowsRead?: Record<Side, number>;
  /** bisection: bytes of checksums, cut points and rows that left the databases. */
  bytes?: number;
  /** bisection: checksum and cut-point queries sent. */
  queries?: number;
  /** Both sides are SQL but the entity was streamed: why. */
  fallback?: string;
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

/** Per-field numeric tolerances: values within this distance are equal. */
export type Tolerances = Readonly<Record<string, number>>;

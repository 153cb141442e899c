// The records and pages that flow from the collectors to the reconcile stage.

/** A record after field mapping and transforms: its key, the hash of its compared
 *  fields, and the mapped field values (kept for samples and, later, the push). */
export interface NormalizedRecord {
  /** Unambiguous key string: the single key value, or a JSON array for composite keys. */
  key: string;
  hash: string;
  fields: Record<string, unknown>;
}

/**
 * A record as the mappers make it: an instance of a class, not an object literal. V8 notes
 * where literals are allocated and, once most of one site's objects outlive a young
 * collection, allocates everything from that site in the old generation from then on. The
 * records of a side that reads ahead wait for the other side's, so whether that happened
 * depended on when the first collections fell: in some runs every later record was
 * swept from the old generation (SQLite to the receiver, 1,000,000 rows: 390 MB promoted
 * instead of 90 MB, peak RSS about 260 MB instead of 205 MB). Class instances carry no such
 * site.
 */
export class MappedRecord implements NormalizedRecord {
  constructor(
    public key: string,
    public hash: string,
    public fields: Record<string, unknown>,
  ) {}
}

/** A record that could not be normalized: where it came from and why. */
export interface InvalidRecord {
  /** Where to find it: "row 12", "page 3 item 7", a key if one was readable. */
  ref: string;
  reason: string;
}

/** One page of a side's stream. `invalid` lists the rows of this page that failed. */
export interface Page {
  records: NormalizedRecord[];
  invalid: InvalidRecord[];
  /** Where the page came from (a URL without credentials), for debug logs. */
  from?: string;
  /** Where each record is in its file, when the collector can read it again from there alone
   *  (Collector.readAt): record i's first byte at [2i] (-1: nowhere) and its length at [2i + 1]. */
  spans?: number[];
  /** About how many records the whole side holds, when the collector can tell early (a file's
   *  size over the bytes of its first records): the join sizes its key table from it. */
  expected?: number;
  /** The same records as text columns, when the collector made them so (a CSV side read as keys
   *  and hashes): the join can then take a record without making its strings or its object. */
  columns?: PageColumns;
}

/** A page's keys and hashes, each run together in one text: record i's key is keyText from
 *  keyEnds[i - 1] (0 for the first) to keyEnds[i], its hash likewise. `whole` lists, in
 *  ascending order, the records that kept their fields: those are in Page.records only. */
export interface PageColumns {
  keyText: string;
  keyEnds: Uint32Array;
  hashText: string;
  hashEnds: Uint32Array;
  whole: readonly number[];
}

/** Where a record is in its file: its first byte and its length in bytes (see Page.spans). */
export interface Span {
  at: number;
  bytes: number;
}

/** What a push did (or, in a dry run, would do) to an entity's target, by record. */
export interface SyncCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  rejected: number;
  /** Records in batches still waiting in the outbox. */
  pending: number;
}

/** One line of `parity validate`: a check and whether it held. */
export interface ProbeResult {
  ok: boolean;
  check: string;
  detail: string;
}

/** The records of a page, counted without making them (see Page.columns). */
export function recordCount(page: Page): number {
  return page.columns ? page.columns.keyEnds.length : page.records.length;
}

// The collector contract: how the reconcile stage reads one side of an entity.
import type { Page, ProbeResult } from '../core/record.js';
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
  close(): Promise<void>;
}

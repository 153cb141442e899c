// Bisection: which key ranges of an entity differ, found from counts and checksums computed
// where the data lives. A segment whose count and checksum agree on both sides is matched
// without reading a row; one that differs is cut into `factor` parts at keys sampled from the
// larger side (at even steps of an integer key), until it holds no more than `threshold`
// rows; those are read and diffed.
//
// Each side cuts a range by its own ordering of the keys (collations differ). A row that one
// side puts in another part than the other side does makes both parts differ, so both are
// read on both sides, and the one diff over everything read still pairs it.
import type { Side } from './types.js';
import pLimit, { type LimitFunction } from 'p-limit';
import type { KeyRange, SegmentSource } from '../collectors/types.js';

export interface BisectionSettings {
  factor: number;
  threshold: number;
}

export interface BisectionResult {
  /** The ranges to read and diff, in key order (adjacent ones joined). */
  ranges: KeyRange[];
  /** Rows in segments that agree: matched without being read (the same number on each side). */
  matched: number;
  segments: { checked: number; read: number };
  /** Rows per side in the segments to read. */
  rowsToRead: Record<Side, number>;
}

const MAX_DEPTH = 64;

/** A segment's count, and its checksum where it was computed (null: counted only). */
type Sums = { count: number; sum: bigint | null };

const same = (a: Sums, b: Sums) => a.sum !== null && b.sum !== null && a.count === b.count && a.sum === b.sum;

/** Checksum and cut queries in flight at once, per entity (both sides together). */
const IN_FLIGHT = 4;

export async function bisect(sides: Record<Side, SegmentSource>, settings: BisectionSettings, signal?: AbortSignal): Promise<BisectionResult> {
  const result = emptyResult(1);
  const limit = pLimit(IN_FLIGHT);
  const whole: KeyRange = { from: null, to: null };
  // First the counts only: a large table is cut at once, so every row is hashed in one pass
  // (the first cut's grouped checksums), not once for the whole and again for its parts.
  const [sourceRows, targetRows] = await Promise.all([limit(() => sides.source.count(whole)), limit(() => sides.target.count(whole))]);
  const visit = visitor(sides, settings, result, limit, signal);
  if (Math.max(sourceRows, targetRows) > settings.threshold) {
    result.ranges = await visit(whole, { count: sourceRows, sum: null }, { count: targetRows, sum: null }, 0);
  } else {
    const [s, t] = await Promise.all([limit(() => sides.source.checksums(whole, [])), limit(() => sides.target.checksums(whole, []))]);
    result.ranges = await visit(whole, s![0]!, t![0]!, 0);
  }
  return result;
}

/** The first cut of the entity, as units of work for several agents: the whole key range
 *  cut in `factor` parts when it is larger than the threshold, else the whole as one. */
export async function topRanges(sides: Record<Side, SegmentSource>, settings: BisectionSettings): Promise<KeyRange[]> {
  const whole: KeyRange = { from: null, to: null };
  const [sourceRows, targetRows] = await Promise.all([sides.source.count(whole), sides.target.count(whole)]);
  const rows = Math.max(sourceRows, targetRows);
  if (rows <= settings.threshold) return [whole];
  const cuts = await (sourceRows >= targetRows ? sides.source : sides.target).cuts(whole, settings.factor, rows);
  return Array.from({ length: cuts.length + 1 }, (_, i) => ({ from: i === 0 ? null : cuts[i - 1]!, to: i === cuts.length ? null : cuts[i]! }));
}

/** One of the first cut's parts, bisected as `bisect` does it (the same segments, the same
 *  ranges to read): its result, to be joined with the other parts' by `joinResults`. */
export async function bisectRange(sides: Record<Side, SegmentSource>, settings: BisectionSettings, range: KeyRange, signal?: AbortSignal): Promise<BisectionResult> {
  const result = emptyResult(1);
  const limit = pLimit(IN_FLIGHT);
  const [s, t] = await Promise.all([limit(() => sides.source.checksums(range, [])), limit(() => sides.target.checksums(range, []))]);
  result.ranges = await visitor(sides, settings, result, limit, signal)(range, s![0]!, t![0]!, 1);
  return result;
}

/** The parts' results (in key order) as the one result of the entity. */
export function joinResults(parts: readonly BisectionResult[]): BisectionResult {
  // The whole, counted, is a segment of its own when it was cut.
  const result = emptyResult(parts.length > 1 ? 1 : 0);
  for (const p of parts) {
    result.matched += p.matched;
    result.segments.checked += p.segments.checked;
    result.segments.read += p.segments.read;
    result.rowsToRead.source += p.rowsToRead.source;
    result.rowsToRead.target += p.rowsToRead.target;
  }
  result.ranges = joinAdjacent(parts.flatMap((p) => p.ranges));
  return result;
}

function emptyResult(checked: number): BisectionResult {
  return { ranges: [], matched: 0, segments: { checked, read: 0 }, rowsToRead: { source: 0, target: 0 } };
}

/** A range that starts where the one before it ended extends it: fewer, longer reads. */
function joinAdjacent(ranges: readonly KeyRange[]): KeyRange[] {
  const joined: KeyRange[] = [];
  for (const r of ranges) {
    const previous = joined[joined.length - 1];
    if (previous && previous.to !== null && r.from !== null && sameBound(previous.to, r.from)) {
      previous.to = r.to;
      previous.rows = previous.rows === undefined || r.rows === undefined ? undefined : previous.rows + r.rows;
    } else joined.push({ ...r });
  }
  return joined;
}

/** Two bounds hold the same key (a bound read back from the state store is a copy). */
function sameBound(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a === b || (a.length === b.length && a.every((v, i) => v === b[i] || (v instanceof Date && b[i] instanceof Date && v.getTime() === (b[i] as Date).getTime())));
}

function visitor(sides: Record<Side, SegmentSource>, settings: BisectionSettings, result: BisectionResult, limit: LimitFunction, signal?: AbortSignal) {
  /** The ranges to read within `range`, in key order. Parts are visited at once, their
   *  queries held to IN_FLIGHT; the answer keeps their order. */
  return async function visit(range: KeyRange, source: Sums, target: Sums, depth: number): Promise<KeyRange[]> {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
    if (same(source, target)) {
      result.matched += source.count;
      return [];
    }
    const larger = source.count >= target.count ? sides.source : sides.target;
    const rows = Math.max(source.count, target.count);
    // Each level shrinks the larger side's part by the factor; the depth bound is a safeguard.
    const cuts = rows > settings.threshold && depth < MAX_DEPTH ? await limit(() => larger.cuts(range, settings.factor, rows)) : [];
    if (cuts.length === 0) {
      result.segments.read++;
      result.rowsToRead.source += source.count;
      result.rowsToRead.target += target.count;
      return [{ ...range, rows }];
    }
    const [sourceParts, targetParts] = await Promise.all([limit(() => sides.source.checksums(range, cuts)), limit(() => sides.target.checksums(range, cuts))]);
    result.segments.checked += cuts.length + 1;
    const parts = await Promise.all(
      Array.from({ length: cuts.length + 1 }, (_, i) => visit({ from: i === 0 ? range.from : cuts[i - 1]!, to: i === cuts.length ? range.to : cuts[i]! }, sourceParts[i]!, targetParts[i]!, depth + 1)),
    );
    return joinAdjacent(parts.flat());
  };
}

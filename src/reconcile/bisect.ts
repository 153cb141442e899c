// Bisection: which key ranges of an entity differ, found from counts and checksums computed
// where the data lives. A segment whose count and checksum agree on both sides is matched
// without reading a row; one that differs is cut into `factor` parts at keys sampled from the
// larger side, until it holds no more than `threshold` rows; those are read and diffed.
//
// Each side cuts a range by its own ordering of the keys (collations differ). A row that one
// side puts in another part than the other side does makes both parts differ, so both are
// read on both sides, and the one diff over everything read still pairs it.
import type { Side } from './types.js';
import pLimit from 'p-limit';
import type { KeyRange, SegmentSource, SegmentSums } from '../collectors/types.js';

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

const same = (a: SegmentSums, b: SegmentSums) => a.count === b.count && a.sum === b.sum;

/** Checksum and cut queries in flight at once, per entity (both sides together). */
const IN_FLIGHT = 4;

export async function bisect(sides: Record<Side, SegmentSource>, settings: BisectionSettings, signal?: AbortSignal): Promise<BisectionResult> {
  const result: BisectionResult = { ranges: [], matched: 0, segments: { checked: 1, read: 0 }, rowsToRead: { source: 0, target: 0 } };
  const limit = pLimit(IN_FLIGHT);
  const whole: KeyRange = { from: null, to: null };
  const [s, t] = await Promise.all([limit(() => sides.source.checksums(whole, [])), limit(() => sides.target.checksums(whole, []))]);
  result.ranges = await visit(whole, s![0]!, t![0]!, 0);
  return result;

  /** The ranges to read within `range`, in key order. Parts are visited at once, their
   *  queries held to IN_FLIGHT; the answer keeps their order. */
  async function visit(range: KeyRange, source: SegmentSums, target: SegmentSums, depth: number): Promise<KeyRange[]> {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
    if (same(source, target)) {
      result.matched += source.count;
      return [];
    }
    const larger = source.count >= target.count ? sides.source : sides.target;
    const rows = Math.max(source.count, target.count);
    // Each level shrinks the larger side's part by the factor; the depth bound is a safeguard.
    const cuts = rows > settings.threshold && depth < MAX_DEPTH ? await limit(() => larger.cuts(range, Math.ceil(rows / settings.factor))) : [];
    if (cuts.length === 0) {
      result.segments.read++;
      result.rowsToRead.source += source.count;
      result.rowsToRead.target += target.count;
      return [{ ...range }];
    }
    const [sourceParts, targetParts] = await Promise.all([limit(() => sides.source.checksums(range, cuts)), limit(() => sides.target.checksums(range, cuts))]);
    result.segments.checked += cuts.length + 1;
    const parts = await Promise.all(
      Array.from({ length: cuts.length + 1 }, (_, i) => visit({ from: i === 0 ? range.from : cuts[i - 1]!, to: i === cuts.length ? range.to : cuts[i]! }, sourceParts[i]!, targetParts[i]!, depth + 1)),
    );
    // A range that starts where the one before it ended extends it: fewer, longer reads.
    const joined: KeyRange[] = [];
    for (const r of parts.flat()) {
      const previous = joined[joined.length - 1];
      if (previous && previous.to !== null && previous.to === r.from) previous.to = r.to;
      else joined.push(r);
    }
    return joined;
  }
}

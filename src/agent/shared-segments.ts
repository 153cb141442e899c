// Bisection shared by the agents of one PostgreSQL or MySQL state store. The agent holding an
// entity's lease (the leader) cuts the key range once and writes the parts to the store as a
// job; every agent running the same config takes free parts one at a time, bisects each (its
// checksums and deeper cuts) and writes what it found. When every part is done, the leader
// joins the parts' results and reads and diffs the differing ranges itself, so the entity has
// one report, whichever agents did the work. A part whose agent died is taken over when its
// lease expires (at once when the process is known to be gone); a leader that died is
// replaced by a helper that takes its entity lease and takes up its job.
import { createHash } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import type { KeyRange, SegmentSource } from '../collectors/types.js';
import { ParityError } from '../core/errors.js';
import { bisectRange, joinResults, topRanges, type BisectionResult, type BisectionSettings } from '../reconcile/bisect.js';
import type { Side } from '../reconcile/types.js';
import type { ResolvedEntity } from './config/load.js';
import { holderIsDead } from './holder.js';
import type { Logger } from './logger.js';
import type { SegmentJob } from './state/segment-table.js';
import type { StateStore } from './state/store.js';

export interface SegmentShare {
  store: StateStore;
  holder: string;
  ttlMs: number;
}

/** Checksum and cut queries, and their bytes, of every agent that worked on the entity. */
export type SharedResult = BisectionResult & { stats: { queries: number; bytes: number }; agents: string[] };

/** How often a waiting agent looks for parts to take over and for the job's end. */
const POLL_MS = 250;

/** What identifies "the same entity, cut the same way": only agents that agree on it share. */
export function segmentFingerprint(entity: ResolvedEntity, compareFields: readonly string[]): string {
  const side = (s: ResolvedEntity['source']) => [s.systemName, s.config.table ?? null];
  const what = [entity.name, entity.keyFields, compareFields, entity.config.bisectionFactor, entity.config.bisectionThreshold, side(entity.source), side(entity.target)];
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
}

// Key bounds as JSON: the values a driver returns (numbers, text, dates, bigint, bytes) tagged
// where JSON alone would change their type.
function encodeValue(v: unknown): unknown {
  if (v instanceof Date) return { $date: v.toISOString() };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (Buffer.isBuffer(v)) return { $hex: v.toString('hex') };
  return v;
}

function decodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, string>;
  if ('$date' in o) return new Date(o.$date!);
  if ('$bigint' in o) return BigInt(o.$bigint!);
  if ('$hex' in o) return Buffer.from(o.$hex!, 'hex');
  return v;
}

const encodeBound = (b: readonly unknown[] | null) => (b === null ? null : b.map(encodeValue));
const decodeBound = (b: unknown[] | null) => (b === null ? null : b.map(decodeValue));
export const encodeRange = (r: KeyRange) => ({ from: encodeBound(r.from), to: encodeBound(r.to), rows: r.rows });
export const decodeRange = (r: { from: unknown[] | null; to: unknown[] | null; rows?: number | undefined }): KeyRange => ({ from: decodeBound(r.from), to: decodeBound(r.to), rows: r.rows });

interface StoredResult {
  result: Omit<BisectionResult, 'ranges'> & { ranges: ReturnType<typeof encodeRange>[] };
  stats: { queries: number; bytes: number };
}

const statsOf = (sides: Record<Side, SegmentSource>) => ({ queries: sides.source.stats.queries + sides.target.stats.queries, bytes: sides.source.stats.bytes + sides.target.stats.bytes });

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new ParityError('PARITY_ABORTED', 'stopped');
}

/** Waits between polls; an abort ends the wait (the caller then stops). */
export const pause = (signal?: AbortSignal) => wait(POLL_MS, undefined, { signal }).catch(() => undefined);

/** Takes free parts one at a time (and parts whose agent died) until none is left; how many
 *  this agent did. */
export async function workSegments(share: SegmentShare, job: SegmentJob, sides: Record<Side, SegmentSource>, settings: BisectionSettings, log: Logger, signal?: AbortSignal): Promise<number> {
  const { store, holder, ttlMs } = share;
  let done = 0;
  for (;;) {
    throwIfAborted(signal);
    const part = await store.claimSegment(job.id, holder, ttlMs, holderIsDead);
    if (!part) return done;
    const renew = setInterval(() => void store.renewSegment(job.id, part.idx, holder, ttlMs).catch(() => undefined), Math.max(250, Math.floor(ttlMs / 3)));
    renew.unref();
    try {
      const before = statsOf(sides);
      const result = await bisectRange(sides, settings, decodeRange(JSON.parse(part.range)), signal);
      const after = statsOf(sides);
      const stored: StoredResult = { result: { ...result, ranges: result.ranges.map(encodeRange) }, stats: { queries: after.queries - before.queries, bytes: after.bytes - before.bytes } };
      if (await store.completeSegment(job.id, part.idx, holder, JSON.stringify(stored))) done++;
      else log.warn({ segment: part.idx }, 'lost the lease on a segment (it expired and another agent took it): its result is left to that agent');
    } finally {
      clearInterval(renew);
    }
  }
}

/** The leader's bisection of an entity, its parts shared with whichever agents join. */
export async function sharedBisect(share: SegmentShare, entity: string, fingerprint: string, sides: Record<Side, SegmentSource>, settings: BisectionSettings, log: Logger, signal?: AbortSignal): Promise<SharedResult> {
  const { store, holder, ttlMs } = share;
  const first = statsOf(sides);
  let job = await store.openSegmentJob(entity, fingerprint, 2 * ttlMs);
  if (job) log.warn({ job: job.id }, 'took up the segments of an agent that stopped: the parts it finished are kept');
  else job = await store.createSegmentJob(entity, fingerprint, holder, (await topRanges(sides, settings)).map((r) => JSON.stringify(encodeRange(r))));
  // The counts and cuts of the first split.
  const top = { queries: statsOf(sides).queries - first.queries, bytes: statsOf(sides).bytes - first.bytes };
  const current = job;
  await store.segmentHeartbeat(current.id, holder);
  const beat = setInterval(() => void store.segmentHeartbeat(current.id, holder).catch(() => undefined), Math.max(250, Math.floor(ttlMs / 3)));
  beat.unref();
  try {
    let mine = 0;
    for (;;) {
      mine += await workSegments(share, current, sides, settings, log, signal);
      if ((await store.segmentCounts(current.id)).done >= current.parts) break;
      throwIfAborted(signal);
      await pause(signal);
    }
    const rows = await store.segmentResults(current.id);
    const stored = rows.map((r) => JSON.parse(r.result) as StoredResult);
    const joined = joinResults(stored.map((s) => ({ ...s.result, ranges: s.result.ranges.map(decodeRange) })));
    const stats = stored.reduce((a, s) => ({ queries: a.queries + s.stats.queries, bytes: a.bytes + s.stats.bytes }), top);
    await store.finishSegmentJob(current.id);
    const agents = [...new Set(rows.map((r) => r.doneBy))];
    log.info({ job: current.id, segments: current.parts, byThisAgent: mine, agents: agents.length }, 'shared segments done');
    return { ...joined, stats, agents };
  } finally {
    clearInterval(beat);
  }
}

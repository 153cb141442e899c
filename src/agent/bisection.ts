// Whether an entity is diffed by bisection (both sides SQL tables, every compared value
// expressible in SQL), and the segments to read when it is. Otherwise the report says why the
// entity was streamed.
import type { Collector, SegmentSource } from '../collectors/types.js';
import { bisect, type BisectionResult } from '../reconcile/bisect.js';
import type { JoinStats, Side } from '../reconcile/types.js';
import type { ResolvedEntity } from './config/load.js';
import type { Logger } from './logger.js';
import { systemType } from '../systems/registry.js';
import { segmentFingerprint, sharedBisect, type SegmentShare } from './shared-segments.js';

export interface Bisection {
  result: BisectionResult & { stats?: { queries: number; bytes: number } };
  sources: Record<Side, SegmentSource>;
  /** attach: two SQLite files joined in one connection, not checksummed. */
  strategy?: 'attach';
}

/** null: bisection does not apply (a side is not SQL, or `bisection: false`). */
export type BisectionPlan = { bisection: Bisection; fallback?: undefined } | { fallback: string; bisection?: undefined } | null;

/** Whether the entity may be bisected: both systems compute checksums, and it is not off. */
export function bisects(entity: ResolvedEntity): boolean {
  return entity.config.bisection !== false && [entity.source, entity.target].every((side) => systemType(side.system).capabilities.checksums === true);
}

/** Why the entity's records cannot be matched by checksums in the database, or null. */
export function entityBlocker(entity: ResolvedEntity, compareFields: readonly string[], run: { keyIndex: boolean; partial: boolean; attachments: boolean }): string | null {
  if (entity.keyChains.length > 1) return 'the entity has key fallback chains';
  if (run.keyIndex) return 'the entity reads incrementally (a key index keeps its keys)';
  if (run.partial) return 'a filter or window reads part of each side';
  if (run.attachments) return 'the entity has attachment fields';
  if (Object.keys(entity.rules.validate).length || Object.keys(entity.rules.precision).length) return 'validate or precision rules can make records invalid';
  const fields = new Set([...entity.keyFields, ...compareFields]);
  for (const side of [entity.source, entity.target]) {
    // A compared field that is only trimmed is trimmed in SQL the same way (row-text.ts).
    const inSql = (x: { name: string; transforms: readonly { text: string }[] }) => !entity.keyFields.includes(x.name) && x.transforms.every((t) => t.text === 'trim');
    const m = side.mappings?.find((x) => fields.has(x.name) && x.transforms.length > 0 && !inSql(x));
    if (m) return `${side.role} field ${m.name} has a transform (${m.transforms.map((t) => t.text).join(' | ')}) that is not computed in SQL`;
  }
  return null;
}

export async function planBisection(
  entity: ResolvedEntity,
  collectors: Record<Side, Collector>,
  compareFields: readonly string[],
  run: { keyIndex: boolean; partial: boolean; attachments: boolean },
  log: Logger,
  signal: AbortSignal,
  share?: SegmentShare,
): Promise<BisectionPlan> {
  if (!bisects(entity)) return null;
  const fallback = (why: string): BisectionPlan => {
    log.info({ reason: why }, 'streaming diff, not bisection');
    return { fallback: why };
  };
  const blocked = entityBlocker(entity, compareFields, run);
  if (blocked) return fallback(blocked);
  const sources = await segmentSources(entity, collectors, compareFields);
  if (typeof sources === 'string') return fallback(sources);
  if (!sources.source.inDatabase && !sources.target.inDatabase) {
    // Two SQLite files: one connection joins both tables instead.
    const joined = (await sources.source.joinAttached?.(sources.target)) ?? 'no join';
    if (typeof joined === 'string') return fallback(`neither side computes checksums in its database (SQLite on both sides), and they cannot be joined: ${joined}`);
    const { ranges, matched, rowsToRead, queries, bytes } = joined;
    log.info({ matched, ranges: ranges.length, toRead: rowsToRead }, 'both SQLite tables joined in one database');
    return { bisection: { result: { ranges, matched, rowsToRead, segments: { checked: 1, read: ranges.length }, stats: { queries, bytes } }, sources, strategy: 'attach' } };
  }
  const started = performance.now();
  const settings = { factor: entity.config.bisectionFactor, threshold: entity.config.bisectionThreshold };
  // On a store other agents share, the parts are units of work any of them may take.
  const result = share ? await sharedBisect(share, entity.name, segmentFingerprint(entity, compareFields), sources, settings, log, signal) : await bisect(sources, settings, signal);
  log.info({ matched: result.matched, segments: result.segments, toRead: result.rowsToRead, ms: Math.round(performance.now() - started) }, 'segments compared by checksum');
  return { bisection: { result, sources } };
}

/** Both sides' segments, ready to be compared, or why they cannot be. */
export async function segmentSources(entity: ResolvedEntity, collectors: Record<Side, Collector>, compareFields: readonly string[]): Promise<Record<Side, SegmentSource> | string> {
  const spec = { keyFields: entity.keyFields, compareFields, metrics: entity.metrics };
  const [source, target] = await Promise.all([collectors.source.segments!(spec), collectors.target.segments!(spec)]);
  if (typeof source === 'string') return source;
  if (typeof target === 'string') return target;
  const unlike = entity.keyFields.findIndex((_, i) => source.keyOrder[i] !== target.keyOrder[i]);
  if (unlike >= 0) return `the databases order key field ${entity.keyFields[unlike]} differently (${source.keyOrder[unlike]} and ${target.keyOrder[unlike]}); a binary collation on both sides (C, utf8mb4_bin) lets bisection cut them alike`;
  if (!source.inDatabase) source.align(target.classes);
  if (!target.inDatabase) target.align(source.classes);
  return { source, target };
}

/** The report's join: bisection's figures, or the streaming join with why bisection was not used. */
export function joinReport(streamed: JoinStats, plan: BisectionPlan, collectors: Record<Side, Collector>, rowsRead: Record<Side, number>): JoinStats {
  if (!plan) return streamed;
  if (plan.fallback !== undefined) return { ...streamed, fallback: plan.fallback };
  const { result, sources } = plan.bisection;
  // Shared segments: the checksum queries of every agent that took part.
  const stats = result.stats ?? { queries: sources.source.stats.queries + sources.target.stats.queries, bytes: sources.source.stats.bytes + sources.target.stats.bytes };
  const bytes = stats.bytes + (collectors.source.bytesRead?.() ?? 0) + (collectors.target.bytesRead?.() ?? 0);
  return {
    strategy: plan.bisection.strategy ?? 'bisection',
    maxPending: streamed.maxPending,
    // A join in SQLite checks keys, not segments.
    ...(plan.bisection.strategy === 'attach' ? {} : { segments: { ...result.segments } }),
    rowsRead: { ...rowsRead },
    bytes,
    queries: stats.queries,
  };
}

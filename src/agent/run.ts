// The run orchestrator: one reconciliation of the configured entities, in dependency
// order, recorded in the state store and written as report files.
import { randomUUID } from 'node:crypto';
import { PROCESS_HOLDER } from './holder.js';
import { takeEntityLease } from './leases.js';
import { newProgress, type RunProgress } from './progress.js';
import path from 'node:path';
import { createCollector, type Collector } from '../collectors/index.js';
import { MetricAccumulator, type MetricValue } from '../collectors/metrics.js';
import { sortedFields } from '../core/canonical.js';
import type { NormalizedRecord } from '../core/record.js';
import { describeError, ParityError } from '../core/errors.js';
import { DiffBuilder, isStripped, refill, strippedNeeds, type Side } from '../reconcile/diff.js';
import { eventLoopTurns } from '../core/yield.js';
import { compareEntityReport, compareMetrics, decideConflicts, failedEntityReport, sourceDropGuard, REPORT_SCHEMA_VERSION, type EntityReport, type RunReport } from '../reconcile/report.js';
import { band, healthScore, percent } from '../reconcile/score.js';
import type { LoadedConfig, ResolvedEntity, ResolvedSide } from './config/load.js';
import type { Logger } from './logger.js';
import { pruneReports, writeReportFiles } from './reports.js';
import type { IndexRow, StateStore } from './state/store.js';
import { syncEntity, type Candidates } from './sync.js';
import { mapperFor } from './mappers.js';
import { withDeadline } from './deadline.js';

export const SAMPLE_LIMIT = 20;

export interface RunOptions {
  full?: boolean;
  dryRun?: boolean;
  /** Only these entities (in dependency order); all when empty. */
  entities?: string[];
  trigger?: RunReport['trigger'];
  signal?: AbortSignal;
  logger: Logger;
  /** How many records one side may hold waiting for the other before it pauses. */
  maxAhead?: number;
  /** Past this many waiting records (sides in different orders), keep only keys and hashes. */
  compactAbove?: number;
  /** The run's ID (the agent hands it out before the run starts). */
  runId?: string;
  /** Who runs it: leases on each entity are taken in this name. */
  holder?: string;
  /** How long an entity's lease lasts without renewal (renewed every third of it). */
  leaseTtlMs?: number;
  /** Updated as the run goes, for the status API and progress bars. */
  progress?: RunProgress;
  /** True once the agent is shutting down: no new entity starts, no new batch is sent. */
  shouldStop?: () => boolean;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface RunResult {
  report: RunReport;
  status: 'completed' | 'failed';
  files: string[];
}

export function selectEntities(loaded: LoadedConfig, names: readonly string[] | undefined): ResolvedEntity[] {
  if (!names || names.length === 0) return loaded.entities;
  const known = new Set(loaded.entities.map((e) => e.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new ParityError('PARITY_USAGE', `unknown entit${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((n) => `"${n}"`).join(', ')} (configured: ${[...known].join(', ')})`);
  }
  return loaded.entities.filter((e) => names.includes(e.name));
}

export async function runOnce(loaded: LoadedConfig, store: StateStore, options: RunOptions): Promise<RunResult> {
  const entities = selectEntities(loaded, options.entities);
  const runId = options.runId ?? randomUUID();
  const log = options.logger.child({ runId });
  const holder = options.holder ?? PROCESS_HOLDER;
  const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const progress = options.progress ?? newProgress(runId, options.trigger ?? 'cli', options.full ? 'full' : 'incremental', entities.length);
  progress.runId = runId;
  const started = new Date();
  const requested: RunReport['mode'] = options.full ? 'full' : 'incremental';
  const dryRun = options.dryRun ?? false;
  const lastRunAt = await store.lastCompletedRunStart();
  await store.startRun({ id: runId, mode: requested, trigger: options.trigger ?? 'cli', dryRun, startedAt: started, holder });
  log.info({ mode: requested, dryRun, entities: entities.map((e) => e.name) }, 'run started');

  try {
    const reports: EntityReport[] = [];
    const watermarks: { entity: string; side: Side; value: string }[] = [];
    const byName = new Map<string, EntityReport>();
    /** Entities another agent was running: left out of this run's health. */
    const busy = new Set<string>();
    for (const entity of entities) {
      const t0 = performance.now();
      const entityStarted = new Date();
      progress.entity = entity.name;
      progress.phase = 'read';
      progress.recordsRead = 0;
      const blocked = entity.config.dependsOn.map((d) => byName.get(d)).find((r) => r && (r.outcome === 'failed' || r.outcome === 'skipped'));
      let why: string | null = blocked ? `prerequisite ${blocked.name} ${blocked.outcome}` : options.shouldStop?.() ? 'the agent is shutting down' : null;
      const lease = why ? null : await takeEntityLease(store, entity.name, holder, ttl, log);
      // An entity waiting on one another agent is running is that agent's business too.
      if (blocked && busy.has(blocked.name)) busy.add(entity.name);
      if (lease && 'busy' in lease) {
        why = lease.busy;
        busy.add(entity.name);
        log.warn({ entity: entity.name, reason: why }, 'entity skipped');
      }
      try {
        let outcome: EntityOutcome = { report: failedEntityReport(sideNames(entity), 'skipped', why ?? ''), watermarks: {} };
        if (!why) {
          const limitS = entity.config.maxDurationS;
          const entityLog = log.child({ entity: entity.name });
          let compared: EntityOutcome | null = null;
          try {
            outcome = await withDeadline(
              limitS * 1000,
              () => `entity "${entity.name}": did not finish within maxDurationS (${limitS} s): stopped, and the run went on with the other entities`,
              options.signal,
              async (signal) => {
                compared = await reconcileEntity(
                  loaded,
                  entity,
                  { store, full: options.full ?? false, maxAhead: options.maxAhead ?? MAX_AHEAD, compactAbove: options.compactAbove ?? COMPACT_ABOVE, lastRunAt, progress, pushes: Boolean(entity.target.config.write) && !dryRun },
                  entityLog,
                  signal,
                );
                const report = compared.report;
                if (report.outcome !== 'failed' && report.outcome !== 'skipped' && report.outcome !== 'in-sync') {
                  const dropped = sourceDropGuard(report.source.count, await store.lastSourceCount(entity.name), entity.config.safety?.maxSourceDrop ?? 0.5);
                  if (dropped) {
                    report.outcome = 'blocked';
                    report.blocked = dropped;
                    log.warn({ entity: entity.name, reason: dropped }, 'entity blocked');
                  }
                }
                if (entity.target.config.write && compared.candidates) {
                  await syncEntity(entity, report, compared.candidates, { store, runId, dryRun, baseDir: loaded.baseDir, log: entityLog, signal, progress, shouldStop: options.shouldStop });
                }
                return compared;
              },
            );
          } catch (err) {
            // The entity fails (its watermarks stay where they were); the run goes on.
            const message = describeError(err);
            entityLog.error({ err: message }, 'entity failed');
            const report = (compared as EntityOutcome | null)?.report ?? failedEntityReport(sideNames(entity), 'failed', message);
            report.outcome = 'failed';
            report.error = message;
            outcome = { report, watermarks: {} };
          }
        }
        const report = outcome.report;
        for (const [side, value] of Object.entries(outcome.watermarks)) watermarks.push({ entity: entity.name, side: side as Side, value });
        reports.push(report);
        byName.set(entity.name, report);
        await store.recordEntity(runId, report, performance.now() - t0, entityStarted);
      } finally {
        if (lease && 'release' in lease) await lease.release();
      }
      progress.entitiesDone++;
    }
    progress.entity = null;
    progress.phase = 'report';

    const bands = loaded.config.health.bands;
    const scored = entities.map((e, i) => ({ e, r: reports[i]! })).filter(({ e }) => !busy.has(e.name));
    const score = healthScore(scored.map(({ e, r }) => ({ match: r.outcome === 'failed' || r.outcome === 'skipped' ? null : r.match, weight: e.config.weight })));
    const totals = reports.reduce((t, r) => ({ matched: t.matched + r.diff.matched, all: t.all + r.diff.matched + r.diff.missing + r.diff.extra + r.diff.changed }), { matched: 0, all: 0 });
    const finished = new Date();
    const report: RunReport = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      runId,
      // Incremental when at least one entity read only its changes; else every entity read in full.
      mode: reports.some((r) => r.mode === 'incremental') ? 'incremental' : 'full',
      dryRun,
      trigger: options.trigger ?? 'cli',
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      health: { score: percent(score), status: band(score, bands), overallMatch: percent(totals.all === 0 ? 100 : (100 * totals.matched) / totals.all) },
      entities: reports,
    };
    const failed = reports.filter((r) => r.outcome === 'failed').map((r) => r.name);
    const status = failed.length ? 'failed' : 'completed';

    const reportsDir = path.resolve(loaded.baseDir, loaded.config.reports.dir);
    const history = loaded.config.reports.formats.includes('html') ? await store.listRuns(30) : [];
    const trend = [
      ...history.filter((r) => r.id !== runId && r.healthScore !== null).map((r) => ({ at: r.startedAt.toISOString(), score: r.healthScore! })),
      { at: report.startedAt, score: report.health.score },
    ].slice(-30);
    const files = writeReportFiles(report, reportsDir, loaded.config.reports.formats, trend);
    const pruned = pruneReports(reportsDir, loaded.config.reports.retentionDays);
    if (pruned.length) log.info({ removed: pruned.length }, 'old reports removed');

    // Watermarks move only after a run that wrote its results, and never in a dry run: the
    // next real run must still see every change.
    if (!dryRun) await store.saveWatermarks(runId, watermarks);
    await store.finishRun(runId, status, report, failed.length ? `failed: ${failed.join(', ')}` : null);
    log.info({ status, health: report.health, durationMs: report.durationMs }, 'run finished');
    return { report, status, files };
  } catch (err) {
    await store.finishRun(runId, 'failed', null, describeError(err)).catch(() => undefined);
    throw err;
  }
}

function sideNames(entity: ResolvedEntity) {
  return { name: entity.name, sourceSystem: entity.source.systemName, targetSystem: entity.target.systemName };
}

async function resolveCompareFields(entity: ResolvedEntity, source: Collector, target: Collector): Promise<string[]> {
  if (entity.compare) return entity.compare;
  const columns = (await source.columns()) ?? (await target.columns());
  if (!columns) {
    throw new ParityError('PARITY_CONFIG_INVALID', `entities.${entity.name}: neither side can list its fields; set "compare" or map "fields"`);
  }
  return sortedFields(columns.filter((c) => !entity.keyFields.includes(c)));
}


export interface EntityOutcome {
  report: EntityReport;
  /** The largest incremental value each side showed, to store when the run completes. */
  watermarks: Partial<Record<Side, string>>;
  /** What a push would send: source records to upsert, target keys to delete. */
  candidates?: Candidates;
}

/** Whether a side can read only what changed since its watermark. */
function canFilter(side: ResolvedSide): boolean {
  const incremental = side.config.incremental;
  if (!incremental) return false;
  if (side.system.type === 'sql') return true;
  return side.system.type === 'http' && Boolean(incremental.param);
}

interface EntityPlan {
  store: StateStore;
  progress: RunProgress;
  compactAbove: number;
  /** --full: read everything and rebuild the key index. */
  full: boolean;
  maxAhead: number;
  lastRunAt: Date | null;
  /** Whether this run may push the entity's difference (a write block, not a dry run). */
  pushes: boolean;
}

async function reconcileEntity(loaded: LoadedConfig, entity: ResolvedEntity, plan: EntityPlan, log: Logger, signal: AbortSignal | undefined): Promise<EntityOutcome> {
  const { store, maxAhead } = plan;
  const context = { keyChains: entity.keyChains, baseDir: loaded.baseDir, lastRunAt: plan.lastRunAt };
  const collectors: Record<Side, Collector> = {
    source: createCollector(entity.source, context),
    target: createCollector(entity.target, context),
  };
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    const compareFields = await resolveCompareFields(entity, collectors.source, collectors.target);
    // Entities with a side that can filter by watermark keep a key index. With one, a run
    // reads only what changed and takes the whole entity's counts from the index.
    const keepsIndex = canFilter(entity.source) || canFilter(entity.target);
    const since: Record<Side, string | null> = { source: null, target: null };
    if (keepsIndex && !plan.full && (await store.hasKeyIndex(entity.name))) {
      for (const side of ['source', 'target'] as const) if (canFilter(entity[side])) since[side] = await store.getWatermark(entity.name, side);
    }
    const incremental = since.source !== null || since.target !== null;
    if (keepsIndex && !incremental) log.info({ reason: plan.full ? '--full' : 'no key index or watermark yet' }, 'reading in full');
    const indexRows: IndexRow[] | undefined = keepsIndex && !incremental ? [] : undefined;
    const readKeys: Record<Side, Map<string, string>> = { source: new Map(), target: new Map() };
    const tolerant = Object.keys(entity.tolerances).length > 0;
    const builder = new DiffBuilder(maxAhead * 2, tolerant ? { fields: compareFields, tolerances: entity.tolerances } : undefined, indexRows);
    // Tolerances compare field values as records meet, so they keep whole records.
    if (!tolerant) builder.compactWhenPendingExceeds(plan.compactAbove);
    // Only a push needs the fields of records that are simply missing; deletes need keys only.
    builder.keepFieldsOfResolved({ source: plan.pushes, target: false });
    const turn = eventLoopTurns();
    const pace = new Pacer(builder, maxAhead);
    const mappers = { source: mapperFor(entity.source, entity, compareFields), target: mapperFor(entity.target, entity, compareFields) };
    const metricValues: Record<Side, Map<string, MetricValue>> = { source: new Map(), target: new Map() };
    const drain = async (side: Side) => {
      try {
        // Metrics the system computes itself come first; the rest are counted while streaming.
        const pushedDown = await collectors[side].metrics(entity.metrics);
        // An incremental read sees only the changes: metrics it would stream are left out.
        const streamed = incremental ? [] : entity.metrics.filter((m) => !pushedDown.has(m.name));
        const accumulator = streamed.length ? new MetricAccumulator(streamed) : null;
        const seen = readKeys[side];
        for await (const page of collectors[side].read({ mapper: mappers[side], signal: abort.signal, since: since[side] })) {
          for (const record of page.records) {
            builder.add(side, record);
            accumulator?.add(record.fields);
            if (incremental && !seen.has(record.key)) seen.set(record.key, record.hash);
          }
          for (const invalid of page.invalid) builder.addInvalid(side, invalid);
          plan.progress.recordsRead += page.records.length + page.invalid.length;
          log.debug({ side, records: page.records.length, invalid: page.invalid.length, from: page.from }, 'page read');
          await pace.after(side);
          await turn();
        }
        metricValues[side] = new Map([...pushedDown, ...(accumulator?.values() ?? [])]);
      } catch (err) {
        abort.abort();
        throw err;
      } finally {
        builder.sideDone(side);
        pace.done(side);
      }
    };
    // Both sides are read at once: the run takes as long as the slower side, not the sum.
    const results = await Promise.allSettled([drain('source'), drain('target')]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(isParityAbort(r.reason) && !signal?.aborted));
    if (failure) throw failure.reason;
    let diff = await builder.finishInTurns();
    const readThisRun = { ...diff.read };
    // Records that waited as (key, hash) only but whose fields the report or the push needs:
    // read their side again, until the last one is found.
    const waiting = strippedNeeds(diff, { changedSamples: SAMPLE_LIMIT, allChanged: plan.pushes || entity.config.conflict.startsWith('newest-wins'), allMissing: plan.pushes });
    for (const side of ['source', 'target'] as const) {
      const count = waiting[side].size;
      if (count === 0) continue;
      const again = createCollector(entity[side], context);
      try {
        for await (const page of again.read({ mapper: mapperFor(entity[side], entity, compareFields), signal: abort.signal, since: since[side] })) {
          for (const record of page.records) refill(waiting[side], record);
          if (waiting[side].size === 0) break;
          await turn();
        }
      } finally {
        await again.close();
      }
      log.info({ side, records: count }, 'read again for the fields of the records to report and push');
      // Gone between the two reads: nothing is pushed for them in this run (never an empty record).
      if (waiting[side].size > 0) log.warn({ side, records: waiting[side].size }, 'records changed or vanished while being read again; the next run takes them up');
    }
    // What a push would send, from the records this run read. A record the conflict strategy
    // gives to the target stays out. Deletes come from full runs only: an incremental run
    // does not see every target key.
    const targetWins = new Set(decideConflicts(entity.config.conflict, diff.changed, true)?.targetKeys ?? []);
    // A push never sends a record whose fields could not be read again; a dry run counts them all.
    const sendable = (r: NormalizedRecord) => !plan.pushes || !isStripped(r);
    const candidates: Candidates = {
      missing: diff.missing.filter(sendable),
      changed: diff.changed.filter((c) => !targetWins.has(c.key) && sendable(c.source)).map((c) => c.source),
      deletes: incremental ? [] : diff.extra,
      compareFields,
    };
    if (incremental) {
      // A side read since its watermark updates its keys; a side read in full replaces them.
      await store.applyToKeyIndex(entity.name, readKeys, { source: since.source === null, target: since.target === null });
      const c = await store.keyIndexCounts(entity.name);
      const keysOf = async (kind: 'missing' | 'extra') => (await store.keyIndexSample(entity.name, kind, SAMPLE_LIMIT)).map((key) => ({ key, hash: '', fields: {} }));
      diff = {
        ...diff,
        counts: { ...diff.counts, matched: c.matched, missing: c.missing, extra: c.extra, changed: c.changed },
        read: { source: c.source, target: c.target },
        missing: await keysOf('missing'),
        extra: await keysOf('extra'),
        // Field samples only for changed records this run read on both sides.
        changed: diff.changed.filter((change) => readKeys.source.has(change.key) && readKeys.target.has(change.key)),
      };
    } else if (indexRows) {
      await store.replaceKeyIndex(entity.name, indexRows);
    }
    const report = compareEntityReport(
      {
        ...sideNames(entity),
        compareFields,
        tolerances: entity.tolerances,
        thresholds: entity.config.thresholds,
        bands: loaded.config.health.bands,
        sampleLimit: SAMPLE_LIMIT,
      },
      diff,
    );
    report.metrics = compareMetrics(entity.metrics, metricValues.source, metricValues.target);
    report.join = diff.join;
    report.mode = incremental ? 'incremental' : 'full';
    const conflicts = decideConflicts(entity.config.conflict, diff.changed);
    if (conflicts) report.conflicts = conflicts;
    report.read = readThisRun;
    if (entity.keyChains.length > 1) {
      report.keyChains = entity.keyChains.map((fields, i) => ({ fields, source: mappers.source.chainCounts[i]!, target: mappers.target.chainCounts[i]! }));
    }
    log.info({ match: report.match, diff: report.diff, outcome: report.outcome, tripped: report.tripped }, 'entity compared');
    const watermarks: Partial<Record<Side, string>> = {};
    for (const side of ['source', 'target'] as const) {
      const w = collectors[side].watermark();
      if (w !== null) watermarks[side] = w;
    }
    return { report, watermarks, candidates };
  } catch (err) {
    const message = describeError(err);
    log.error({ err: message }, 'entity failed');
    return { report: failedEntityReport(sideNames(entity), 'failed', message), watermarks: {} };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all([collectors.source.close(), collectors.target.close()]).catch(() => undefined);
  }
}

/** How many records one side may hold waiting for the other before it pauses. */
const MAX_AHEAD = 20_000;

/** Past this many waiting records, the join keeps only keys and hashes. */
const COMPACT_ABOVE = 100_000;

/**
 * Keeps the two sides in step. A side whose records wait for the other (it read ahead)
 * pauses after its page until the other side has caught up, unless the other side is done
 * or pausing too: then the sides do not arrive in the same order, and both read on (the
 * diff becomes a hash join). With the same order on both sides, memory stays bounded.
 */
class Pacer {
  private readonly finished = new Set<Side>();
  private readonly waiting = new Map<Side, () => void>();

  constructor(
    private readonly builder: DiffBuilder,
    private readonly maxAhead: number,
  ) {}

  async after(side: Side): Promise<void> {
    const other: Side = side === 'source' ? 'target' : 'source';
    this.wake(other);
    while (this.builder.pendingCount(side) > this.maxAhead && !this.finished.has(other) && !this.waiting.has(other)) {
      await new Promise<void>((resolve) => this.waiting.set(side, resolve));
    }
  }

  done(side: Side): void {
    this.finished.add(side);
    this.wake(side === 'source' ? 'target' : 'source');
  }

  private wake(side: Side): void {
    const resolve = this.waiting.get(side);
    if (resolve) {
      this.waiting.delete(side);
      resolve();
    }
  }
}

function isParityAbort(err: unknown): boolean {
  return err instanceof ParityError && err.code === 'PARITY_ABORTED';
}

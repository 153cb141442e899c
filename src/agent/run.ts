// The run orchestrator: one reconciliation of the configured entities, in dependency
// order, recorded in the state store and written as report files.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describeError } from '../core/errors.js';
import type { Side } from '../reconcile/diff.js';
import { failedEntityReport, sourceDropGuard, REPORT_SCHEMA_VERSION, type EntityReport, type RunReport } from '../reconcile/report.js';
import type { LoadedConfig } from './config/load.js';
import { withDeadline } from './deadline.js';
import { COMPACT_ABOVE, MAX_AHEAD, reconcileEntity, sideNames, watermarksToReadFrom, type EntityOutcome } from './entity.js';
import { holderIsDead, PROCESS_HOLDER } from './holder.js';
import { takeEntityLease } from './leases.js';
import { helpWithSegments } from './segment-helper.js';
import type { Logger } from './logger.js';
import type { RunLogFiles } from './log-files.js';
import { newProgress, type RunProgress } from './progress.js';
import { pruneReports, writeReportFiles } from './reports.js';
import type { StateStore } from './state/store.js';
import { syncEntity, type SyncOutcome } from './sync.js';
import { selectEntities, windowOf, type Selection } from './selection.js';

export { selectEntities } from './selection.js';
import { SystemRuntimes } from './runtimes.js';
import { healthTrend, runHealth } from './run-health.js';
import { entityOutcome } from '../reconcile/outcome.js';


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
  /** Past this many waiting records (sides in different orders), waiting records are packed off the heap. */
  compactAbove?: number;
  /** The run's ID (the agent hands it out before the run starts). */
  runId?: string;
  /** Who runs it: leases on each entity are taken in this name. */
  holder?: string;
  /** How long an entity's lease lasts without renewal (renewed every third of it). */
  leaseTtlMs?: number;
  /** Updated as the run goes, for the status API and progress bars. */
  progress?: RunProgress;
  /** Aborted once the agent is shutting down (drains): no new entity, batch, chunk or verify
   *  starts; what is in flight finishes. `signal` aborts what is in flight too. */
  drain?: AbortSignal;
  /** --source and --filter: the entities whose source is that system; only the records whose fields equal the filters. */
  selection?: Selection;
  /** --window: `all` reads without the entities' windows; a length (30d) replaces theirs. */
  window?: string;
  /** Entities a person lets past the safety guards in this run (`parity run --force`), and who. */
  force?: { entities: string[]; by: string };
  /** The systems' runtimes (a daemon keeps them across runs); the run makes its own when absent. */
  runtimes?: SystemRuntimes;
  /** Log files (config `logs`): the run's lines go to its file too; old files are removed after it. */
  logFiles?: RunLogFiles | undefined;
  /** --export-diff: each entity's missing, extra and changed records go to files in this folder. */
  exportDiff?: string | undefined;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface RunResult {
  report: RunReport;
  /** cancelled: the run's signal was aborted (a shutdown past its deadline) before it ended. */
  status: 'completed' | 'failed' | 'cancelled';
  files: string[];
}

export async function runOnce(loaded: LoadedConfig, store: StateStore, options: RunOptions): Promise<RunResult> {
  const entities = selectEntities(loaded, options.entities, options.selection?.source);
  const filters = options.selection?.filters;
  const runId = options.runId ?? randomUUID();
  const log = options.logger.child({ runId });
  const holder = options.holder ?? PROCESS_HOLDER;
  const ttl = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const progress = options.progress ?? newProgress(runId, options.trigger ?? 'cli', options.full ? 'full' : 'incremental', entities.length);
  progress.runId = runId;
  const started = new Date();
  const logFile = options.logFiles?.open(runId, started) ?? null;
  const requested: RunReport['mode'] = options.full ? 'full' : 'incremental';
  const dryRun = options.dryRun ?? false;
  // A run left `running` by a process that was killed is recorded as what it is.
  const abandoned = await store.markAbandoned(holder, holderIsDead, ttl);
  if (abandoned.length) log.warn({ runs: abandoned }, 'runs whose process died were marked abandoned');
  const lastRunAt = await store.lastCompletedRunStart();
  await store.startRun({ id: runId, mode: requested, trigger: options.trigger ?? 'cli', dryRun, startedAt: started, holder, logFile });
  // The mode each entity will really read in: incremental only where a side has a watermark and a key index.
  const modes = await Promise.all(entities.map(async (e) => Object.values(await watermarksToReadFrom(e, store, requested === 'full')).some((w) => w !== null)));
  log.info({ mode: modes.every(Boolean) && modes.length ? 'incremental' : modes.some(Boolean) ? 'incremental where a watermark allows, else full' : 'full', dryRun, entities: entities.map((e) => e.name) }, 'run started');

  const runtimes = options.runtimes ?? (await SystemRuntimes.create(loaded.config.systems));
  try {
    const reports: EntityReport[] = [];
    const watermarks: { entity: string; side: Side; value: string }[] = [];
    const byName = new Map<string, EntityReport>();
    /** Entities another agent was running: left out of this run's health. */
    const busy = new Set<string>();
    for (const entity of entities) {
      progress.entity = entity.name;
      progress.phase = 'read';
      progress.recordsRead = 0;
      const blocked = entity.config.dependsOn.map((d) => byName.get(d)).find((r) => r && (r.outcome === 'failed' || r.outcome === 'skipped'));
      let why: string | null = blocked ? `prerequisite ${blocked.name} ${blocked.outcome}` : options.drain?.aborted || options.signal?.aborted ? 'the agent is shutting down' : null;
      let lease = why ? null : await takeEntityLease(store, entity.name, holder, ttl, log);
      // An entity waiting on one another agent is running is that agent's business too.
      if (blocked && busy.has(blocked.name)) busy.add(entity.name);
      if (lease && 'busy' in lease) {
        // On a shared store, a bisected entity's parts are work this agent can take.
        const help = store.shared ? await helpWithSegments(loaded, entity, { store, holder, ttlMs: ttl }, runtimes, lastRunAt, log.child({ entity: entity.name }), options.signal) : null;
        if (help && 'lease' in help) lease = help.lease;
        else {
          why = `${lease.busy}${help ? `; this agent bisected ${help.did} of its ${help.of} segments` : ''}`;
          busy.add(entity.name);
          log.warn({ entity: entity.name, reason: why }, 'entity skipped');
        }
      }
      // The entity's run starts once its lease is held: another agent's run of it, recorded as
      // finished just before releasing the lease, never seems to overlap this one.
      const t0 = performance.now();
      const entityStarted = new Date();
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
              lease && 'lost' in lease ? (options.signal ? AbortSignal.any([options.signal, lease.lost]) : lease.lost) : options.signal,
              async (signal) => {
                compared = await reconcileEntity(
                  loaded,
                  entity,
                  { store, share: { holder, ttlMs: ttl }, runtimes, full: options.full ?? false, maxAhead: options.maxAhead ?? MAX_AHEAD, compactAbove: options.compactAbove ?? COMPACT_ABOVE, lastRunAt, progress, pushes: Boolean(entity.target.writer) && !dryRun, filters, window: windowOf(entity, options, started), exportDiff: options.exportDiff },
                  entityLog,
                  signal,
                );
                const report = compared.report;
                let synced: SyncOutcome = { blocked: null, push: null };
                const forced = options.force?.entities.includes(entity.name) ?? false;
                if (forced && report.outcome !== 'failed') {
                  report.forced = { by: options.force!.by, at: new Date().toISOString() };
                  log.warn({ entity: entity.name, by: report.forced.by }, 'forced past the safety guards');
                }
                // A filtered run sees part of the source: its count says nothing about a drop.
                if (!forced && !filters && !report.window && report.outcome !== 'failed' && report.outcome !== 'skipped' && report.outcome !== 'in-sync') {
                  synced.blocked = sourceDropGuard(report.source.count, await store.lastSourceCount(entity.name), entity.config.safety?.maxSourceDrop ?? 0.5);
                  if (synced.blocked) log.warn({ entity: entity.name, reason: synced.blocked }, 'entity blocked');
                }
                if (!synced.blocked && entity.target.writer && compared.candidates && report.outcome !== 'failed' && report.outcome !== 'skipped') {
                  synced = await syncEntity(entity, report, compared.candidates, { store, runtimes, runId, dryRun, baseDir: loaded.baseDir, log: entityLog, signal, progress, drain: options.drain, forced });
                }
                report.outcome = entityOutcome({ compared: report.outcome, ...synced });
                if (synced.records?.length) compared.records = [...(compared.records ?? []), ...synced.records];
                if (synced.blocked) report.blocked = synced.blocked;
                entityLog.info({ outcome: report.outcome, sync: report.sync }, 'entity done');
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
        if (outcome.records?.length) await store.addRunRecords(runId, outcome.records);
      } finally {
        if (lease && 'release' in lease) await lease.release();
      }
      progress.entitiesDone++;
    }
    progress.entity = null;
    progress.phase = 'report';

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
      health: runHealth(entities, reports, busy, loaded.config.health.bands, dryRun),
      entities: reports,
      ...(options.selection && (options.selection.source || options.selection.filters) ? { selection: options.selection } : {}),
    };
    const failed = reports.filter((r) => r.outcome === 'failed').map((r) => r.name);
    // A run the agent stopped (a shutdown: no new entity or batch started, or work aborted) did not do all it set out to.
    const status: RunResult['status'] = options.signal?.aborted || options.drain?.aborted ? 'cancelled' : failed.length ? 'failed' : 'completed';

    const reportsDir = path.resolve(loaded.dataDir, loaded.config.reports.dir);
    const history = loaded.config.reports.formats.includes('html') ? await store.listRuns(30) : [];
    const page = { config: path.basename(loaded.file), bands: loaded.config.health.bands, trend: healthTrend(history, report, loaded.entities.length), logFile, history: await store.runRecordCounts(runId) };
    const files = writeReportFiles(report, reportsDir, loaded.config.reports.formats, page);
    const pruned = pruneReports(reportsDir, loaded.config.reports.retentionDays);
    if (pruned.length) log.info({ removed: pruned.length }, 'old reports removed');
    // The per-record history goes with the reports.
    if (loaded.config.reports.retentionDays > 0) await store.pruneRunRecords(new Date(started.getTime() - loaded.config.reports.retentionDays * 86_400_000));

    // Watermarks move only after a run that wrote its results, and never in a dry run: the
    // next real run must still see every change.
    if (!dryRun) await store.saveWatermarks(runId, watermarks);
    await store.finishRun(runId, status, report, failed.length ? `failed: ${failed.join(', ')}` : null);
    log.info({ status, health: report.health, durationMs: report.durationMs }, 'run finished');
    return { report, status, files };
  } catch (err) {
    await store.finishRun(runId, options.signal?.aborted || options.drain?.aborted ? 'cancelled' : 'failed', null, describeError(err)).catch(() => undefined);
    throw err;
  } finally {
    if (!options.runtimes) runtimes.close();
    if (options.logFiles) {
      options.logFiles.close();
      const removed = options.logFiles.prune();
      if (removed.length) options.logger.info({ removed: removed.length }, 'old log files removed');
    }
  }
}

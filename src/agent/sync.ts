// Syncs an entity's difference into its target when a threshold tripped, through the
// target system's pusher; a dry run only counts what would be done. Afterwards the pushed
// keys are read back from the target and compared again (the closed loop).
import { describeError } from '../core/errors.js';
import type { NormalizedRecord } from '../core/record.js';
import { eventLoopTurns } from '../core/yield.js';
import type { EntityReport } from '../reconcile/report.js';
import { verifyDelivery } from '../reconcile/verify.js';
import type { PushResult } from '../push/types.js';
import type { AttachmentPlan } from '../attachments/copy.js';
import { createCollector, systemType } from '../systems/registry.js';
import type { ResolvedEntity } from './config/load.js';
import type { Logger } from './logger.js';
import { mapperFor } from './mappers.js';
import type { RunProgress } from './progress.js';
import type { SystemRuntimes } from './runtimes.js';
import type { RunRecord } from './state/run-records.js';
import type { StateStore } from './state/store.js';

export const SYNC_SAMPLE_LIMIT = 20;
/** safety.maxDeleteRatio when the config sets none: a run never deletes more than a fifth of the target unasked. */
export const DEFAULT_MAX_DELETE_RATIO = 0.2;

/** What a sync would send, from the records a run read. */
export interface Candidates {
  /** Source records the target lacks. */
  missing: NormalizedRecord[];
  /** Source records the target holds in another version (and the source wins). */
  changed: NormalizedRecord[];
  /** Target records the source lacks (full runs only). */
  deletes: NormalizedRecord[];
  compareFields: string[];
  /** The files the target lacks or holds in another version, to copy once their records are pushed. */
  attachments?: AttachmentPlan;
}

export interface SyncContext {
  store: StateStore;
  runtimes: SystemRuntimes;
  progress?: RunProgress | undefined;
  /** Aborted once the agent drains: no new batch or chunk starts, and the verify read stops. */
  drain?: AbortSignal | undefined;
  runId: string;
  dryRun: boolean;
  baseDir: string;
  log: Logger;
  signal?: AbortSignal | undefined;
  /** A person let this entity past the safety guards (parity run --force). */
  forced?: boolean | undefined;
}

/** What the sync step did, for the entity's outcome (reconcile/outcome.ts). */
export interface SyncOutcome {
  blocked: string | null;
  push: { tripped: boolean; sent: number; deferred: string | null } | null;
  /** For the run's history: records the target refused, or that still differ after the push. */
  records?: RunRecord[];
}

export async function syncEntity(entity: ResolvedEntity, report: EntityReport, candidates: Candidates, o: SyncContext): Promise<SyncOutcome> {
  const target = entity.target.writer!;
  const tripped = report.tripped.length > 0 && report.outcome === 'report-only' && entity.config.conflict !== 'report-only';
  const deletes = tripped && target.write.delete !== 'none' ? candidates.deletes : [];
  const missing = tripped ? candidates.missing : [];
  const changed = tripped ? candidates.changed : [];

  const ratio = o.forced ? 1 : entity.config.safety?.maxDeleteRatio ?? DEFAULT_MAX_DELETE_RATIO;
  if (deletes.length > 0 && deletes.length / Math.max(1, report.target.count) > ratio) {
    const blocked = `the run would delete ${deletes.length} of ${report.target.count} target records (${Math.round((1000 * deletes.length) / Math.max(1, report.target.count)) / 10}%), more than safety.maxDeleteRatio ${Math.round(ratio * 1000) / 10}%: nothing is synced for this entity (raise maxDeleteRatio, or let this run through with --force)`;
    o.log.warn({ reason: blocked }, 'entity blocked');
    return { blocked, push: null };
  }
  if (o.dryRun) {
    // What it would do: missing records are created, changed ones updated, extra ones deleted.
    report.sync = { ...report.sync, created: missing.length, updated: changed.length, deleted: deletes.length };
    return { blocked: null, push: null };
  }
  if (o.progress) o.progress.phase = 'sync';
  const runtime = o.runtimes.get(entity.target.systemName);
  const pusher = systemType(entity.target.system).writer!.create(target, { baseDir: o.baseDir, outbox: o.store, runId: o.runId, runtime });
  let result: PushResult;
  try {
    result = await pusher.push(
      { upserts: [...missing.map((record) => ({ record, exists: false })), ...changed.map((record) => ({ record, exists: true }))], deletes, compareFields: candidates.compareFields },
      {
        log: o.log,
        signal: o.signal,
        draining: () => o.drain?.aborted === true,
        onBatch: () => {
          if (o.progress) o.progress.batchesSent++;
        },
      },
    );
  } finally {
    await pusher.close();
  }
  report.sync = { created: result.created, updated: result.updated, deleted: result.deleted, unchanged: result.unchanged, rejected: result.rejected, pending: result.pending };
  if (result.rejections.length) report.rejections = result.rejections.slice(0, SYNC_SAMPLE_LIMIT);
  if (result.quarantined.length) report.quarantined = result.quarantined;
  const sent = result.created + result.updated + result.deleted + result.unchanged + result.rejected;
  const records: RunRecord[] = [
    ...result.rejections.map((r) => ({ entity: entity.name, side: 'target' as const, key: r.localId, status: 'rejected' as const, reason: r.error })),
    ...result.quarantinedRecords.map((r) => ({ entity: entity.name, side: 'target' as const, key: r.localId, status: 'quarantined' as const, reason: r.error })),
  ];
  const files = candidates.attachments;
  if (files && files.copies.length > 0 && !o.signal?.aborted) {
    const delivered = new Set([...result.delivered].filter(([, hash]) => hash !== null).map(([key]) => key));
    const sink = systemType(entity.target.system).writer!.uploader!(target, { baseDir: o.baseDir, outbox: o.store, runId: o.runId, runtime });
    try {
      const remoteIds = await o.store.remoteIds(entity.name, [...new Set(files.copies.map((c) => c.key))].filter((k) => delivered.has(k)));
      await (await import('../attachments/copy.js')).copyAttachments(files, sink, delivered, remoteIds, o.signal);
    } finally {
      await sink.close();
    }
    report.attachments = { ...files.report, ...files.resolver.fetcher.stats };
    o.log.info({ copied: files.report.fields.reduce((n, f) => n + f.copied, 0), notCopied: files.report.fields.reduce((n, f) => n + f.notCopied, 0) }, 'attachments copied');
  }
  if (target.write.verify && result.delivered.size > 0 && !o.signal?.aborted && !o.drain?.aborted) {
    if (o.progress) o.progress.phase = 'verify';
    const stillDiffer = await verify(entity, report, candidates, result.delivered, o);
    for (const key of stillDiffer) {
      const gone = result.delivered.get(key) === null;
      records.push({ entity: entity.name, side: 'target', key, status: 'differing', reason: gone ? 'deleted by the push, but the target still shows it' : 'pushed, but the target shows another version when read back' });
    }
  }
  return { blocked: null, push: { tripped, sent, deferred: result.deferred }, records };
}

/** Returns the keys that still differ after the push. */
async function verify(entity: ResolvedEntity, report: EntityReport, candidates: Candidates, delivered: Map<string, string | null>, o: SyncContext): Promise<string[]> {
  const runtime = o.runtimes.get(entity.target.systemName);
  const collector = createCollector(entity.target, { keyChains: entity.keyChains, baseDir: o.baseDir, lastRunAt: null, runtime });
  const sent = new Map([...candidates.missing, ...candidates.changed].map((r) => [r.key, r]));
  try {
    // Verifying is optional: a drain stops it, the next run compares the entity anyway.
    const signal = AbortSignal.any([o.signal, o.drain].filter((s): s is AbortSignal => s !== undefined));
    const read = collector.read({ mapper: mapperFor(entity.target, entity, candidates.compareFields), signal });
    // Files are hashed anew: the ones just copied changed since the run read them.
    const pages = candidates.attachments ? candidates.attachments.resolver.fresh().pages('target', read, false, signal) : read;
    const result = await verifyDelivery(pages, { delivered, sent, compareFields: candidates.compareFields, tolerances: entity.tolerances }, eventLoopTurns());
    report.sync.verified = result.verified;
    if (result.stillDiffer.length) {
      report.sync.stillDiffer = result.stillDiffer.slice(0, SYNC_SAMPLE_LIMIT);
      o.log.warn({ verified: result.verified, stillDiffer: result.stillDiffer.length }, 'after the push the target still differs');
    } else {
      o.log.info({ verified: result.verified }, 'push verified');
    }
    return result.stillDiffer;
  } catch (err) {
    o.log.warn({ err: describeError(err) }, 'could not read the target back to verify the push');
    return [];
  } finally {
    await collector.close().catch(() => undefined);
  }
}

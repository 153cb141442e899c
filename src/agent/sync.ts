// Syncs an entity's difference into its target when a threshold tripped: through the
// outbox for an HTTP target (pending batches first), by bulk upserts for a SQL target. A dry
// run only reports what would be done. Afterwards the pushed keys are read back from the
// target and compared again (closed loop).
import { createCollector } from '../collectors/index.js';
import { decodeKeyParts } from '../core/canonical.js';
import { describeError } from '../core/errors.js';
import type { NormalizedRecord } from '../core/record.js';
import { openSequelize, parseDatabaseUrl } from '../core/sql.js';
import { changedFields } from '../reconcile/diff.js';
import type { EntityReport } from '../reconcile/report.js';
import { targetData } from '../push/batches.js';
import { HttpPushClient } from '../push/http/client.js';
import { pushEntity } from '../push/http/push.js';
import { DEFAULT_HTTP_BATCH, DEFAULT_SQL_BATCH } from '../push/schema.js';
import { SqlLoader, type SqlDelete, type SqlLoadRow } from '../push/sql/loader.js';
import type { PushRecord } from '../push/types.js';
import type { ResolvedEntity } from './config/load.js';
import type { Logger } from './logger.js';
import { mapperFor } from './mappers.js';
import type { StateStore } from './state/store.js';
import type { RunProgress } from './progress.js';

export const SYNC_SAMPLE_LIMIT = 20;

/** What a sync would send, from the records a run read. */
export interface Candidates {
  /** Source records the target lacks. */
  missing: NormalizedRecord[];
  /** Source records the target holds in another version (and the source wins). */
  changed: NormalizedRecord[];
  /** Target records the source lacks (full runs only). */
  deletes: NormalizedRecord[];
  compareFields: string[];
}

export interface SyncContext {
  store: StateStore;
  progress?: RunProgress | undefined;
  shouldStop?: (() => boolean) | undefined;
  runId: string;
  dryRun: boolean;
  baseDir: string;
  log: Logger;
  signal?: AbortSignal | undefined;
}

/** What was delivered: each key with the hash the target should now show (null: deleted). */
type Delivered = Map<string, { hash: string | null; record?: NormalizedRecord }>;

export async function syncEntity(entity: ResolvedEntity, report: EntityReport, candidates: Candidates, o: SyncContext): Promise<void> {
  const write = entity.target.config.write!;
  if (report.outcome === 'blocked' || report.outcome === 'failed' || report.outcome === 'skipped') return;
  const tripped = report.tripped.length > 0 && report.outcome === 'report-only' && entity.config.conflict !== 'report-only';
  const deletes = tripped && write.delete !== 'none' ? candidates.deletes : [];
  const missing = tripped ? candidates.missing : [];
  const changed = tripped ? candidates.changed : [];

  const ratio = entity.config.safety?.maxDeleteRatio;
  if (ratio !== undefined && deletes.length > 0 && deletes.length / Math.max(1, report.target.count) > ratio) {
    report.outcome = 'blocked';
    report.blocked = `the run would delete ${deletes.length} of ${report.target.count} target records (${Math.round((1000 * deletes.length) / Math.max(1, report.target.count)) / 10}%), more than safety.maxDeleteRatio ${Math.round(ratio * 1000) / 10}%: nothing is synced for this entity`;
    o.log.warn({ reason: report.blocked }, 'entity blocked');
    return;
  }
  if (o.dryRun) {
    // What it would do: missing records are created, changed ones updated, extra ones deleted.
    report.sync = { ...report.sync, created: missing.length, updated: changed.length, deleted: deletes.length };
    return;
  }
  const delivered: Delivered = new Map();
  let sent = 0;
  if (o.progress) o.progress.phase = 'sync';
  const work: Candidates = { missing, changed, deletes, compareFields: candidates.compareFields };
  if (entity.target.system.type === 'http') sent = await pushHttp(entity, report, work, delivered, o);
  else if (entity.target.system.type === 'sql') sent = await loadSql(entity, report, work, delivered, o);
  if (report.outcome !== 'deferred' && (tripped || sent > 0)) report.outcome = 'synced';
  if (o.progress && write.verify && delivered.size > 0) o.progress.phase = 'verify';
  if (write.verify && delivered.size > 0) await verify(entity, report, candidates.compareFields, delivered, o);
}

async function pushHttp(entity: ResolvedEntity, report: EntityReport, work: Candidates, delivered: Delivered, o: SyncContext): Promise<number> {
  const write = entity.target.config.write!;
  const system = entity.target.system;
  if (system.type !== 'http') return 0;
  const bySource = new Map<string, NormalizedRecord>();
  const records: PushRecord[] = [];
  for (const r of [...work.missing, ...work.changed]) {
    bySource.set(r.key, r);
    records.push({ localId: r.key, op: 'upsert', hash: r.hash, data: targetData(r.fields, entity.target.mappings) });
  }
  for (const r of work.deletes) records.push({ localId: r.key, op: 'delete' });
  const client = new HttpPushClient(system, entity.target.systemName, write.path!, entity.target.hooks);
  const summary = await pushEntity({
    entity: entity.name,
    system: entity.target.systemName,
    records,
    batchSize: write.batchSize ?? DEFAULT_HTTP_BATCH,
    concurrency: system.concurrency ?? 4,
    outbox: o.store,
    client,
    runId: o.runId,
    log: o.log,
    signal: o.signal,
    onBatch: () => {
      if (o.progress) o.progress.batchesSent++;
    },
    shouldStop: o.shouldStop,
    onDelivered: (outcome) => {
      if (outcome.status === 'rejected') return;
      delivered.set(outcome.localId, { hash: outcome.status === 'deleted' ? null : outcome.hash, record: bySource.get(outcome.localId) });
    },
  });
  report.sync = { created: summary.created, updated: summary.updated, deleted: summary.deleted, unchanged: summary.unchanged, rejected: summary.rejected, pending: summary.pending };
  if (summary.rejections.length) report.rejections = summary.rejections.slice(0, SYNC_SAMPLE_LIMIT);
  if (summary.quarantined.length) report.quarantined = summary.quarantined;
  if (summary.deferred || summary.pending > 0) report.outcome = 'deferred';
  return summary.created + summary.updated + summary.deleted + summary.unchanged + summary.rejected;
}

async function loadSql(entity: ResolvedEntity, report: EntityReport, work: Candidates, delivered: Delivered, o: SyncContext): Promise<number> {
  const write = entity.target.config.write!;
  const system = entity.target.system;
  if (system.type !== 'sql') return 0;
  const columnOf = (field: string) => entity.target.mappings?.find((m) => m.name === field)?.from ?? field;
  const keyFields = entity.keyChains[0]!;
  const fields = [...new Set([...keyFields, ...work.compareFields])];
  const rowOf = (r: NormalizedRecord, exists: boolean): SqlLoadRow => ({
    localId: r.key,
    values: Object.fromEntries(fields.map((f) => [columnOf(f), r.fields[f] ?? null])),
    exists,
  });
  const keyOf = (r: NormalizedRecord): SqlDelete => {
    const parts = keyFields.every((f) => r.fields[f] !== undefined) ? keyFields.map((f) => r.fields[f]) : decodeKeyParts(r.key, keyFields.length);
    return { localId: r.key, key: Object.fromEntries(keyFields.map((f, i) => [columnOf(f), parts[i]])) };
  };
  const sequelize = await openSequelize(parseDatabaseUrl(system.url, o.baseDir));
  try {
    const loader = new SqlLoader({
      sequelize,
      table: write.table ?? entity.target.config.table!,
      keyColumns: keyFields.map(columnOf),
      columns: fields.map(columnOf),
      chunkSize: write.batchSize ?? DEFAULT_SQL_BATCH,
      delete: write.delete,
      softDeleteColumn: write.softDeleteColumn,
      softDeleteValue: write.softDeleteValue,
      where: `entities.${entity.name}.target.write`,
    });
    const summary = await loader.load([...work.missing.map((r) => rowOf(r, false)), ...work.changed.map((r) => rowOf(r, true))], work.deletes.map(keyOf));
    report.sync = { created: summary.created, updated: summary.updated, deleted: summary.deleted, unchanged: 0, rejected: summary.rejected, pending: summary.pending };
    if (summary.rejections.length) report.rejections = summary.rejections.slice(0, SYNC_SAMPLE_LIMIT);
    if (summary.interrupted) {
      // Not the rows' fault: they are written by a later run, which finds them still missing or changed.
      report.outcome = 'deferred';
      o.log.warn({ pending: summary.pending, err: summary.interrupted }, 'the connection to the target was lost: the rest waits for the next run');
    }
    const refused = new Set([...summary.rejections.map((r) => r.localId), ...summary.pendingIds]);
    for (const r of [...work.missing, ...work.changed]) if (!refused.has(r.key)) delivered.set(r.key, { hash: r.hash, record: r });
    if (write.delete !== 'none') for (const r of work.deletes) if (!refused.has(r.key)) delivered.set(r.key, { hash: null });
    o.log.info({ created: summary.created, updated: summary.updated, deleted: summary.deleted, rejected: summary.rejected, statements: summary.statements }, 'rows written');
    return summary.created + summary.updated + summary.deleted + summary.rejected;
  } finally {
    await sequelize.close();
  }
}

/**
 * The closed loop: reads the target again and checks each delivered key. An upserted record
 * must show the pushed content (within the entity's tolerances); a deleted one must be gone
 * from what the target lists.
 */
async function verify(entity: ResolvedEntity, report: EntityReport, compareFields: string[], delivered: Delivered, o: SyncContext): Promise<void> {
  const collector = createCollector(entity.target, { keyChains: entity.keyChains, baseDir: o.baseDir, lastRunAt: null });
  const differ: string[] = [];
  let verified = 0;
  const seen = new Set<string>();
  try {
    for await (const page of collector.read({ mapper: mapperFor(entity.target, entity, compareFields), signal: o.signal })) {
      for (const record of page.records) {
        const expected = delivered.get(record.key);
        if (!expected || seen.has(record.key)) continue;
        seen.add(record.key);
        const same =
          expected.hash !== null &&
          (record.hash === expected.hash ||
            (expected.record !== undefined && Object.keys(changedFields({ key: record.key, source: expected.record, target: record }, compareFields, entity.tolerances).fields).length === 0));
        if (same) verified++;
        else differ.push(record.key);
      }
    }
  } catch (err) {
    o.log.warn({ err: describeError(err) }, 'could not read the target back to verify the push');
    return;
  } finally {
    await collector.close().catch(() => undefined);
  }
  for (const [key, expected] of delivered) {
    if (seen.has(key)) continue;
    if (expected.hash === null) verified++;
    else differ.push(key);
  }
  report.sync.verified = verified;
  if (differ.length) {
    report.sync.stillDiffer = differ.sort().slice(0, SYNC_SAMPLE_LIMIT);
    o.log.warn({ verified, stillDiffer: differ.length }, 'after the push the target still differs');
  } else {
    o.log.info({ verified }, 'push verified');
  }
}

// The state store: run history, watermarks, the key index, the outbox and sync ledger, and
// leases, in one database. Sequelize on SQLite by default (WAL, busy timeout), PostgreSQL or
// MySQL by URL. Each job lives in a module of its own; this class opens the store and hands
// each call to its module.
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { QueryTypes, type Sequelize } from 'sequelize';
import { describeError, ParityError } from '../../core/errors.js';
import { openSequelize, parseDatabaseUrl, type SqlTarget } from '../../core/sql.js';
import type { Outbox, OutboxBatch, RecordOutcome } from '../../push/types.js';
import type { EntityReport, RunReport } from '../../reconcile/report.js';
import { labelErrors, refuseForeignFile, refuseForeignTables } from './integrity.js';
import * as attachmentCache from './attachment-cache.js';
import type { AttachmentCache, CachedAttachment } from '../../attachments/fetch.js';
import * as keyIndex from './key-index.js';
import * as leases from './lease-table.js';
import { migrations } from './migrations.js';
import { defineModels, type StoreModels } from './models.js';
import * as outbox from './outbox.js';
import * as runRecords from './run-records.js';
import * as runs from './runs.js';
import * as segmentTable from './segment-table.js';
import * as watermarks from './watermarks.js';

export type { IndexRow } from './key-index.js';
export type { EntityRunRow, RunRow, RunStatus } from './runs.js';

export const DEFAULT_STATE_URL = 'sqlite:.parity/state.db';

type Side = 'source' | 'target';

export class StateStore implements Outbox, AttachmentCache {
  private constructor(
    private readonly m: StoreModels,
    readonly display: string,
  ) {}

  static async open(url: string, baseDir: string): Promise<StateStore> {
    let target: SqlTarget;
    let sequelize: Sequelize | undefined;
    try {
      target = parseDatabaseUrl(url, baseDir);
      const file = target.dialect === 'sqlite' && target.storage !== ':memory:' ? target.storage! : null;
      if (file && !existsSync(file)) await createSqliteStore(target, file);
      const existing = file;
      if (existing) refuseForeignFile(existing, target.display);
      sequelize = await openSequelize(target, { owned: true });
      await sequelize.authenticate();
      if (existing) await refuseForeignTables(sequelize, existing, target.display);
      if (target.dialect === 'sqlite') await sequelize.query('PRAGMA journal_mode = WAL');
      await migrate(target, sequelize);
    } catch (err) {
      await sequelize?.close().catch(() => undefined);
      if (err instanceof ParityError && err.code === 'PARITY_STATE_INVALID') throw err;
      throw new ParityError('PARITY_STATE_ERROR', `state store ${describeUrl(url)}: ${describeError(err)}`, { cause: err });
    }
    return labelErrors(new StateStore(defineModels(sequelize), target.display), target.display);
  }

  // ---- Leases (lease-table.ts) ----
  acquireLease(name: string, holder: string, ttlMs: number) {
    return leases.acquireLease(this.m, name, holder, ttlMs);
  }
  takeLeaseFrom(name: string, dead: string, holder: string, ttlMs: number) {
    return leases.takeLeaseFrom(this.m, name, dead, holder, ttlMs);
  }
  renewLease(name: string, holder: string, ttlMs: number) {
    return leases.renewLease(this.m, name, holder, ttlMs);
  }
  releaseLease(name: string, holder: string) {
    return leases.releaseLease(this.m, name, holder);
  }
  leaseHolder(name: string) {
    return leases.leaseHolder(this.m, name);
  }

  // ---- Shared bisection segments (segment-table.ts) ----
  /** Whether agents on other machines can share this store (PostgreSQL or MySQL). */
  get shared(): boolean {
    return this.m.sequelize.getDialect() !== 'sqlite';
  }
  openSegmentJob(entity: string, fingerprint: string, freshMs: number) {
    return segmentTable.openJob(this.m, entity, fingerprint, freshMs);
  }
  createSegmentJob(entity: string, fingerprint: string, leader: string, ranges: readonly string[]) {
    return segmentTable.createJob(this.m, entity, fingerprint, leader, ranges);
  }
  segmentHeartbeat(job: string, leader: string) {
    return segmentTable.heartbeat(this.m, job, leader);
  }
  claimSegment(job: string, holder: string, ttlMs: number, isDead: (holder: string) => boolean) {
    return segmentTable.claim(this.m, job, holder, ttlMs, isDead);
  }
  renewSegment(job: string, idx: number, holder: string, ttlMs: number) {
    return segmentTable.renew(this.m, job, idx, holder, ttlMs);
  }
  completeSegment(job: string, idx: number, holder: string, result: string) {
    return segmentTable.complete(this.m, job, idx, holder, result);
  }
  segmentCounts(job: string) {
    return segmentTable.counts(this.m, job);
  }
  segmentResults(job: string) {
    return segmentTable.results(this.m, job);
  }
  segmentJobStatus(job: string) {
    return segmentTable.status(this.m, job);
  }
  finishSegmentJob(job: string) {
    return segmentTable.finish(this.m, job);
  }

  // ---- Run history (runs.ts) ----
  markAbandoned(self: string, holderIsDead: (holder: string) => boolean, ttlMs: number) {
    return runs.markAbandoned(this.m, self, holderIsDead, ttlMs);
  }
  startRun(run: { id: string; mode: string; trigger: string; dryRun: boolean; startedAt: Date; holder?: string; logFile?: string | null }) {
    return runs.startRun(this.m, run);
  }
  addRunRecords(runId: string, records: readonly runRecords.RunRecord[]) {
    return runRecords.addRunRecords(this.m, runId, records);
  }
  runRecords(runId: string, query: runRecords.RunRecordQuery = {}) {
    return runRecords.listRunRecords(this.m, runId, query);
  }
  runRecordCounts(runId: string) {
    return runRecords.runRecordCounts(this.m, runId);
  }
  pruneRunRecords(before: Date) {
    return runRecords.pruneRunRecords(this.m, before);
  }
  // ---- Attachment cache (attachment-cache.ts) ----
  cachedAttachments(urlHashes: readonly string[]) {
    return attachmentCache.cachedAttachments(this.m, urlHashes);
  }
  cacheAttachments(rows: readonly CachedAttachment[]) {
    return attachmentCache.cacheAttachments(this.m, rows);
  }
  recordEntity(runId: string, entity: EntityReport, durationMs: number, startedAt?: Date) {
    return runs.recordEntity(this.m, runId, entity, durationMs, startedAt);
  }
  finishRun(runId: string, status: runs.RunStatus, report: RunReport | null, error: string | null) {
    return runs.finishRun(this.m, runId, status, report, error);
  }
  lastSourceCount(entity: string) {
    return runs.lastSourceCount(this.m, entity);
  }
  lastCompletedRunStart() {
    return runs.lastCompletedRunStart(this.m);
  }
  listRuns(limit = 20) {
    return runs.listRuns(this.m, limit);
  }
  resolveRunId(prefix: string) {
    return runs.resolveRunId(this.m, prefix);
  }
  getRun(id: string) {
    return runs.getRun(this.m, id);
  }

  // ---- Watermarks (watermarks.ts) ----
  getWatermark(entity: string, side: Side) {
    return watermarks.getWatermark(this.m, entity, side);
  }
  saveWatermarks(runId: string, entries: { entity: string; side: Side; value: string }[]) {
    return watermarks.saveWatermarks(this.m, runId, entries);
  }

  // ---- The key index (key-index.ts) ----
  hasKeyIndex(entity: string) {
    return keyIndex.hasKeyIndex(this.m, entity);
  }
  replaceKeyIndex(entity: string, rows: readonly keyIndex.IndexRow[]) {
    return keyIndex.replaceKeyIndex(this.m, entity, rows);
  }
  applyToKeyIndex(entity: string, read: Record<Side, ReadonlyMap<string, string>>, complete: Record<Side, boolean>) {
    return keyIndex.applyToKeyIndex(this.m, entity, read, complete);
  }
  keyIndexCounts(entity: string) {
    return keyIndex.keyIndexCounts(this.m, entity);
  }
  keyIndexSample(entity: string, kind: 'missing' | 'extra' | 'changed', limit: number) {
    return keyIndex.keyIndexSample(this.m, entity, kind, limit);
  }

  // ---- The outbox and the sync ledger (outbox.ts): the push stage's Outbox ----
  pending(entity: string) {
    return outbox.pending(this.m, entity);
  }
  pendingCount() {
    return outbox.pendingCount(this.m);
  }
  add(batch: OutboxBatch) {
    return outbox.addAll(this.m, [batch]);
  }
  addAll(batches: readonly OutboxBatch[]) {
    return outbox.addAll(this.m, batches);
  }
  complete(batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string) {
    return outbox.complete(this.m, batch, outcomes, runId);
  }
  retryLater(batch: OutboxBatch, error: string, notBefore: Date | null) {
    return outbox.retryLater(this.m, batch, error, notBefore);
  }
  quarantine(batch: OutboxBatch, reason: string) {
    return outbox.quarantine(this.m, batch, reason);
  }
  remoteIds(entity: string, localIds: readonly string[]) {
    return outbox.remoteIds(this.m, entity, localIds);
  }
  rejected(entity: string) {
    return outbox.rejected(this.m, entity);
  }

  async close(): Promise<void> {
    await this.m.sequelize.close();
  }
}

/**
 * A new SQLite store is made whole under another name and then linked into place, so that no
 * process ever sees it empty: one that did would take it for an emptied store and refuse it.
 * When two processes create it at once, the first link wins and the other uses that file.
 */
async function createSqliteStore(target: SqlTarget, file: string): Promise<void> {
  const scratch = `${file}.new-${process.pid}-${randomUUID().slice(0, 8)}`;
  const db = await openSequelize({ ...target, storage: scratch }, { owned: true });
  try {
    await migrate(target, db);
  } finally {
    await db.close();
  }
  try {
    linkSync(scratch, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    // A filesystem without hard links: a rename, unless another process has made it meanwhile.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (!existsSync(file)) renameSync(scratch, file);
  } finally {
    rmSync(scratch, { force: true });
  }
}

/**
 * Applies pending migrations. On a shared PostgreSQL or MySQL store several agents may start
 * at once: the migrations run on one connection that holds a database lock meanwhile, so one
 * agent migrates and the others find the work done.
 */
async function migrate(target: SqlTarget, sequelize: Sequelize): Promise<void> {
  // Most opens find every migration applied: then umzug (a fifth of a second to load) is not needed.
  if (await upToDate(sequelize)) return;
  const { SequelizeStorage, Umzug } = await import('umzug');
  const run = (db: Sequelize) =>
    new Umzug({ migrations, context: db.getQueryInterface(), storage: new SequelizeStorage({ sequelize: db, tableName: 'parity_migrations' }), logger: undefined }).up();
  if (target.dialect === 'sqlite') {
    await run(sequelize);
    return;
  }
  const single = await openSequelize(target, { poolMax: 1 });
  try {
    if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_lock(hashtext('parity_migrations'))");
    else await single.query("SELECT GET_LOCK('parity_migrations', 60)");
    await run(single);
  } finally {
    if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_unlock(hashtext('parity_migrations'))").catch(() => undefined);
    else await single.query("SELECT RELEASE_LOCK('parity_migrations')").catch(() => undefined);
    await single.close();
  }
}

/** Whether the store has every migration this version knows (umzug's table lists them). */
async function upToDate(sequelize: Sequelize): Promise<boolean> {
  try {
    const rows = (await sequelize.query('SELECT name FROM parity_migrations', { type: QueryTypes.SELECT })) as { name: string }[];
    const applied = new Set(rows.map((r) => r.name));
    return migrations.every((m) => applied.has(m.name));
  } catch {
    return false;
  }
}

function describeUrl(url: string): string {
  try {
    return parseDatabaseUrl(url, '.').display;
  } catch {
    return '(invalid url)';
  }
}

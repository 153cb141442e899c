// The state store: run history, watermarks, the key index, the outbox and sync ledger, and
// leases, in one database. SQLite by default (WAL, busy timeout), PostgreSQL or MySQL by URL
// (db.ts). Each job lives in a module of its own; open.ts opens the store, and this class
// hands each call to its module.
import type { Outbox, OutboxBatch, RecordOutcome } from '../../push/types.js';
import type { EntityReport, RunReport } from '../../reconcile/report.js';
import { labelErrors } from './integrity.js';
import * as attachmentCache from './attachment-cache.js';
import type { AttachmentCache, CachedAttachment } from '../../attachments/fetch.js';
import * as keyIndex from './key-index.js';
import * as leases from './lease-table.js';
import type { StateDb } from './db.js';
import { openStateDb } from './open.js';
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
  private readonly o: outbox.OutboxDb;

  private constructor(
    private readonly m: StateDb,
    readonly display: string,
  ) {
    this.o = { db: m, writing: Promise.resolve() };
  }

  static async open(url: string, baseDir: string): Promise<StateStore> {
    const { db, display } = await openStateDb(url, baseDir);
    return labelErrors(new StateStore(db, display), display);
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
    return this.m.dialect !== 'sqlite';
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
    return outbox.pending(this.o, entity);
  }
  pendingCount() {
    return outbox.pendingCount(this.o);
  }
  add(batch: OutboxBatch) {
    return outbox.addAll(this.o, [batch]);
  }
  addAll(batches: readonly OutboxBatch[]) {
    return outbox.addAll(this.o, batches);
  }
  complete(batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string) {
    return outbox.complete(this.o, batch, outcomes, runId);
  }
  retryLater(batch: OutboxBatch, error: string, notBefore: Date | null) {
    return outbox.retryLater(this.o, batch, error, notBefore);
  }
  quarantine(batch: OutboxBatch, reason: string) {
    return outbox.quarantine(this.o, batch, reason);
  }
  remoteIds(entity: string, localIds: readonly string[]) {
    return outbox.remoteIds(this.o, entity, localIds);
  }
  rejected(entity: string) {
    return outbox.rejected(this.o, entity);
  }

  async close(): Promise<void> {
    await this.o.writing;
    await this.m.close();
  }
}

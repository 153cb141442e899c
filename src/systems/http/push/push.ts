// Pushes an entity's difference to an HTTP target through the durable outbox: pending
// batches first (with their original keys), then the new ones; each batch written to the
// outbox before it is sent and marked done with its answer. An open breaker defers the rest.
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { SyncCounts } from '../../../core/record.js';
import type { ErrorCode } from '../../../core/errors.js';
import { makeBatches } from '../../../push/batches.js';
import type { Outbox, OutboxBatch, PushRecord, RecordOutcome } from '../../../push/types.js';
import type { SendResult } from './client.js';

/** Sends one outbox entry (a batch, or one record); `earlier`: it was left pending before. */
export interface OutboxSender {
  send(batch: OutboxBatch, signal?: AbortSignal, earlier?: boolean): Promise<SendResult>;
}

export interface PushSummary extends SyncCounts {
  /** The breaker opened: the rest waits for the next run. */
  deferred: boolean;
  /** Batches the target refused whole, with the reason. */
  quarantined: string[];
  /** The records of those batches, with the reason. */
  quarantinedRecords: { localId: string; error: string }[];
  /** Rejected records: local ID and the target's reason. */
  rejections: { localId: string; error: string }[];
  /** The target cannot take the push as configured (a wrong endpoint): the entity fails. */
  failed: { code: ErrorCode; error: string } | null;
}

export interface PushOptions {
  entity: string;
  system: string;
  records: readonly PushRecord[];
  batchSize: number;
  /** Batches in flight at once (the system's limit). */
  concurrency?: number;
  outbox: Outbox;
  client: OutboxSender;
  runId: string;
  log: Logger;
  signal?: AbortSignal | undefined;
  /** Called for each record the target answered, once its answer is recorded. */
  onDelivered?: ((outcome: RecordOutcome) => void) | undefined;
  /** Called after each batch the target answered. */
  onBatch?: (() => void) | undefined;
  /** When it returns true (the agent is shutting down), no further batch is sent: the rest
   *  stays pending in the outbox for the next run. */
  shouldStop?: (() => boolean) | undefined;
  /** Each outbox entry is one record (a per-record target): each is logged at debug level. */
  perRecord?: boolean | undefined;
}

export async function pushEntity(o: PushOptions): Promise<PushSummary> {
  const summary: PushSummary = { created: 0, updated: 0, deleted: 0, unchanged: 0, rejected: 0, pending: 0, deferred: false, quarantined: [], quarantinedRecords: [], rejections: [], failed: null };
  const delivered = new Set<string>();

  const sendOne = async (batch: OutboxBatch, earlier: boolean): Promise<'ok' | 'stop'> => {
    if (summary.deferred || summary.failed || o.shouldStop?.() || o.signal?.aborted) {
      summary.pending += batch.records;
      return 'stop';
    }
    if (batch.notBefore && batch.notBefore.getTime() > Date.now()) {
      summary.pending += batch.records;
      return 'ok';
    }
    const result = await o.client.send(batch, o.signal, earlier);
    const log = o.log.child({ batchId: batch.batchId });
    switch (result.kind) {
      case 'done':
        await o.outbox.complete(batch, result.outcomes, o.runId);
        for (const r of result.outcomes) {
          summary[r.status]++;
          delivered.add(`${r.localId}|${r.hash ?? ''}`);
          o.onDelivered?.(r);
          if (r.status === 'rejected') summary.rejections.push({ localId: r.localId, error: r.error ?? 'rejected' });
        }
        if (o.perRecord) log.debug({ localId: result.outcomes[0]?.localId, status: result.outcomes[0]?.status }, 'record sent');
        else log.info({ records: batch.records }, 'batch sent');
        o.onBatch?.();
        return 'ok';
      case 'later':
        await o.outbox.retryLater(batch, result.error, result.notBefore);
        summary.pending += batch.records;
        log.warn({ err: result.error, notBefore: result.notBefore }, 'batch kept for later');
        return 'ok';
      case 'refused':
        await o.outbox.quarantine(batch, result.reason);
        summary.quarantined.push(result.reason);
        for (const r of (JSON.parse(batch.payload) as { records: PushRecord[] }).records) summary.quarantinedRecords.push({ localId: r.localId, error: result.reason });
        log.error({ err: result.reason }, 'batch quarantined');
        return 'ok';
      case 'failed':
        summary.failed = { code: result.code, error: result.error };
        summary.pending += batch.records;
        log.error({ err: result.error }, 'the target cannot take the push as configured');
        return 'stop';
      case 'breaker-open':
        summary.deferred = true;
        summary.pending += batch.records;
        log.warn({ err: result.error }, 'deferred: the circuit breaker is open');
        return 'stop';
    }
  };

  const limit = pLimit(o.concurrency ?? 1);
  const sendAll = (batches: readonly OutboxBatch[], earlier: boolean) => Promise.all(batches.map((b) => limit(() => sendOne(b, earlier))));

  // 1. What an earlier run left pending goes first, with its original key.
  await sendAll(await o.outbox.pending(o.entity), true);

  // 2. The new difference, less what step 1 just delivered and what is still pending.
  const stillPending = new Set<string>();
  for (const batch of await o.outbox.pending(o.entity)) {
    for (const r of (JSON.parse(batch.payload) as { records: PushRecord[] }).records) stillPending.add(r.localId);
  }
  const rejected = await o.outbox.rejected(o.entity);
  const fresh = o.records.filter(
    (r) =>
      !delivered.has(`${r.localId}|${r.hash ?? ''}`) &&
      !stillPending.has(r.localId) &&
      // A rejected record is not sent again until its content changes.
      !(r.op === 'upsert' && rejected.get(r.localId) === r.hash),
  );
  const batches = makeBatches(o.entity, o.system, fresh, o.batchSize);
  // All written before any is sent: a crash from here on re-sends them, with the same keys.
  await o.outbox.addAll(batches);
  await sendAll(batches, false);
  return summary;
}

// Pushes an entity's difference to an HTTP target: wire records in batches through the
// durable outbox (push/push.ts), over the system's shared runtime (auth, breaker).
import { ParityError } from '../../core/errors.js';
import type { ProbeResult } from '../../core/record.js';
import { targetData } from '../../push/batches.js';
import { emptyPushResult, type PushPlan, type PushRecord, type PushResult, type PushRun, type Pusher } from '../../push/types.js';
import type { PusherContext, WriteTarget } from '../types.js';
import { HttpPushClient } from './push/client.js';
import type { PushHooks } from './push/hooks.js';
import { PerRecordClient, type PerRecordWrite } from './push/per-record.js';
import { pushEntity } from './push/push.js';
import { HttpRuntime } from './runtime.js';
import type { HttpSideSpec, HttpWriteConfig } from './schema.js';

export const DEFAULT_PUSH_CONCURRENCY = 4;

export class HttpPusher implements Pusher {
  private readonly side: HttpSideSpec;
  private readonly write: HttpWriteConfig;

  constructor(
    private readonly target: WriteTarget,
    private readonly context: PusherContext,
  ) {
    this.side = target.side as HttpSideSpec;
    this.write = target.write as HttpWriteConfig;
  }

  async probe(): Promise<ProbeResult[]> {
    const w = this.write;
    if (w.mode === 'per-record') {
      const del = typeof w.delete === 'object' ? `, ${w.delete.method} ${w.delete.path}` : '';
      return [{ ok: true, check: 'write', detail: `writes one record at a time: ${w.create!.method} ${w.create!.path}, ${w.update!.method} ${w.update!.path}${del}, looked up by GET ${w.lookup!.path}?${w.lookup!.param}= (not sent by validate)` }];
    }
    // A sync endpoint cannot be asked whether it would accept a batch without sending one.
    return [{ ok: true, check: 'write', detail: `pushes batches to POST ${this.write.path} (not sent by validate: whether the credentials may write shows on the first push)` }];
  }

  async push(plan: PushPlan, run: PushRun): Promise<PushResult> {
    const { outbox, runId } = this.context;
    if (!outbox || !runId) throw new Error('an HTTP push writes through the outbox: none was given');
    const system = this.side.system;
    const runtime = (this.context.runtime as HttpRuntime | undefined) ?? new HttpRuntime(this.side.systemName, system);
    const hooks = (this.target.extras ?? {}) as PushHooks;
    const records: PushRecord[] = plan.upserts.map(({ record: r }) => ({ localId: r.key, op: 'upsert', hash: r.hash, data: targetData(r.fields, this.side.mappings, this.target.attachments) }));
    for (const r of plan.deletes) records.push({ localId: r.key, op: 'delete' });
    const perRecord = this.write.mode === 'per-record';
    const client = perRecord
      ? new PerRecordClient(system, this.side.systemName, this.perRecordWrite(), runtime, await outbox.remoteIds(this.target.entity, records.map((r) => r.localId)), new Set(plan.upserts.filter((u) => u.exists).map((u) => u.record.key)))
      : new HttpPushClient(system, this.side.systemName, this.write.path!, hooks, runtime);
    const result = emptyPushResult();
    const summary = await pushEntity({
      entity: this.target.entity,
      system: this.side.systemName,
      records,
      // Per record: each intent is its own outbox entry, recorded as soon as it is answered.
      batchSize: perRecord ? 1 : this.write.batchSize,
      perRecord,
      concurrency: system.concurrency ?? DEFAULT_PUSH_CONCURRENCY,
      outbox,
      client,
      runId,
      log: run.log,
      signal: run.signal,
      onBatch: run.onBatch,
      shouldStop: run.draining,
      onDelivered: (outcome) => {
        if (outcome.status !== 'rejected') result.delivered.set(outcome.localId, outcome.status === 'deleted' ? null : outcome.hash);
      },
    });
    if (summary.failed) throw new ParityError(summary.failed.code, summary.failed.error);
    Object.assign(result, { created: summary.created, updated: summary.updated, deleted: summary.deleted, unchanged: summary.unchanged, rejected: summary.rejected, pending: summary.pending });
    result.rejections = summary.rejections;
    result.quarantined = summary.quarantined;
    result.quarantinedRecords = summary.quarantinedRecords;
    if (summary.deferred) result.deferred = 'the circuit breaker is open: the rest waits in the outbox for the next run';
    else if (summary.pending > 0) result.deferred = `${summary.pending} record${summary.pending === 1 ? '' : 's'} wait in the outbox for the next run`;
    return result;
  }

  private perRecordWrite(): PerRecordWrite {
    const w = this.write;
    const key = this.target.keyChains[0]![0]!;
    return {
      create: w.create!,
      update: w.update!,
      delete: typeof w.delete === 'object' ? w.delete : null,
      remoteId: w.remoteId!,
      result: w.result,
      lookup: { ...w.lookup!, list: w.lookup!.list ?? this.side.config.list },
      keyField: this.side.mappings?.find((m) => m.name === key)?.from ?? key,
    };
  }

  async close(): Promise<void> {}
}

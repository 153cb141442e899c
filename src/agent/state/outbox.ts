// The outbox and the sync ledger: the push stage's Outbox, kept in the state store.
import type { OutboxBatch, RecordOutcome } from '../../push/types.js';
import { INDEX_CHUNK } from './key-index.js';
import type { StoreModels } from './models.js';

/** Outbox rows per insert: each holds a whole batch's payload. */
const OUTBOX_CHUNK = 200;

/** Outbox writes, one at a time: batches are sent concurrently, and SQLite has one writer
 *  (each Sequelize transaction there is a connection of its own, which would collide). */
function serial<T>(m: StoreModels, fn: () => Promise<T>): Promise<T> {
  const next = m.writing.then(fn, fn);
  m.writing = next.catch(() => undefined);
  return next;
}

export async function pending(m: StoreModels, entity: string): Promise<OutboxBatch[]> {
  const rows = await m.outbox.findAll({ where: { entity, status: 'pending' }, order: [['created_at', 'ASC'], ['batch_id', 'ASC']] });
  return rows.map((r) => ({
    batchId: r.get('batch_id') as string,
    entity: r.get('entity') as string,
    system: r.get('system') as string,
    idempotencyKey: r.get('idempotency_key') as string,
    payload: r.get('payload') as string,
    records: Number(r.get('records')),
    attempts: Number(r.get('attempts')),
    notBefore: r.get('not_before') ? new Date(r.get('not_before') as Date) : null,
  }));
}

export async function pendingCount(m: StoreModels): Promise<number> {
  return m.outbox.count({ where: { status: 'pending' } });
}

export async function addAll(m: StoreModels, batches: readonly OutboxBatch[]): Promise<void> {
  if (batches.length === 0) return;
  const now = new Date();
  // A millisecond apart: pending batches are re-sent in the order they were made.
  const rows = batches.map((batch, i) => ({
    batch_id: batch.batchId,
    entity: batch.entity,
    system: batch.system,
    idempotency_key: batch.idempotencyKey,
    payload: batch.payload,
    records: batch.records,
    status: 'pending',
    attempts: batch.attempts,
    not_before: batch.notBefore,
    last_error: null,
    created_at: new Date(now.getTime() + i),
    updated_at: now,
  }));
  await serial(m, () =>
    m.sequelize.transaction(async (transaction) => {
      for (let i = 0; i < rows.length; i += OUTBOX_CHUNK) await m.outbox.bulkCreate(rows.slice(i, i + OUTBOX_CHUNK), { transaction });
    }),
  );
}

export async function complete(m: StoreModels, batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string): Promise<void> {
  const now = new Date();
  await serial(m, () => m.sequelize.transaction(async (transaction) => {
    const rows = outcomes
      .filter((o) => o.localId !== '')
      .map((o) => ({ entity: batch.entity, local_id: o.localId, hash: o.hash, status: o.status, remote_id: o.remoteId ?? null, error: o.error ?? null, run_id: runId, pushed_at: now }));
    for (let i = 0; i < rows.length; i += INDEX_CHUNK) {
      await m.ledger.bulkCreate(rows.slice(i, i + INDEX_CHUNK), { updateOnDuplicate: ['hash', 'status', 'remote_id', 'error', 'run_id', 'pushed_at'], transaction });
    }
    await m.outbox.update({ status: 'done', attempts: batch.attempts + 1, last_error: null, updated_at: now }, { where: { batch_id: batch.batchId }, transaction });
  }));
}

export async function retryLater(m: StoreModels, batch: OutboxBatch, error: string, notBefore: Date | null): Promise<void> {
  await serial(m, () => m.outbox.update({ attempts: batch.attempts + 1, last_error: error, not_before: notBefore, updated_at: new Date() }, { where: { batch_id: batch.batchId } }));
}

export async function quarantine(m: StoreModels, batch: OutboxBatch, reason: string): Promise<void> {
  await serial(m, () => m.outbox.update({ status: 'quarantined', attempts: batch.attempts + 1, last_error: reason, updated_at: new Date() }, { where: { batch_id: batch.batchId } }));
}

/** The versions (localId -> hash) the target refused: records it answered `rejected`, and
 *  the upserts of batches it refused whole (quarantined). Neither is sent again until the
 *  record's content changes. */
export async function rejected(m: StoreModels, entity: string): Promise<Map<string, string>> {
  const rows = await m.ledger.findAll({ where: { entity, status: 'rejected' }, attributes: ['local_id', 'hash'] });
  const out = new Map(rows.map((r) => [r.get('local_id') as string, (r.get('hash') as string | null) ?? '']));
  for (const batch of await m.outbox.findAll({ where: { entity, status: 'quarantined' }, attributes: ['payload'] })) {
    const records = (JSON.parse(batch.get('payload') as string) as { records?: { localId?: unknown; op?: unknown; hash?: unknown }[] }).records ?? [];
    for (const r of records) if (r.op === 'upsert' && typeof r.localId === 'string' && typeof r.hash === 'string') out.set(r.localId, r.hash);
  }
  return out;
}

/** The remote IDs the ledger holds for these local IDs (a deleted record holds none). */
export async function remoteIds(m: StoreModels, entity: string, localIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < localIds.length; i += INDEX_CHUNK) {
    const rows = await m.ledger.findAll({ where: { entity, local_id: localIds.slice(i, i + INDEX_CHUNK) }, attributes: ['local_id', 'remote_id'], raw: true });
    for (const r of rows as unknown as { local_id: string; remote_id: string | null }[]) if (r.remote_id !== null && r.remote_id !== '') out.set(r.local_id, r.remote_id);
  }
  return out;
}

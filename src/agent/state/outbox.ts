// The outbox and the sync ledger: the push stage's Outbox, kept in the state store.
import type { OutboxBatch, RecordOutcome } from '../../push/types.js';
import { INDEX_CHUNK } from './key-index.js';
import { insert, marks, toDate, upsert, type StateDb } from './db.js';

/** Outbox rows per insert: each holds a whole batch's payload. */
const OUTBOX_CHUNK = 200;
/** Ledger rows per upsert: 8 columns each, within SQLite's 32,766 variables. */
const LEDGER_CHUNK = 2000;

/** The outbox's writes, one at a time and in the order they were asked for, on every
 *  database (batches are sent concurrently). On SQLite the connection queues them as well. */
export interface OutboxDb {
  db: StateDb;
  writing: Promise<unknown>;
}

function serial<T>(o: OutboxDb, fn: () => Promise<T>): Promise<T> {
  const next = o.writing.then(fn, fn);
  o.writing = next.catch(() => undefined);
  return next;
}

const OUTBOX_COLUMNS = ['batch_id', 'entity', 'system', 'idempotency_key', 'payload', 'records', 'status', 'attempts', 'not_before', 'last_error', 'created_at', 'updated_at'];
const LEDGER_COLUMNS = ['entity', 'local_id', 'hash', 'status', 'remote_id', 'error', 'run_id', 'pushed_at'];

export async function pending({ db }: OutboxDb, entity: string): Promise<OutboxBatch[]> {
  const rows = await db.all<Record<string, unknown>>(
    'SELECT "batch_id", "entity", "system", "idempotency_key", "payload", "records", "attempts", "not_before" FROM "parity_outbox" WHERE "entity" = ? AND "status" = ? ORDER BY "created_at" ASC, "batch_id" ASC',
    [entity, 'pending'],
  );
  return rows.map((r) => ({
    batchId: r.batch_id as string,
    entity: r.entity as string,
    system: r.system as string,
    idempotencyKey: r.idempotency_key as string,
    payload: r.payload as string,
    records: Number(r.records),
    attempts: Number(r.attempts),
    notBefore: toDate(r.not_before),
  }));
}

export async function pendingCount({ db }: OutboxDb): Promise<number> {
  const [row] = await db.all<{ n: number | string }>('SELECT COUNT(*) AS "n" FROM "parity_outbox" WHERE "status" = ?', ['pending']);
  return Number(row?.n ?? 0);
}

export async function addAll(o: OutboxDb, batches: readonly OutboxBatch[]): Promise<void> {
  if (batches.length === 0) return;
  const now = new Date();
  // A millisecond apart: pending batches are re-sent in the order they were made.
  const rows = batches.map((batch, i) => [batch.batchId, batch.entity, batch.system, batch.idempotencyKey, batch.payload, batch.records, 'pending', batch.attempts, batch.notBefore, null, new Date(now.getTime() + i), now]);
  await serial(o, () =>
    o.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += OUTBOX_CHUNK) await insert(tx, 'parity_outbox', OUTBOX_COLUMNS, rows.slice(i, i + OUTBOX_CHUNK));
    }),
  );
}

export async function complete(o: OutboxDb, batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string): Promise<void> {
  const now = new Date();
  await serial(o, () =>
    o.db.transaction(async (tx) => {
      const rows = outcomes.filter((o) => o.localId !== '').map((o) => [batch.entity, o.localId, o.hash, o.status, o.remoteId ?? null, o.error ?? null, runId, now]);
      for (let i = 0; i < rows.length; i += LEDGER_CHUNK) {
        await upsert(tx, 'parity_ledger', LEDGER_COLUMNS, ['entity', 'local_id'], LEDGER_COLUMNS.slice(2), rows.slice(i, i + LEDGER_CHUNK));
      }
      await tx.run('UPDATE "parity_outbox" SET "status" = ?, "attempts" = ?, "last_error" = NULL, "updated_at" = ? WHERE "batch_id" = ?', ['done', batch.attempts + 1, now, batch.batchId]);
    }),
  );
}

export async function retryLater(o: OutboxDb, batch: OutboxBatch, error: string, notBefore: Date | null): Promise<void> {
  await serial(o, () => o.db.run('UPDATE "parity_outbox" SET "attempts" = ?, "last_error" = ?, "not_before" = ?, "updated_at" = ? WHERE "batch_id" = ?', [batch.attempts + 1, error, notBefore, new Date(), batch.batchId]));
}

export async function quarantine(o: OutboxDb, batch: OutboxBatch, reason: string): Promise<void> {
  await serial(o, () => o.db.run('UPDATE "parity_outbox" SET "status" = ?, "attempts" = ?, "last_error" = ?, "updated_at" = ? WHERE "batch_id" = ?', ['quarantined', batch.attempts + 1, reason, new Date(), batch.batchId]));
}

/** The versions (localId -> hash) the target refused: records it answered `rejected`, and
 *  the upserts of batches it refused whole (quarantined). Neither is sent again until the
 *  record's content changes. */
export async function rejected({ db }: OutboxDb, entity: string): Promise<Map<string, string>> {
  const rows = await db.all<{ local_id: string; hash: string | null }>('SELECT "local_id", "hash" FROM "parity_ledger" WHERE "entity" = ? AND "status" = ?', [entity, 'rejected']);
  const out = new Map(rows.map((r) => [r.local_id, r.hash ?? '']));
  for (const batch of await db.all<{ payload: string }>('SELECT "payload" FROM "parity_outbox" WHERE "entity" = ? AND "status" = ?', [entity, 'quarantined'])) {
    const records = (JSON.parse(batch.payload) as { records?: { localId?: unknown; op?: unknown; hash?: unknown }[] }).records ?? [];
    for (const r of records) if (r.op === 'upsert' && typeof r.localId === 'string' && typeof r.hash === 'string') out.set(r.localId, r.hash);
  }
  return out;
}

/** The remote IDs the ledger holds for these local IDs (a deleted record holds none). */
export async function remoteIds({ db }: OutboxDb, entity: string, localIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < localIds.length; i += INDEX_CHUNK) {
    const chunk = localIds.slice(i, i + INDEX_CHUNK);
    const rows = await db.all<{ local_id: string; remote_id: string | null }>(`SELECT "local_id", "remote_id" FROM "parity_ledger" WHERE "entity" = ? AND "local_id" IN (${marks(chunk.length)})`, [entity, ...chunk]);
    for (const r of rows) if (r.remote_id !== null && r.remote_id !== '') out.set(r.local_id, r.remote_id);
  }
  return out;
}

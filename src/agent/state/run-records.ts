// Per-record history: for each run, the records that were rejected or quarantined by the
// target, invalid on a side, or still differing after the push, with the reason. Listed by
// `parity runs show RUN_ID --errors` and GET /runs/:id/records; pruned with the reports.
import { insert, marks, type Param, type StateDb } from './db.js';

export const RUN_RECORD_STATUSES = ['rejected', 'quarantined', 'invalid', 'differing'] as const;
export type RunRecordStatus = (typeof RUN_RECORD_STATUSES)[number];

export interface RunRecord {
  entity: string;
  side: 'source' | 'target';
  key: string;
  status: RunRecordStatus;
  reason: string | null;
}

export interface RunRecordQuery {
  status?: RunRecordStatus | undefined;
  entity?: string | undefined;
  /** Records after this one (the `next` of the page before). */
  after?: number | undefined;
  limit?: number | undefined;
}

const CHUNK = 500;
/** Longer reasons are cut: the history names what went wrong, it is no data store. */
const MAX_REASON = 2000;

export async function addRunRecords(db: StateDb, runId: string, records: readonly RunRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += CHUNK) {
    const rows = records.slice(i, i + CHUNK).map((r) => [runId, r.entity, r.side, r.key.slice(0, 512), r.status, r.reason?.slice(0, MAX_REASON) ?? null]);
    await insert(db, 'parity_run_records', ['run_id', 'entity', 'side', 'key', 'status', 'reason'], rows);
  }
}

/** One page of a run's records, in the order they were recorded; `next` is the cursor of the
 *  page after, or null at the end. */
export async function listRunRecords(db: StateDb, runId: string, q: RunRecordQuery): Promise<{ records: (RunRecord & { id: number })[]; next: number | null }> {
  const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
  const conditions: [string, Param][] = [['"run_id" = ?', runId]];
  if (q.status) conditions.push(['"status" = ?', q.status]);
  if (q.entity) conditions.push(['"entity" = ?', q.entity]);
  if (q.after !== undefined) conditions.push(['"id" > ?', q.after]);
  const where = conditions.map(([c]) => c).join(' AND ');
  const params = conditions.map(([, v]) => v);
  const rows = await db.all<{ id: number; entity: string; side: string; key: string; status: string; reason: string | null }>(
    `SELECT "id", "entity", "side", "key", "status", "reason" FROM "parity_run_records" WHERE ${where} ORDER BY "id" ASC LIMIT ?`,
    [...params, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    records: page.map((r) => ({ id: Number(r.id), entity: r.entity, side: r.side as RunRecord['side'], key: r.key, status: r.status as RunRecordStatus, reason: r.reason })),
    next: rows.length > limit ? Number(page.at(-1)!.id) : null,
  };
}

/** How many records of each status the run recorded. */
export async function runRecordCounts(db: StateDb, runId: string): Promise<Partial<Record<RunRecordStatus, number>>> {
  const rows = await db.all<{ status: string; n: number | string }>('SELECT "status", COUNT(*) AS "n" FROM "parity_run_records" WHERE "run_id" = ? GROUP BY "status"', [runId]);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Removes the records of runs that started before `before`; returns how many. */
export async function pruneRunRecords(db: StateDb, before: Date): Promise<number> {
  // The runs that have records (few), then those of them that are old.
  const withRecords = (await db.all<{ run_id: string }>('SELECT "run_id" FROM "parity_run_records" GROUP BY "run_id"')).map((r) => r.run_id);
  const ids: string[] = [];
  for (let i = 0; i < withRecords.length; i += CHUNK) {
    const chunk = withRecords.slice(i, i + CHUNK);
    const old = await db.all<{ id: string }>(`SELECT "id" FROM "parity_runs" WHERE "id" IN (${marks(chunk.length)}) AND "started_at" < ?`, [...chunk, before]);
    ids.push(...old.map((r) => r.id));
  }
  let removed = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    removed += await db.run(`DELETE FROM "parity_run_records" WHERE "run_id" IN (${marks(chunk.length)})`, chunk);
  }
  return removed;
}

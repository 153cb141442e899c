// Per-record history: for each run, the records that were rejected or quarantined by the
// target, invalid on a side, or still differing after the push, with the reason. Listed by
// `parity runs show RUN_ID --errors` and GET /runs/:id/records; pruned with the reports.
import { Op } from 'sequelize';
import type { StoreModels } from './models.js';

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

export async function addRunRecords(m: StoreModels, runId: string, records: readonly RunRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += CHUNK) {
    const rows = records.slice(i, i + CHUNK).map((r) => ({ run_id: runId, entity: r.entity, side: r.side, key: r.key.slice(0, 512), status: r.status, reason: r.reason?.slice(0, MAX_REASON) ?? null }));
    await m.runRecords.bulkCreate(rows);
  }
}

/** One page of a run's records, in the order they were recorded; `next` is the cursor of the
 *  page after, or null at the end. */
export async function listRunRecords(m: StoreModels, runId: string, q: RunRecordQuery): Promise<{ records: (RunRecord & { id: number })[]; next: number | null }> {
  const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
  const where: Record<string | symbol, unknown> = { run_id: runId };
  if (q.status) where.status = q.status;
  if (q.entity) where.entity = q.entity;
  if (q.after !== undefined) where.id = { [Op.gt]: q.after };
  const rows = await m.runRecords.findAll({ where, order: [['id', 'ASC']], limit: limit + 1, raw: true });
  const page = (rows as unknown as { id: number; entity: string; side: string; key: string; status: string; reason: string | null }[]).slice(0, limit);
  return {
    records: page.map((r) => ({ id: Number(r.id), entity: r.entity, side: r.side as RunRecord['side'], key: r.key, status: r.status as RunRecordStatus, reason: r.reason })),
    next: rows.length > limit ? Number(page.at(-1)!.id) : null,
  };
}

/** How many records of each status the run recorded. */
export async function runRecordCounts(m: StoreModels, runId: string): Promise<Partial<Record<RunRecordStatus, number>>> {
  const rows = (await m.runRecords.count({ where: { run_id: runId }, group: ['status'] })) as unknown as { status: string; count: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
}

/** Removes the records of runs that started before `before`; returns how many. */
export async function pruneRunRecords(m: StoreModels, before: Date): Promise<number> {
  // The runs that have records (few), then those of them that are old.
  const withRecords = ((await m.runRecords.findAll({ attributes: ['run_id'], group: ['run_id'], raw: true })) as unknown as { run_id: string }[]).map((r) => r.run_id);
  const ids: string[] = [];
  for (let i = 0; i < withRecords.length; i += CHUNK) {
    const old = await m.runs.findAll({ attributes: ['id'], where: { id: withRecords.slice(i, i + CHUNK), started_at: { [Op.lt]: before } }, raw: true });
    ids.push(...(old as unknown as { id: string }[]).map((r) => r.id));
  }
  let removed = 0;
  for (let i = 0; i < ids.length; i += CHUNK) removed += await m.runRecords.destroy({ where: { run_id: ids.slice(i, i + CHUNK) } });
  return removed;
}

// Bisection's segments as units of work shared by agents on one state store: a job per entity
// run (its top-level key ranges), each segment leased to one agent at a time, its result
// written once. An agent that dies leaves its segment taken until the lease expires (or at
// once, when its process is known to be gone); another agent then takes it over.
import { randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import type { StoreModels } from './models.js';

export interface SegmentJob {
  id: string;
  parts: number;
}

export interface ClaimedSegment {
  idx: number;
  /** The segment's key range, as encoded by the caller (JSON text). */
  range: string;
}

export interface SegmentCounts {
  free: number;
  taken: number;
  done: number;
}

/** The open job of an entity with this fingerprint whose leader showed life within `freshMs`:
 *  the one a leader takes up again (after the last one died) or helpers join. */
export async function openJob(m: StoreModels, entity: string, fingerprint: string, freshMs: number): Promise<SegmentJob | null> {
  const row = await m.segmentJobs.findOne({
    where: { entity, fingerprint, status: 'open', heartbeat_at: { [Op.gte]: new Date(Date.now() - freshMs) } },
    order: [['created_at', 'DESC']],
  });
  return row ? { id: row.get('id') as string, parts: Number(row.get('parts')) } : null;
}

/** A new job for the entity, its segments free; older open jobs of the entity are closed. */
export async function createJob(m: StoreModels, entity: string, fingerprint: string, leader: string, ranges: readonly string[]): Promise<SegmentJob> {
  const id = randomUUID();
  const now = new Date();
  await m.sequelize.transaction(async (transaction) => {
    await m.segmentJobs.update({ status: 'abandoned' }, { where: { entity, status: 'open' }, transaction });
    await m.segmentJobs.create({ id, entity, fingerprint, leader, status: 'open', parts: ranges.length, created_at: now, heartbeat_at: now }, { transaction });
    await m.segments.bulkCreate(
      ranges.map((bounds, idx) => ({ job_id: id, idx, bounds, status: 'free', attempts: 0 })),
      { transaction },
    );
  });
  return { id, parts: ranges.length };
}

/** The leader shows it is alive (helpers join only a job whose leader does). */
export async function heartbeat(m: StoreModels, job: string, leader: string): Promise<void> {
  await m.segmentJobs.update({ heartbeat_at: new Date(), leader }, { where: { id: job } });
}

/**
 * Takes the first segment that is free, or taken by a holder whose lease expired or whose
 * process is gone. One conditional update decides each segment, so two agents never both
 * take it.
 */
export async function claim(m: StoreModels, job: string, holder: string, ttlMs: number, isDead: (holder: string) => boolean): Promise<ClaimedSegment | null> {
  const now = new Date();
  const candidates = await m.segments.findAll({
    where: { job_id: job, status: { [Op.in]: ['free', 'taken'] } },
    attributes: ['idx', 'status', 'holder', 'expires_at', 'bounds'],
    order: [['idx', 'ASC']],
  });
  for (const row of candidates) {
    const status = row.get('status') as string;
    const was = row.get('holder') as string | null;
    const expired = status === 'taken' && (new Date(row.get('expires_at') as Date).getTime() < now.getTime() || (was !== null && was !== holder && isDead(was)));
    if (status !== 'free' && !expired) continue;
    const idx = Number(row.get('idx'));
    const [updated] = await m.segments.update(
      { status: 'taken', holder, expires_at: new Date(now.getTime() + ttlMs), attempts: m.sequelize.literal('attempts + 1') },
      { where: { job_id: job, idx, status, holder: was } },
    );
    if (updated > 0) return { idx, range: row.get('bounds') as string };
  }
  return null;
}

/** Extends a segment's lease; false when it was lost (expired and taken by another agent). */
export async function renew(m: StoreModels, job: string, idx: number, holder: string, ttlMs: number): Promise<boolean> {
  const [count] = await m.segments.update({ expires_at: new Date(Date.now() + ttlMs) }, { where: { job_id: job, idx, holder, status: 'taken' } });
  return count > 0;
}

/** Writes a segment's result, once: false when the holder lost it meanwhile (the result is
 *  dropped; the agent that took it writes its own). */
export async function complete(m: StoreModels, job: string, idx: number, holder: string, result: string): Promise<boolean> {
  const [count] = await m.segments.update({ status: 'done', result, done_by: holder, done_at: new Date() }, { where: { job_id: job, idx, holder, status: 'taken' } });
  return count > 0;
}

export async function counts(m: StoreModels, job: string): Promise<SegmentCounts> {
  const rows = (await m.segments.findAll({ where: { job_id: job }, attributes: ['status', [m.sequelize.fn('COUNT', m.sequelize.col('idx')), 'n']], group: ['status'], raw: true })) as unknown as { status: string; n: number | string }[];
  const c: SegmentCounts = { free: 0, taken: 0, done: 0 };
  for (const r of rows) if (r.status === 'free' || r.status === 'taken' || r.status === 'done') c[r.status] = Number(r.n);
  return c;
}

/** Every segment's result and who wrote it, in key order (all segments must be done). */
export async function results(m: StoreModels, job: string): Promise<{ idx: number; result: string; doneBy: string; attempts: number }[]> {
  const rows = await m.segments.findAll({ where: { job_id: job, status: 'done' }, order: [['idx', 'ASC']] });
  return rows.map((r) => ({ idx: Number(r.get('idx')), result: r.get('result') as string, doneBy: r.get('done_by') as string, attempts: Number(r.get('attempts')) }));
}

/** A job's status: open, done (assembled), abandoned (a newer job replaced it), or null. */
export async function status(m: StoreModels, job: string): Promise<string | null> {
  const row = await m.segmentJobs.findByPk(job, { attributes: ['status'] });
  return row ? (row.get('status') as string) : null;
}

/** The job is assembled into the entity's report: no agent joins it again. */
export async function finish(m: StoreModels, job: string): Promise<void> {
  await m.segmentJobs.update({ status: 'done', finished_at: new Date() }, { where: { id: job } });
}

// Bisection's segments as units of work shared by agents on one state store: a job per entity
// run (its top-level key ranges), each segment leased to one agent at a time, its result
// written once. An agent that dies leaves its segment taken until the lease expires (or at
// once, when its process is known to be gone); another agent then takes it over.
import { randomUUID } from 'node:crypto';
import { insert, toDate, type StateDb } from './db.js';

/** Segments per insert. */
const CHUNK = 500;

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
export async function openJob(db: StateDb, entity: string, fingerprint: string, freshMs: number): Promise<SegmentJob | null> {
  const [row] = await db.all<{ id: string; parts: number | string }>(
    'SELECT "id", "parts" FROM "parity_segment_jobs" WHERE "entity" = ? AND "fingerprint" = ? AND "status" = ? AND "heartbeat_at" >= ? ORDER BY "created_at" DESC LIMIT 1',
    [entity, fingerprint, 'open', new Date(Date.now() - freshMs)],
  );
  return row ? { id: row.id, parts: Number(row.parts) } : null;
}

/** A new job for the entity, its segments free; older open jobs of the entity are closed. */
export async function createJob(db: StateDb, entity: string, fingerprint: string, leader: string, ranges: readonly string[]): Promise<SegmentJob> {
  const id = randomUUID();
  const now = new Date();
  await db.transaction(async (tx) => {
    await tx.run('UPDATE "parity_segment_jobs" SET "status" = ? WHERE "entity" = ? AND "status" = ?', ['abandoned', entity, 'open']);
    await insert(tx, 'parity_segment_jobs', ['id', 'entity', 'fingerprint', 'leader', 'status', 'parts', 'created_at', 'heartbeat_at'], [[id, entity, fingerprint, leader, 'open', ranges.length, now, now]]);
    for (let i = 0; i < ranges.length; i += CHUNK) {
      await insert(tx, 'parity_segments', ['job_id', 'idx', 'bounds', 'status', 'attempts'], ranges.slice(i, i + CHUNK).map((bounds, j) => [id, i + j, bounds, 'free', 0]));
    }
  });
  return { id, parts: ranges.length };
}

/** The leader shows it is alive (helpers join only a job whose leader does). */
export async function heartbeat(db: StateDb, job: string, leader: string): Promise<void> {
  await db.run('UPDATE "parity_segment_jobs" SET "heartbeat_at" = ?, "leader" = ? WHERE "id" = ?', [new Date(), leader, job]);
}

/**
 * Takes the first segment that is free, or taken by a holder whose lease expired or whose
 * process is gone. One conditional update decides each segment, so two agents never both
 * take it.
 */
export async function claim(db: StateDb, job: string, holder: string, ttlMs: number, isDead: (holder: string) => boolean): Promise<ClaimedSegment | null> {
  const now = new Date();
  const candidates = await db.all<{ idx: number | string; status: string; holder: string | null; expires_at: unknown; bounds: string }>(
    'SELECT "idx", "status", "holder", "expires_at", "bounds" FROM "parity_segments" WHERE "job_id" = ? AND "status" IN (?, ?) ORDER BY "idx" ASC',
    [job, 'free', 'taken'],
  );
  for (const row of candidates) {
    const was = row.holder;
    const expired = row.status === 'taken' && ((toDate(row.expires_at)?.getTime() ?? 0) < now.getTime() || (was !== null && was !== holder && isDead(was)));
    if (row.status !== 'free' && !expired) continue;
    const idx = Number(row.idx);
    const sameHolder = was === null ? '"holder" IS NULL' : '"holder" = ?';
    const updated = await db.run(
      `UPDATE "parity_segments" SET "status" = ?, "holder" = ?, "expires_at" = ?, "attempts" = "attempts" + 1 WHERE "job_id" = ? AND "idx" = ? AND "status" = ? AND ${sameHolder}`,
      [ 'taken', holder, new Date(now.getTime() + ttlMs), job, idx, row.status, ...(was === null ? [] : [was])],
    );
    if (updated > 0) return { idx, range: row.bounds };
  }
  return null;
}

/** Extends a segment's lease; false when it was lost (expired and taken by another agent). */
export async function renew(db: StateDb, job: string, idx: number, holder: string, ttlMs: number): Promise<boolean> {
  return (await db.run('UPDATE "parity_segments" SET "expires_at" = ? WHERE "job_id" = ? AND "idx" = ? AND "holder" = ? AND "status" = ?', [new Date(Date.now() + ttlMs), job, idx, holder, 'taken'])) > 0;
}

/** Writes a segment's result, once: false when the holder lost it meanwhile (the result is
 *  dropped; the agent that took it writes its own). */
export async function complete(db: StateDb, job: string, idx: number, holder: string, result: string): Promise<boolean> {
  return (
    (await db.run('UPDATE "parity_segments" SET "status" = ?, "result" = ?, "done_by" = ?, "done_at" = ? WHERE "job_id" = ? AND "idx" = ? AND "holder" = ? AND "status" = ?', [
      'done',
      result,
      holder,
      new Date(),
      job,
      idx,
      holder,
      'taken',
    ])) > 0
  );
}

export async function counts(db: StateDb, job: string): Promise<SegmentCounts> {
  const rows = await db.all<{ status: string; n: number | string }>('SELECT "status", COUNT("idx") AS "n" FROM "parity_segments" WHERE "job_id" = ? GROUP BY "status"', [job]);
  const c: SegmentCounts = { free: 0, taken: 0, done: 0 };
  for (const r of rows) if (r.status === 'free' || r.status === 'taken' || r.status === 'done') c[r.status] = Number(r.n);
  return c;
}

/** Every segment's result and who wrote it, in key order (all segments must be done). */
export async function results(db: StateDb, job: string): Promise<{ idx: number; result: string; doneBy: string; attempts: number }[]> {
  const rows = await db.all<{ idx: number | string; result: string; done_by: string; attempts: number | string }>(
    'SELECT "idx", "result", "done_by", "attempts" FROM "parity_segments" WHERE "job_id" = ? AND "status" = ? ORDER BY "idx" ASC',
    [job, 'done'],
  );
  return rows.map((r) => ({ idx: Number(r.idx), result: r.result, doneBy: r.done_by, attempts: Number(r.attempts) }));
}

/** A job's status: open, done (assembled), abandoned (a newer job replaced it), or null. */
export async function status(db: StateDb, job: string): Promise<string | null> {
  const [row] = await db.all<{ status: string }>('SELECT "status" FROM "parity_segment_jobs" WHERE "id" = ?', [job]);
  return row ? row.status : null;
}

/** The job is assembled into the entity's report: no agent joins it again. */
export async function finish(db: StateDb, job: string): Promise<void> {
  await db.run('UPDATE "parity_segment_jobs" SET "status" = ?, "finished_at" = ? WHERE "id" = ?', ['done', new Date(), job]);
}

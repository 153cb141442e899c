// Run history: each run and each entity's part of it.
import { ParityError } from '../../core/errors.js';
import type { EntityReport, RunReport } from '../../reconcile/report.js';
import { insert, toDate, type StateDb } from './db.js';

type Row = Record<string, unknown>;

/** cancelled: stopped by a deadline or a shutdown; abandoned: its process died before it ended. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'abandoned';

export interface RunRow {
  id: string;
  status: RunStatus;
  mode: string;
  trigger: string;
  dryRun: boolean;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  healthScore: number | null;
  healthStatus: string | null;
  stats: Record<string, unknown> | null;
  error: string | null;
  /** The log file the run wrote to (config `logs`), or null. */
  logFile: string | null;
}

export interface EntityRunRow {
  runId: string;
  entity: string;
  status: string;
  outcome: string;
  match: number;
  sourceCount: number;
  targetCount: number;
  diff: Record<string, number>;
  tripped: string[];
  error: string | null;
  durationMs: number;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * Marks `abandoned` the runs still `running` whose process is gone: a holder on this machine
 * that no longer runs, or one that holds no live lease and has shown no activity for twice
 * the lease TTL. Returns their IDs.
 */
export async function markAbandoned(db: StateDb, self: string, holderIsDead: (holder: string) => boolean, ttlMs: number): Promise<string[]> {
  const now = Date.now();
  const abandoned: string[] = [];
  for (const run of await db.all<{ id: string; holder: string | null; started_at: unknown }>('SELECT "id", "holder", "started_at" FROM "parity_runs" WHERE "status" = ?', ['running'])) {
    const holder = run.holder;
    if (!holder || holder === self) continue;
    const [lastEntity] = await db.all<{ finished_at: unknown }>('SELECT "finished_at" FROM "parity_entity_runs" WHERE "run_id" = ? ORDER BY "id" DESC LIMIT 1', [run.id]);
    const lastActivity = Math.max(toDate(run.started_at)!.getTime(), lastEntity ? (toDate(lastEntity.finished_at)?.getTime() ?? 0) : 0);
    let dead = holderIsDead(holder);
    if (!dead) {
      const [live] = await db.all<{ n: number | string }>('SELECT COUNT(*) AS "n" FROM "parity_leases" WHERE "holder" = ? AND "expires_at" > ?', [holder, new Date(now)]);
      dead = Number(live?.n ?? 0) === 0 && now - lastActivity > 2 * ttlMs;
    }
    if (!dead) continue;
    await db.run('UPDATE "parity_runs" SET "status" = ?, "finished_at" = ?, "error" = ? WHERE "id" = ?', [
      'abandoned',
      new Date(lastActivity),
      `abandoned: the process running it (${holder}) stopped before the run ended (killed, or its machine went down)`,
      run.id,
    ]);
    abandoned.push(run.id);
  }
  return abandoned;
}

export async function startRun(db: StateDb, run: { id: string; mode: string; trigger: string; dryRun: boolean; startedAt: Date; holder?: string; logFile?: string | null }): Promise<void> {
  await insert(db, 'parity_runs', ['id', 'status', 'mode', 'trigger', 'dry_run', 'started_at', 'holder', 'log_file'], [[run.id, 'running', run.mode, run.trigger, run.dryRun, run.startedAt, run.holder ?? null, run.logFile ?? null]]);
}

const ENTITY_RUN_COLUMNS = ['started_at', 'finished_at', 'run_id', 'entity', 'status', 'outcome', 'match', 'source_count', 'target_count', 'diff', 'tripped', 'error', 'duration_ms'];

export async function recordEntity(db: StateDb, runId: string, entity: EntityReport, durationMs: number, startedAt?: Date): Promise<void> {
  const finishedAt = new Date();
  await insert(db, 'parity_entity_runs', ENTITY_RUN_COLUMNS, [
    [
      startedAt ?? new Date(finishedAt.getTime() - durationMs),
      finishedAt,
      runId,
      entity.name,
      entity.status,
      entity.outcome,
      entity.match,
      entity.source.count,
      entity.target.count,
      JSON.stringify(entity.diff),
      JSON.stringify(entity.tripped),
      entity.error,
      Math.round(durationMs),
    ],
  ]);
}

export async function finishRun(db: StateDb, runId: string, status: RunStatus, report: RunReport | null, error: string | null): Promise<void> {
  const finishedAt = report ? new Date(report.finishedAt) : new Date();
  const [row] = await db.all<{ mode: string; started_at: unknown }>('SELECT "mode", "started_at" FROM "parity_runs" WHERE "id" = ?', [runId]);
  if (!row) throw new ParityError('PARITY_STATE_ERROR', `run ${runId} is not in the state store`);
  const startedAt = toDate(row.started_at)!;
  await db.run('UPDATE "parity_runs" SET "status" = ?, "mode" = ?, "finished_at" = ?, "duration_ms" = ?, "health_score" = ?, "health_status" = ?, "stats" = ?, "error" = ? WHERE "id" = ?', [
    status,
    report?.mode ?? row.mode,
    finishedAt,
    finishedAt.getTime() - startedAt.getTime(),
    report?.health.score ?? null,
    report?.health.status ?? null,
    report ? JSON.stringify(runStats(report)) : null,
    error,
    runId,
  ]);
}

/** The source count of the entity in the last completed, non-dry run that read it, or null. */
export async function lastSourceCount(db: StateDb, entity: string): Promise<number | null> {
  // A blocked run's count is the drop itself: the guard compares with the last count it accepted.
  const rows = await db.all<{ run_id: string; source_count: number | string; status: string | null; dry_run: unknown; stats: string | null }>(
    `SELECT e."run_id", e."source_count", r."status", r."dry_run", r."stats" FROM "parity_entity_runs" e LEFT JOIN "parity_runs" r ON r."id" = e."run_id"
     WHERE e."entity" = ? AND e."outcome" IN (?, ?, ?, ?) ORDER BY e."id" DESC LIMIT 20`,
    [entity, 'synced', 'in-sync', 'report-only', 'deferred'],
  );
  for (const row of rows) {
    // A filtered (--filter) or windowed run counted part of the source: not a count to compare with.
    const stats = parseJson<{ filtered?: boolean; windowed?: boolean } | null>(row.stats, null);
    if (row.status === 'completed' && !Number(row.dry_run) && !stats?.filtered && !stats?.windowed) return Number(row.source_count);
  }
  return null;
}

/** When the last completed, non-dry run started, or null. */
export async function lastCompletedRunStart(db: StateDb): Promise<Date | null> {
  const [row] = await db.all<{ started_at: unknown }>('SELECT "started_at" FROM "parity_runs" WHERE "status" = ? AND "dry_run" = ? ORDER BY "started_at" DESC LIMIT 1', ['completed', false]);
  return row ? toDate(row.started_at) : null;
}

export async function listRuns(db: StateDb, limit = 20): Promise<RunRow[]> {
  const rows = await db.all<Record<string, unknown>>('SELECT * FROM "parity_runs" ORDER BY "started_at" DESC LIMIT ?', [limit]);
  return rows.map(toRunRow);
}

/** A whole run ID, or the one run whose ID starts with `prefix`; 'ambiguous' when several do. */
export async function resolveRunId(db: StateDb, prefix: string): Promise<string | null | 'ambiguous'> {
  if (prefix.length === 36) return prefix;
  const rows = await db.all<{ id: string }>('SELECT "id" FROM "parity_runs" WHERE "id" LIKE ? LIMIT 2', [`${prefix.replace(/[%_\\]/g, '')}%`]);
  return rows.length > 1 ? 'ambiguous' : (rows[0]?.id ?? null);
}

export async function getRun(db: StateDb, id: string): Promise<{ run: RunRow; entities: EntityRunRow[] } | null> {
  const [row] = await db.all<Record<string, unknown>>('SELECT * FROM "parity_runs" WHERE "id" = ?', [id]);
  if (!row) return null;
  const entities = await db.all<Record<string, unknown>>('SELECT * FROM "parity_entity_runs" WHERE "run_id" = ? ORDER BY "id" ASC', [id]);
  return { run: toRunRow(row), entities: entities.map(toEntityRunRow) };
}

function runStats(report: RunReport): Record<string, unknown> {
  const outcomes: Record<string, number> = {};
  for (const e of report.entities) outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
  return { entities: report.entities.length, outcomes, overallMatch: report.health.overallMatch, ...(report.selection?.filters ? { filtered: true } : {}), ...(report.entities.some((e) => e.window) ? { windowed: true } : {}) };
}

const parseJson = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

function toRunRow(row: Row): RunRow {
  const g = (k: string) => row[k];
  return {
    id: g('id') as string,
    status: g('status') as RunStatus,
    mode: g('mode') as string,
    trigger: g('trigger') as string,
    dryRun: Boolean(g('dry_run')),
    startedAt: toDate(g('started_at'))!,
    finishedAt: toDate(g('finished_at')),
    durationMs: g('duration_ms') === null || g('duration_ms') === undefined ? null : Number(g('duration_ms')),
    healthScore: g('health_score') === null || g('health_score') === undefined ? null : Number(g('health_score')),
    healthStatus: (g('health_status') as string | null) ?? null,
    stats: parseJson(g('stats'), null),
    error: (g('error') as string | null) ?? null,
    logFile: (g('log_file') as string | null) ?? null,
  };
}

function toEntityRunRow(row: Row): EntityRunRow {
  const g = (k: string) => row[k];
  return {
    runId: g('run_id') as string,
    entity: g('entity') as string,
    status: g('status') as string,
    outcome: g('outcome') as string,
    match: Number(g('match')),
    sourceCount: Number(g('source_count')),
    targetCount: Number(g('target_count')),
    diff: parseJson(g('diff'), {}),
    tripped: parseJson(g('tripped'), []),
    error: (g('error') as string | null) ?? null,
    durationMs: Number(g('duration_ms')),
    startedAt: toDate(g('started_at')),
    finishedAt: toDate(g('finished_at')),
  };
}

// Run history: each run and each entity's part of it.
import { Op } from 'sequelize';
import { ParityError } from '../../core/errors.js';
import type { EntityReport, RunReport } from '../../reconcile/report.js';
import type { Row, StoreModels } from './models.js';

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
export async function markAbandoned(m: StoreModels, self: string, holderIsDead: (holder: string) => boolean, ttlMs: number): Promise<string[]> {
  const now = Date.now();
  const abandoned: string[] = [];
  for (const run of await m.runs.findAll({ where: { status: 'running' } })) {
    const holder = run.get('holder') as string | null;
    if (!holder || holder === self) continue;
    const lastEntity = await m.entityRuns.findOne({ where: { run_id: run.get('id') as string }, order: [['id', 'DESC']] });
    const lastActivity = Math.max(new Date(run.get('started_at') as Date).getTime(), lastEntity ? new Date(lastEntity.get('finished_at') as Date).getTime() : 0);
    let dead = holderIsDead(holder);
    if (!dead) {
      const live = await m.leases.count({ where: { holder, expires_at: { [Op.gt]: new Date(now) } } });
      dead = live === 0 && now - lastActivity > 2 * ttlMs;
    }
    if (!dead) continue;
    await run.update({
      status: 'abandoned',
      finished_at: new Date(lastActivity),
      error: `abandoned: the process running it (${holder}) stopped before the run ended (killed, or its machine went down)`,
    });
    abandoned.push(run.get('id') as string);
  }
  return abandoned;
}

export async function startRun(m: StoreModels, run: { id: string; mode: string; trigger: string; dryRun: boolean; startedAt: Date; holder?: string; logFile?: string | null }): Promise<void> {
  await m.runs.create({ id: run.id, status: 'running', mode: run.mode, trigger: run.trigger, dry_run: run.dryRun, started_at: run.startedAt, holder: run.holder ?? null, log_file: run.logFile ?? null });
}

export async function recordEntity(m: StoreModels, runId: string, entity: EntityReport, durationMs: number, startedAt?: Date): Promise<void> {
  const finishedAt = new Date();
  await m.entityRuns.create({
    started_at: startedAt ?? new Date(finishedAt.getTime() - durationMs),
    finished_at: finishedAt,
    run_id: runId,
    entity: entity.name,
    status: entity.status,
    outcome: entity.outcome,
    match: entity.match,
    source_count: entity.source.count,
    target_count: entity.target.count,
    diff: JSON.stringify(entity.diff),
    tripped: JSON.stringify(entity.tripped),
    error: entity.error,
    duration_ms: Math.round(durationMs),
  });
}

export async function finishRun(m: StoreModels, runId: string, status: RunStatus, report: RunReport | null, error: string | null): Promise<void> {
  const finishedAt = report ? new Date(report.finishedAt) : new Date();
  const row = await m.runs.findByPk(runId);
  if (!row) throw new ParityError('PARITY_STATE_ERROR', `run ${runId} is not in the state store`);
  const startedAt = new Date(row.get('started_at') as Date);
  await row.update({
    status,
    mode: report?.mode ?? row.get('mode'),
    finished_at: finishedAt,
    duration_ms: finishedAt.getTime() - startedAt.getTime(),
    health_score: report?.health.score ?? null,
    health_status: report?.health.status ?? null,
    stats: report ? JSON.stringify(runStats(report)) : null,
    error,
  });
}

/** The source count of the entity in the last completed, non-dry run that read it, or null. */
export async function lastSourceCount(m: StoreModels, entity: string): Promise<number | null> {
  const rows = await m.entityRuns.findAll({
    // A blocked run's count is the drop itself: the guard compares with the last count it accepted.
    where: { entity, outcome: ['synced', 'in-sync', 'report-only', 'deferred'] },
    order: [['id', 'DESC']],
    limit: 20,
  });
  for (const row of rows) {
    const run = await m.runs.findByPk(row.get('run_id') as string);
    // A filtered (--filter) or windowed run counted part of the source: not a count to compare with.
    const stats = parseJson<{ filtered?: boolean; windowed?: boolean } | null>(run?.get('stats'), null);
    if (run && run.get('status') === 'completed' && !run.get('dry_run') && !stats?.filtered && !stats?.windowed) return Number(row.get('source_count'));
  }
  return null;
}

/** When the last completed, non-dry run started, or null. */
export async function lastCompletedRunStart(m: StoreModels): Promise<Date | null> {
  const row = await m.runs.findOne({ where: { status: 'completed', dry_run: false }, order: [['started_at', 'DESC']] });
  return row ? new Date(row.get('started_at') as Date) : null;
}

export async function listRuns(m: StoreModels, limit = 20): Promise<RunRow[]> {
  const rows = await m.runs.findAll({ order: [['started_at', 'DESC']], limit });
  return rows.map(toRunRow);
}

/** A whole run ID, or the one run whose ID starts with `prefix`; 'ambiguous' when several do. */
export async function resolveRunId(m: StoreModels, prefix: string): Promise<string | null | 'ambiguous'> {
  if (prefix.length === 36) return prefix;
  const rows = await m.runs.findAll({ attributes: ['id'], where: { id: { [Op.like]: `${prefix.replace(/[%_]/g, '')}%` } }, limit: 2 });
  return rows.length > 1 ? 'ambiguous' : ((rows[0]?.get('id') as string | undefined) ?? null);
}

export async function getRun(m: StoreModels, id: string): Promise<{ run: RunRow; entities: EntityRunRow[] } | null> {
  const row = await m.runs.findByPk(id);
  if (!row) return null;
  const entities = await m.entityRuns.findAll({ where: { run_id: id }, order: [['id', 'ASC']] });
  return { run: toRunRow(row), entities: entities.map(toEntityRunRow) };
}

function runStats(report: RunReport): Record<string, unknown> {
  const outcomes: Record<string, number> = {};
  for (const e of report.entities) outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
  return { entities: report.entities.length, outcomes, overallMatch: report.health.overallMatch, ...(report.selection?.filters ? { filtered: true } : {}), ...(report.entities.some((e) => e.window) ? { windowed: true } : {}) };
}

const parseJson = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

function toRunRow(row: Row): RunRow {
  const g = (k: string) => row.get(k);
  return {
    id: g('id') as string,
    status: g('status') as RunStatus,
    mode: g('mode') as string,
    trigger: g('trigger') as string,
    dryRun: Boolean(g('dry_run')),
    startedAt: new Date(g('started_at') as Date),
    finishedAt: g('finished_at') ? new Date(g('finished_at') as Date) : null,
    durationMs: (g('duration_ms') as number | null) ?? null,
    healthScore: g('health_score') === null ? null : Number(g('health_score')),
    healthStatus: (g('health_status') as string | null) ?? null,
    stats: parseJson(g('stats'), null),
    error: (g('error') as string | null) ?? null,
    logFile: (g('log_file') as string | null) ?? null,
  };
}

function toEntityRunRow(row: Row): EntityRunRow {
  const g = (k: string) => row.get(k);
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
    startedAt: g('started_at') ? new Date(g('started_at') as Date) : null,
    finishedAt: g('finished_at') ? new Date(g('finished_at') as Date) : null,
  };
}

// The state store: run history today; watermarks, the key index, the outbox and leases as
// they land. Sequelize on SQLite by default (WAL, busy timeout), PostgreSQL or MySQL by URL.
import { existsSync } from 'node:fs';
import { DataTypes, Op, QueryTypes, UniqueConstraintError, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import { describeError, ParityError } from '../../core/errors.js';
import { openSequelize, parseDatabaseUrl, type SqlTarget } from '../../core/sql.js';
import type { EntityReport, RunReport } from '../../reconcile/report.js';
import { migrations } from './migrations.js';
import { labelErrors, refuseForeignFile, refuseForeignTables } from './integrity.js';
import type { Outbox, OutboxBatch, RecordOutcome } from '../../push/types.js';

export const DEFAULT_STATE_URL = 'sqlite:.parity/state.db';

/** [key, source hash, target hash]; null where the key is absent on that side. */
export type IndexRow = [string, string | null, string | null];

/** Rows per INSERT: 5 columns each, well below SQLite's variable limit. */
const INDEX_CHUNK = 2000;
/** Outbox rows per insert: each holds a whole batch's payload. */
const OUTBOX_CHUNK = 200;

type State = 0 | 1 | 2 | 3;
interface IndexCounts {
  matched: number;
  missing: number;
  extra: number;
  changed: number;
}
const STATE_NAMES = ['matched', 'missing', 'extra', 'changed'] as const;

/** 0 matched, 1 missing in the target, 2 extra in the target, 3 changed. */
function stateOf(source: string | null, target: string | null): State {
  if (target === null) return 1;
  if (source === null) return 2;
  return source === target ? 0 : 3;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

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

type Row = Model<Record<string, unknown>>;

export class StateStore implements Outbox {
  private constructor(
    private readonly sequelize: Sequelize,
    readonly display: string,
    private readonly runs: ModelStatic<Row>,
    private readonly entityRuns: ModelStatic<Row>,
    private readonly watermarks: ModelStatic<Row>,
    private readonly keyIndex: ModelStatic<Row>,
    private readonly keyCounts: ModelStatic<Row>,
    private readonly outbox: ModelStatic<Row>,
    private readonly ledger: ModelStatic<Row>,
    private readonly leases: ModelStatic<Row>,
  ) {}

  /**
   * Takes the lease `name` for `holder` until now + ttlMs: when nobody holds it, when the
   * holder already does, or when the last holder's lease expired (it died). One statement
   * decides, so two agents racing for it cannot both win.
   */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const expires = new Date(now.getTime() + ttlMs);
    const [updated] = await this.leases.update({ holder, expires_at: expires }, { where: { name, [Op.or]: [{ holder }, { expires_at: { [Op.lt]: now } }] } });
    if (updated > 0) return true;
    try {
      await this.leases.create({ name, holder, expires_at: expires });
      return true;
    } catch (err) {
      if (err instanceof UniqueConstraintError) return false;
      throw err;
    }
  }

  /** Takes a lease from a holder known to be dead (its process is gone), before it expires. */
  async takeLeaseFrom(name: string, dead: string, holder: string, ttlMs: number): Promise<boolean> {
    const [count] = await this.leases.update({ holder, expires_at: new Date(Date.now() + ttlMs) }, { where: { name, holder: dead } });
    return count > 0;
  }

  /** Extends a lease the holder still has; false when it was lost (expired and taken). */
  async renewLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const [count] = await this.leases.update({ expires_at: new Date(Date.now() + ttlMs) }, { where: { name, holder } });
    return count > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.leases.destroy({ where: { name, holder } });
  }

  async leaseHolder(name: string): Promise<string | null> {
    const row = await this.leases.findByPk(name);
    return row && new Date(row.get('expires_at') as Date).getTime() >= Date.now() ? (row.get('holder') as string) : null;
  }

  /** Outbox writes, one at a time: batches are sent concurrently, and SQLite has one writer
   *  (each Sequelize transaction there is a connection of its own, which would collide). */
  private writing: Promise<unknown> = Promise.resolve();
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writing.then(fn, fn);
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Opens (and creates, for SQLite) the store and applies pending migrations. */
  static async open(url: string, baseDir: string): Promise<StateStore> {
    let target: SqlTarget;
    let sequelize: Sequelize | undefined;
    try {
      target = parseDatabaseUrl(url, baseDir);
      const existing = target.dialect === 'sqlite' && target.storage !== ':memory:' && existsSync(target.storage!) ? target.storage! : null;
      if (existing) refuseForeignFile(existing, target.display);
      sequelize = await openSequelize(target, { owned: true });
      await sequelize.authenticate();
      if (existing) await refuseForeignTables(sequelize, existing, target.display);
      if (target.dialect === 'sqlite') await sequelize.query('PRAGMA journal_mode = WAL');
      await migrate(target, sequelize);
    } catch (err) {
      await sequelize?.close().catch(() => undefined);
      if (err instanceof ParityError && err.code === 'PARITY_STATE_INVALID') throw err;
      throw new ParityError('PARITY_STATE_ERROR', `state store ${describeUrl(url)}: ${describeError(err)}`, { cause: err });
    }
    const runs = sequelize.define<Row>(
      'Run',
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        status: DataTypes.STRING(16),
        mode: DataTypes.STRING(16),
        trigger: DataTypes.STRING(16),
        dry_run: DataTypes.BOOLEAN,
        started_at: DataTypes.DATE(3),
        finished_at: DataTypes.DATE(3),
        duration_ms: DataTypes.INTEGER,
        health_score: DataTypes.DOUBLE,
        health_status: DataTypes.STRING(16),
        stats: DataTypes.TEXT,
        error: DataTypes.TEXT,
        holder: DataTypes.STRING(160),
      },
      { tableName: 'parity_runs', timestamps: false },
    );
    const entityRuns = sequelize.define<Row>(
      'EntityRun',
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        run_id: DataTypes.STRING(64),
        entity: DataTypes.STRING(128),
        status: DataTypes.STRING(16),
        outcome: DataTypes.STRING(16),
        match: DataTypes.DOUBLE,
        source_count: DataTypes.INTEGER,
        target_count: DataTypes.INTEGER,
        diff: DataTypes.TEXT,
        tripped: DataTypes.TEXT,
        error: DataTypes.TEXT,
        duration_ms: DataTypes.INTEGER,
        started_at: DataTypes.DATE(3),
        finished_at: DataTypes.DATE(3),
      },
      { tableName: 'parity_entity_runs', timestamps: false },
    );
    const watermarks = sequelize.define<Row>(
      'Watermark',
      {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        side: { type: DataTypes.STRING(16), primaryKey: true },
        value: DataTypes.STRING(255),
        run_id: DataTypes.STRING(64),
        updated_at: DataTypes.DATE(3),
      },
      { tableName: 'parity_watermarks', timestamps: false },
    );
    const keyIndex = sequelize.define<Row>(
      'KeyIndex',
      {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        key: { type: DataTypes.STRING(512), primaryKey: true },
        source_hash: DataTypes.STRING(64),
        target_hash: DataTypes.STRING(64),
        state: DataTypes.SMALLINT,
      },
      { tableName: 'parity_key_index', timestamps: false },
    );
    const keyCounts = sequelize.define<Row>(
      'KeyCounts',
      {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        matched: DataTypes.INTEGER,
        missing: DataTypes.INTEGER,
        extra: DataTypes.INTEGER,
        changed: DataTypes.INTEGER,
      },
      { tableName: 'parity_key_counts', timestamps: false },
    );
    const outbox = sequelize.define<Row>(
      'Outbox',
      {
        batch_id: { type: DataTypes.STRING(64), primaryKey: true },
        entity: DataTypes.STRING(128),
        system: DataTypes.STRING(128),
        idempotency_key: DataTypes.STRING(64),
        payload: DataTypes.TEXT,
        records: DataTypes.INTEGER,
        status: DataTypes.STRING(16),
        attempts: DataTypes.INTEGER,
        not_before: DataTypes.DATE(3),
        last_error: DataTypes.TEXT,
        created_at: DataTypes.DATE(3),
        updated_at: DataTypes.DATE(3),
      },
      { tableName: 'parity_outbox', timestamps: false },
    );
    const ledger = sequelize.define<Row>(
      'Ledger',
      {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        local_id: { type: DataTypes.STRING(512), primaryKey: true },
        hash: DataTypes.STRING(64),
        status: DataTypes.STRING(16),
        remote_id: DataTypes.STRING(255),
        error: DataTypes.TEXT,
        run_id: DataTypes.STRING(64),
        pushed_at: DataTypes.DATE(3),
      },
      { tableName: 'parity_ledger', timestamps: false },
    );
    const leases = sequelize.define<Row>(
      'Lease',
      {
        name: { type: DataTypes.STRING(160), primaryKey: true },
        holder: DataTypes.STRING(160),
        expires_at: DataTypes.DATE(3),
      },
      { tableName: 'parity_leases', timestamps: false },
    );
    return labelErrors(new StateStore(sequelize, target.display, runs, entityRuns, watermarks, keyIndex, keyCounts, outbox, ledger, leases), target.display);
  }

  async startRun(run: { id: string; mode: string; trigger: string; dryRun: boolean; startedAt: Date; holder?: string }): Promise<void> {
    await this.runs.create({ id: run.id, status: 'running', mode: run.mode, trigger: run.trigger, dry_run: run.dryRun, started_at: run.startedAt, holder: run.holder ?? null });
  }

  async recordEntity(runId: string, entity: EntityReport, durationMs: number, startedAt?: Date): Promise<void> {
    const finishedAt = new Date();
    await this.entityRuns.create({
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

  async finishRun(runId: string, status: RunStatus, report: RunReport | null, error: string | null): Promise<void> {
    const finishedAt = report ? new Date(report.finishedAt) : new Date();
    const row = await this.runs.findByPk(runId);
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

  /** The watermark an incremental read of this side starts after, or null. */
  async getWatermark(entity: string, side: 'source' | 'target'): Promise<string | null> {
    const row = await this.watermarks.findOne({ where: { entity, side } });
    return row ? (row.get('value') as string) : null;
  }

  /** Stores the watermarks of a completed run, all or none. */
  async saveWatermarks(runId: string, entries: { entity: string; side: 'source' | 'target'; value: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date();
    await this.sequelize.transaction(async (transaction) => {
      await this.watermarks.bulkCreate(
        entries.map((e) => ({ entity: e.entity, side: e.side, value: e.value, run_id: runId, updated_at: now })),
        { updateOnDuplicate: ['value', 'run_id', 'updated_at'], transaction },
      );
    });
  }

  // ---- The key index: each key's last seen hash per side, for incremental runs ----

  async hasKeyIndex(entity: string): Promise<boolean> {
    return (await this.keyCounts.findByPk(entity)) !== null;
  }

  /** Replaces an entity's index (after a full run), in chunks inside one transaction. */
  async replaceKeyIndex(entity: string, rows: readonly IndexRow[]): Promise<void> {
    const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
    await this.sequelize.transaction(async (transaction) => {
      await this.keyIndex.destroy({ where: { entity }, transaction });
      // Plain multi-row INSERTs: no model instances for a million rows.
      const qi = this.sequelize.getQueryInterface();
      for (let i = 0; i < rows.length; i += INDEX_CHUNK) {
        const chunk = rows.slice(i, i + INDEX_CHUNK).map(([key, s, t]) => {
          const state = stateOf(s, t);
          counts[STATE_NAMES[state]]++;
          return { entity, key, source_hash: s, target_hash: t, state };
        });
        await qi.bulkInsert('parity_key_index', chunk, { transaction });
      }
      await this.keyCounts.upsert({ entity, ...counts }, { transaction });
    });
  }

  /**
   * Records what an incremental run read: each side's keys and hashes. A side read since its
   * watermark updates its keys, and the counts change by the difference (the work grows with
   * the changes, not with the entity). A side read in full (`complete`) replaces its keys, so
   * a key it no longer shows is gone from it; the counts are then taken anew.
   */
  async applyToKeyIndex(entity: string, read: Record<'source' | 'target', ReadonlyMap<string, string>>, complete: Record<'source' | 'target', boolean>): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      if (complete.source || complete.target) {
        for (const side of ['source', 'target'] as const) {
          const column = side === 'source' ? 'source_hash' : 'target_hash';
          if (complete[side]) await this.keyIndex.update({ [column]: null }, { where: { entity }, transaction });
          const entries = [...read[side]];
          for (let i = 0; i < entries.length; i += INDEX_CHUNK) {
            const chunk = entries.slice(i, i + INDEX_CHUNK).map(([key, hash]) => ({ entity, key, [column]: hash, state: 0 }));
            await this.keyIndex.bulkCreate(chunk, { updateOnDuplicate: [column], transaction });
          }
        }
        await this.keyIndex.destroy({ where: { entity, source_hash: null, target_hash: null }, transaction });
        await this.sequelize.query(
          `UPDATE parity_key_index SET state = CASE
             WHEN target_hash IS NULL THEN 1 WHEN source_hash IS NULL THEN 2 WHEN source_hash = target_hash THEN 0 ELSE 3 END
           WHERE entity = ?`,
          { replacements: [entity], transaction },
        );
        const rows = (await this.sequelize.query('SELECT state, COUNT(*) AS n FROM parity_key_index WHERE entity = ? GROUP BY state', {
          replacements: [entity],
          type: QueryTypes.SELECT,
          transaction,
        })) as { state: number | string; n: number | string }[];
        const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
        for (const r of rows) counts[STATE_NAMES[Number(r.state) as State]] = Number(r.n);
        await this.keyCounts.upsert({ entity, ...counts }, { transaction });
        return;
      }
      const touched = [...new Set([...read.source.keys(), ...read.target.keys()])];
      const counts = (await this.keyCounts.findByPk(entity, { transaction }))?.get({ plain: true }) as IndexCounts | undefined;
      const delta: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
      for (let i = 0; i < touched.length; i += INDEX_CHUNK) {
        const keys = touched.slice(i, i + INDEX_CHUNK);
        const old = new Map(
          (await this.keyIndex.findAll({ where: { entity, key: keys }, attributes: ['key', 'source_hash', 'target_hash', 'state'], transaction })).map((r) => [
            r.get('key') as string,
            { s: r.get('source_hash') as string | null, t: r.get('target_hash') as string | null, state: Number(r.get('state')) as State },
          ]),
        );
        const rows = keys.map((key) => {
          const before = old.get(key);
          const s = read.source.get(key) ?? before?.s ?? null;
          const t = read.target.get(key) ?? before?.t ?? null;
          const state = stateOf(s, t);
          if (before) delta[STATE_NAMES[before.state]]--;
          delta[STATE_NAMES[state]]++;
          return { entity, key, source_hash: s, target_hash: t, state };
        });
        await this.keyIndex.bulkCreate(rows, { updateOnDuplicate: ['source_hash', 'target_hash', 'state'], transaction });
      }
      const base = { matched: Number(counts?.matched ?? 0), missing: Number(counts?.missing ?? 0), extra: Number(counts?.extra ?? 0), changed: Number(counts?.changed ?? 0) };
      await this.keyCounts.upsert(
        { entity, matched: base.matched + delta.matched, missing: base.missing + delta.missing, extra: base.extra + delta.extra, changed: base.changed + delta.changed },
        { transaction },
      );
    });
  }

  /** The entity's counts from the index: what a full comparison would find now. */
  async keyIndexCounts(entity: string): Promise<{ matched: number; missing: number; extra: number; changed: number; source: number; target: number }> {
    const row = (await this.keyCounts.findByPk(entity))?.get({ plain: true }) as IndexCounts | undefined;
    const c = { matched: Number(row?.matched ?? 0), missing: Number(row?.missing ?? 0), extra: Number(row?.extra ?? 0), changed: Number(row?.changed ?? 0) };
    return { ...c, source: c.matched + c.missing + c.changed, target: c.matched + c.extra + c.changed };
  }

  /** The first keys, in key order, of one kind of difference. */
  async keyIndexSample(entity: string, kind: 'missing' | 'extra' | 'changed', limit: number): Promise<string[]> {
    const state = kind === 'missing' ? 1 : kind === 'extra' ? 2 : 3;
    const rows = await this.keyIndex.findAll({ where: { entity, state }, attributes: ['key'], order: [['key', 'ASC']], limit });
    return rows.map((r) => r.get('key') as string);
  }

  // ---- The outbox and the sync ledger (the push stage's Outbox) ----

  async pending(entity: string): Promise<OutboxBatch[]> {
    const rows = await this.outbox.findAll({ where: { entity, status: 'pending' }, order: [['created_at', 'ASC'], ['batch_id', 'ASC']] });
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

  async pendingCount(): Promise<number> {
    return this.outbox.count({ where: { status: 'pending' } });
  }

  async add(batch: OutboxBatch): Promise<void> {
    await this.addAll([batch]);
  }

  async addAll(batches: readonly OutboxBatch[]): Promise<void> {
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
    await this.serial(() =>
      this.sequelize.transaction(async (transaction) => {
        for (let i = 0; i < rows.length; i += OUTBOX_CHUNK) await this.outbox.bulkCreate(rows.slice(i, i + OUTBOX_CHUNK), { transaction });
      }),
    );
  }

  async complete(batch: OutboxBatch, outcomes: readonly RecordOutcome[], runId: string): Promise<void> {
    const now = new Date();
    await this.serial(() => this.sequelize.transaction(async (transaction) => {
      const rows = outcomes
        .filter((o) => o.localId !== '')
        .map((o) => ({ entity: batch.entity, local_id: o.localId, hash: o.hash, status: o.status, remote_id: o.remoteId ?? null, error: o.error ?? null, run_id: runId, pushed_at: now }));
      for (let i = 0; i < rows.length; i += INDEX_CHUNK) {
        await this.ledger.bulkCreate(rows.slice(i, i + INDEX_CHUNK), { updateOnDuplicate: ['hash', 'status', 'remote_id', 'error', 'run_id', 'pushed_at'], transaction });
      }
      await this.outbox.update({ status: 'done', attempts: batch.attempts + 1, last_error: null, updated_at: now }, { where: { batch_id: batch.batchId }, transaction });
    }));
  }

  async retryLater(batch: OutboxBatch, error: string, notBefore: Date | null): Promise<void> {
    await this.serial(() => this.outbox.update({ attempts: batch.attempts + 1, last_error: error, not_before: notBefore, updated_at: new Date() }, { where: { batch_id: batch.batchId } }));
  }

  async quarantine(batch: OutboxBatch, reason: string): Promise<void> {
    await this.serial(() => this.outbox.update({ status: 'quarantined', attempts: batch.attempts + 1, last_error: reason, updated_at: new Date() }, { where: { batch_id: batch.batchId } }));
  }

  async rejected(entity: string): Promise<Map<string, string>> {
    const rows = await this.ledger.findAll({ where: { entity, status: 'rejected' }, attributes: ['local_id', 'hash'] });
    return new Map(rows.map((r) => [r.get('local_id') as string, (r.get('hash') as string | null) ?? '']));
  }

  /** The source count of the entity in the last completed, non-dry run that read it, or null. */
  async lastSourceCount(entity: string): Promise<number | null> {
    const rows = await this.entityRuns.findAll({
      where: { entity, outcome: ['synced', 'in-sync', 'report-only', 'deferred', 'blocked'] },
      order: [['id', 'DESC']],
      limit: 20,
    });
    for (const row of rows) {
      const run = await this.runs.findByPk(row.get('run_id') as string);
      if (run && run.get('status') === 'completed' && !run.get('dry_run')) return Number(row.get('source_count'));
    }
    return null;
  }

  /** When the last completed, non-dry run started, or null. */
  async lastCompletedRunStart(): Promise<Date | null> {
    const row = await this.runs.findOne({ where: { status: 'completed', dry_run: false }, order: [['started_at', 'DESC']] });
    return row ? new Date(row.get('started_at') as Date) : null;
  }

  async listRuns(limit = 20): Promise<RunRow[]> {
    const rows = await this.runs.findAll({ order: [['started_at', 'DESC']], limit });
    return rows.map(toRunRow);
  }

  async getRun(id: string): Promise<{ run: RunRow; entities: EntityRunRow[] } | null> {
    const row = await this.runs.findByPk(id);
    if (!row) return null;
    const entities = await this.entityRuns.findAll({ where: { run_id: id }, order: [['id', 'ASC']] });
    return { run: toRunRow(row), entities: entities.map(toEntityRunRow) };
  }

  async close(): Promise<void> {
    await this.sequelize.close();
  }
}

/**
 * Applies pending migrations. On a shared PostgreSQL or MySQL store several agents may start
 * at once: the migrations run on one connection that holds a database lock meanwhile, so one
 * agent migrates and the others find the work done.
 */
async function migrate(target: SqlTarget, sequelize: Sequelize): Promise<void> {
  const run = (db: Sequelize) =>
    new Umzug({ migrations, context: db.getQueryInterface(), storage: new SequelizeStorage({ sequelize: db, tableName: 'parity_migrations' }), logger: undefined }).up();
  if (target.dialect === 'sqlite') {
    await run(sequelize);
    return;
  }
  const single = await openSequelize(target, { poolMax: 1 });
  try {
    if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_lock(hashtext('parity_migrations'))");
    else await single.query("SELECT GET_LOCK('parity_migrations', 60)");
    await run(single);
  } finally {
    if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_unlock(hashtext('parity_migrations'))").catch(() => undefined);
    else await single.query("SELECT RELEASE_LOCK('parity_migrations')").catch(() => undefined);
    await single.close();
  }
}

function describeUrl(url: string): string {
  try {
    return parseDatabaseUrl(url, '.').display;
  } catch {
    return '(invalid url)';
  }
}

function runStats(report: RunReport): Record<string, unknown> {
  const outcomes: Record<string, number> = {};
  for (const e of report.entities) outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
  return { entities: report.entities.length, outcomes, overallMatch: report.health.overallMatch };
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

// parity's tables as Sequelize models (the migrations in migrations.ts create them), and the
// handle every part of the store works with.
import { DataTypes, type Model, type ModelStatic, type Sequelize } from 'sequelize';

export type Row = Model<Record<string, unknown>>;

export interface StoreModels {
  sequelize: Sequelize;
  runs: ModelStatic<Row>;
  entityRuns: ModelStatic<Row>;
  watermarks: ModelStatic<Row>;
  keyIndex: ModelStatic<Row>;
  keyCounts: ModelStatic<Row>;
  outbox: ModelStatic<Row>;
  ledger: ModelStatic<Row>;
  leases: ModelStatic<Row>;
  runRecords: ModelStatic<Row>;
  attachments: ModelStatic<Row>;
  segmentJobs: ModelStatic<Row>;
  segments: ModelStatic<Row>;
  /** Outbox writes go one at a time (see outbox.ts): the tail of that queue. */
  writing: Promise<unknown>;
}

export function defineModels(sequelize: Sequelize): StoreModels {
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
      log_file: DataTypes.STRING(1024),
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
  const runRecords = sequelize.define<Row>(
    'RunRecord',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      run_id: DataTypes.STRING(64),
      entity: DataTypes.STRING(128),
      side: DataTypes.STRING(16),
      key: DataTypes.STRING(512),
      status: DataTypes.STRING(16),
      reason: DataTypes.TEXT,
    },
    { tableName: 'parity_run_records', timestamps: false },
  );
  const attachments = sequelize.define<Row>(
    'Attachment',
    {
      url_hash: { type: DataTypes.STRING(64), primaryKey: true },
      etag: DataTypes.STRING(512),
      last_modified: DataTypes.STRING(64),
      digest: DataTypes.STRING(80),
      bytes: DataTypes.BIGINT,
      checked_at: DataTypes.DATE(3),
    },
    { tableName: 'parity_attachments', timestamps: false },
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
  const segmentJobs = sequelize.define<Row>(
    'SegmentJob',
    {
      id: { type: DataTypes.STRING(64), primaryKey: true },
      entity: DataTypes.STRING(128),
      fingerprint: DataTypes.STRING(64),
      leader: DataTypes.STRING(160),
      status: DataTypes.STRING(16),
      parts: DataTypes.INTEGER,
      created_at: DataTypes.DATE(3),
      heartbeat_at: DataTypes.DATE(3),
      finished_at: DataTypes.DATE(3),
    },
    { tableName: 'parity_segment_jobs', timestamps: false },
  );
  const segments = sequelize.define<Row>(
    'Segment',
    {
      job_id: { type: DataTypes.STRING(64), primaryKey: true },
      idx: { type: DataTypes.INTEGER, primaryKey: true },
      bounds: DataTypes.TEXT,
      status: DataTypes.STRING(16),
      holder: DataTypes.STRING(160),
      expires_at: DataTypes.DATE(3),
      attempts: DataTypes.INTEGER,
      result: DataTypes.TEXT,
      done_by: DataTypes.STRING(160),
      done_at: DataTypes.DATE(3),
    },
    { tableName: 'parity_segments', timestamps: false },
  );
  return { sequelize, runs, entityRuns, watermarks, keyIndex, keyCounts, outbox, ledger, leases, runRecords, attachments, segmentJobs, segments, writing: Promise.resolve() };
}

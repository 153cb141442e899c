// Versioned schema changes of the state store, applied in order by umzug at open.
// Never edit a released migration: add a new one.
import { DataTypes, type QueryInterface } from 'sequelize';

export interface Migration {
  name: string;
  up: (params: { context: QueryInterface }) => Promise<void>;
  down: (params: { context: QueryInterface }) => Promise<void>;
}

export const migrations: Migration[] = [
  {
    name: '0001-runs',
    async up({ context: qi }) {
      await qi.createTable('parity_runs', {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        status: { type: DataTypes.STRING(16), allowNull: false },
        mode: { type: DataTypes.STRING(16), allowNull: false },
        trigger: { type: DataTypes.STRING(16), allowNull: false },
        dry_run: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        started_at: { type: DataTypes.DATE(3), allowNull: false },
        finished_at: { type: DataTypes.DATE(3), allowNull: true },
        duration_ms: { type: DataTypes.INTEGER, allowNull: true },
        health_score: { type: DataTypes.DOUBLE, allowNull: true },
        health_status: { type: DataTypes.STRING(16), allowNull: true },
        stats: { type: DataTypes.TEXT, allowNull: true },
        error: { type: DataTypes.TEXT, allowNull: true },
      });
      await qi.addIndex('parity_runs', ['started_at'], { name: 'parity_runs_started_at' });
      await qi.createTable('parity_entity_runs', {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        run_id: { type: DataTypes.STRING(64), allowNull: false, references: { model: 'parity_runs', key: 'id' }, onDelete: 'CASCADE' },
        entity: { type: DataTypes.STRING(128), allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        outcome: { type: DataTypes.STRING(16), allowNull: false },
        match: { type: DataTypes.DOUBLE, allowNull: false },
        source_count: { type: DataTypes.INTEGER, allowNull: false },
        target_count: { type: DataTypes.INTEGER, allowNull: false },
        diff: { type: DataTypes.TEXT, allowNull: false },
        tripped: { type: DataTypes.TEXT, allowNull: false },
        error: { type: DataTypes.TEXT, allowNull: true },
        duration_ms: { type: DataTypes.INTEGER, allowNull: false },
      });
      await qi.addIndex('parity_entity_runs', ['run_id'], { name: 'parity_entity_runs_run_id' });
      await qi.addIndex('parity_entity_runs', ['entity', 'run_id'], { name: 'parity_entity_runs_entity' });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_entity_runs');
      await qi.dropTable('parity_runs');
    },
  },
  {
    name: '0002-watermarks',
    async up({ context: qi }) {
      await qi.createTable('parity_watermarks', {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        side: { type: DataTypes.STRING(16), primaryKey: true },
        value: { type: DataTypes.STRING(255), allowNull: false },
        run_id: { type: DataTypes.STRING(64), allowNull: false },
        updated_at: { type: DataTypes.DATE(3), allowNull: false },
      });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_watermarks');
    },
  },
  {
    name: '0003-key-index',
    async up({ context: qi }) {
      // Per entity, each key's last seen content hash on each side (null: absent there), and
      // its state (0 matched, 1 missing in the target, 2 extra in the target, 3 changed).
      await qi.createTable('parity_key_index', {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        key: { type: DataTypes.STRING(512), primaryKey: true },
        source_hash: { type: DataTypes.STRING(64), allowNull: true },
        target_hash: { type: DataTypes.STRING(64), allowNull: true },
        state: { type: DataTypes.SMALLINT, allowNull: false },
      });
      await qi.addIndex('parity_key_index', ['entity', 'state', 'key'], { name: 'parity_key_index_state' });
      // The counts per state, kept with the index so an incremental run need not count it.
      await qi.createTable('parity_key_counts', {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        matched: { type: DataTypes.INTEGER, allowNull: false },
        missing: { type: DataTypes.INTEGER, allowNull: false },
        extra: { type: DataTypes.INTEGER, allowNull: false },
        changed: { type: DataTypes.INTEGER, allowNull: false },
      });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_key_counts');
      await qi.dropTable('parity_key_index');
    },
  },
  {
    name: '0004-outbox-ledger',
    async up({ context: qi }) {
      // Batches written before they are sent; done only once the answer is recorded.
      await qi.createTable('parity_outbox', {
        batch_id: { type: DataTypes.STRING(64), primaryKey: true },
        entity: { type: DataTypes.STRING(128), allowNull: false },
        system: { type: DataTypes.STRING(128), allowNull: false },
        idempotency_key: { type: DataTypes.STRING(64), allowNull: false },
        // LONGTEXT on MySQL/MariaDB (TEXT stops at 64 KB); plain TEXT elsewhere.
        payload: { type: qi.sequelize.getDialect() === 'mysql' ? DataTypes.TEXT('long') : DataTypes.TEXT, allowNull: false },
        records: { type: DataTypes.INTEGER, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false },
        not_before: { type: DataTypes.DATE(3), allowNull: true },
        last_error: { type: DataTypes.TEXT, allowNull: true },
        created_at: { type: DataTypes.DATE(3), allowNull: false },
        updated_at: { type: DataTypes.DATE(3), allowNull: false },
      });
      await qi.addIndex('parity_outbox', ['entity', 'status', 'created_at'], { name: 'parity_outbox_pending' });
      // What the target last answered for each record.
      await qi.createTable('parity_ledger', {
        entity: { type: DataTypes.STRING(128), primaryKey: true },
        local_id: { type: DataTypes.STRING(512), primaryKey: true },
        hash: { type: DataTypes.STRING(64), allowNull: true },
        status: { type: DataTypes.STRING(16), allowNull: false },
        remote_id: { type: DataTypes.STRING(255), allowNull: true },
        error: { type: DataTypes.TEXT, allowNull: true },
        run_id: { type: DataTypes.STRING(64), allowNull: false },
        pushed_at: { type: DataTypes.DATE(3), allowNull: false },
      });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_ledger');
      await qi.dropTable('parity_outbox');
    },
  },
  {
    name: '0005-leases',
    async up({ context: qi }) {
      // Per-entity leases, so agents sharing one state store never run an entity at once.
      await qi.createTable('parity_leases', {
        name: { type: DataTypes.STRING(160), primaryKey: true },
        holder: { type: DataTypes.STRING(160), allowNull: false },
        expires_at: { type: DataTypes.DATE(3), allowNull: false },
      });
      // When each entity's part of a run began and ended, and which agent ran it.
      // Plain SQL: Sequelize's addColumn names PostgreSQL's "public" schema outright, which
      // would miss a store whose search_path points elsewhere.
      const time = { postgres: 'TIMESTAMP(3) WITH TIME ZONE', mysql: 'DATETIME(3)' }[qi.sequelize.getDialect()] ?? 'DATETIME';
      await qi.sequelize.query(`ALTER TABLE parity_entity_runs ADD COLUMN started_at ${time} NULL`);
      await qi.sequelize.query(`ALTER TABLE parity_entity_runs ADD COLUMN finished_at ${time} NULL`);
      await qi.sequelize.query('ALTER TABLE parity_runs ADD COLUMN holder VARCHAR(160) NULL');
    },
    async down({ context: qi }) {
      await qi.sequelize.query('ALTER TABLE parity_runs DROP COLUMN holder');
      await qi.sequelize.query('ALTER TABLE parity_entity_runs DROP COLUMN finished_at');
      await qi.sequelize.query('ALTER TABLE parity_entity_runs DROP COLUMN started_at');
      await qi.dropTable('parity_leases');
    },
  },
  {
    name: '0006-log-files-and-run-records',
    async up({ context: qi }) {
      // The log file each run wrote to (config `logs`), and per run the records that were
      // rejected, quarantined, invalid or still differing after the push, with the reason.
      await qi.sequelize.query('ALTER TABLE parity_runs ADD COLUMN log_file VARCHAR(1024) NULL');
      await qi.createTable('parity_run_records', {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        run_id: { type: DataTypes.STRING(64), allowNull: false },
        entity: { type: DataTypes.STRING(128), allowNull: false },
        side: { type: DataTypes.STRING(16), allowNull: false },
        key: { type: DataTypes.STRING(512), allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        reason: { type: DataTypes.TEXT, allowNull: true },
      });
      await qi.addIndex('parity_run_records', ['run_id', 'status', 'id'], { name: 'parity_run_records_run' });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_run_records');
      await qi.sequelize.query('ALTER TABLE parity_runs DROP COLUMN log_file');
    },
  },
  {
    name: '0007-attachment-cache',
    async up({ context: qi }) {
      // What each attachment URL held when it was last hashed, by the URL's hash (a signed
      // URL's query is never stored), with the validators that let a later run ask the
      // server whether it changed (ETag, Last-Modified).
      await qi.createTable('parity_attachments', {
        url_hash: { type: DataTypes.STRING(64), primaryKey: true },
        etag: { type: DataTypes.STRING(512), allowNull: true },
        last_modified: { type: DataTypes.STRING(64), allowNull: true },
        digest: { type: DataTypes.STRING(80), allowNull: false },
        bytes: { type: DataTypes.BIGINT, allowNull: false },
        checked_at: { type: DataTypes.DATE(3), allowNull: false },
      });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_attachments');
    },
  },
  {
    name: '0008-content-hash-xxh64',
    async up({ context: qi }) {
      // Content hashes are xxHash64 of the compared values now (they were a truncated SHA-256
      // of their JSON): the key index's hashes would all read as changed. It is emptied, so
      // the next run of each entity reads in full and builds it again.
      await qi.bulkDelete('parity_key_index', {});
      await qi.bulkDelete('parity_key_counts', {});
    },
    async down() {
      // The old hashes cannot be computed back: the next run rebuilds the index either way.
    },
  },
  {
    name: '0009-shared-segments',
    async up({ context: qi }) {
      // Bisection's top-level segments as units of work that agents sharing the store lease
      // one at a time (see segment-table.ts): a job per entity run, a row per segment.
      await qi.createTable('parity_segment_jobs', {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        entity: { type: DataTypes.STRING(128), allowNull: false },
        fingerprint: { type: DataTypes.STRING(64), allowNull: false },
        leader: { type: DataTypes.STRING(160), allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        parts: { type: DataTypes.INTEGER, allowNull: false },
        created_at: { type: DataTypes.DATE(3), allowNull: false },
        heartbeat_at: { type: DataTypes.DATE(3), allowNull: false },
        finished_at: { type: DataTypes.DATE(3), allowNull: true },
      });
      await qi.addIndex('parity_segment_jobs', ['entity', 'status'], { name: 'parity_segment_jobs_entity' });
      await qi.createTable('parity_segments', {
        job_id: { type: DataTypes.STRING(64), primaryKey: true },
        idx: { type: DataTypes.INTEGER, primaryKey: true },
        bounds: { type: DataTypes.TEXT, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        holder: { type: DataTypes.STRING(160), allowNull: true },
        expires_at: { type: DataTypes.DATE(3), allowNull: true },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        result: { type: DataTypes.TEXT, allowNull: true },
        done_by: { type: DataTypes.STRING(160), allowNull: true },
        done_at: { type: DataTypes.DATE(3), allowNull: true },
      });
    },
    async down({ context: qi }) {
      await qi.dropTable('parity_segments');
      await qi.dropTable('parity_segment_jobs');
    },
  },
];

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { describe, expect, inject, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { failedEntityReport, type RunReport } from '../../src/reconcile/report.js';
import { mariadbAvailable, mariadbDatabase, pgAvailable, pgSchema, PG_URL } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { migrations } from '../../src/agent/state/migrations.js';
import { MIGRATION_NAMES } from '../../src/agent/state/migration-names.js';
import { migratedSqliteSchema } from '../../src/agent/state/open.js';
import { SQLITE_SCHEMA } from '../../src/agent/state/sqlite-schema.js';

function report(runId: string, startedAt: Date): RunReport {
  const entity = failedEntityReport({ name: 'items', sourceSystem: 'erp', targetSystem: 'shop' }, 'failed', 'boom');
  return {
    schemaVersion: 1,
    runId,
    mode: 'full',
    dryRun: false,
    trigger: 'cli',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date(startedAt.getTime() + 1500).toISOString(),
    durationMs: 1500,
    health: { score: 0, status: 'critical', overallMatch: 100 },
    entities: [entity],
  };
}

async function lifecycle(store: StateStore) {
  const startedAt = new Date(Date.UTC(2026, 10, 22, 3, 0, 0));
  await store.startRun({ id: 'run-1', mode: 'full', trigger: 'cli', dryRun: false, startedAt });
  expect((await store.listRuns())[0]).toMatchObject({ id: 'run-1', status: 'running', finishedAt: null });
  const r = report('run-1', startedAt);
  await store.recordEntity('run-1', r.entities[0]!, 12.4);
  await store.finishRun('run-1', 'failed', r, 'failed: items');
  const stored = await store.getRun('run-1');
  expect(stored?.run).toMatchObject({ id: 'run-1', status: 'failed', durationMs: 1500, healthScore: 0, healthStatus: 'critical', error: 'failed: items' });
  expect(stored?.run.stats).toEqual({ entities: 1, outcomes: { failed: 1 }, overallMatch: 100 });
  expect(stored?.entities).toEqual([
    expect.objectContaining({ entity: 'items', outcome: 'failed', error: 'boom', durationMs: 12, diff: expect.objectContaining({ matched: 0 }) }),
  ]);
  expect(await store.getRun('nope')).toBeNull();
}

describe('state store on SQLite', () => {
  it('is created beside the config, in WAL mode, and migrated once', async () => {
    const dir = tempDir();
    const store = await StateStore.open('sqlite:.parity/state.db', dir);
    const file = path.join(dir, '.parity/state.db');
    expect(existsSync(file)).toBe(true);
    await lifecycle(store);
    await store.close();
    // Opening again applies nothing twice and keeps the history.
    const again = await StateStore.open('sqlite:.parity/state.db', dir);
    expect((await again.listRuns()).map((r) => r.id)).toEqual(['run-1']);
    await again.close();
    const raw = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
    const [mode] = (await raw.query('PRAGMA journal_mode')) as [{ journal_mode: string }[], unknown];
    const [migrations] = (await raw.query('SELECT name FROM parity_migrations')) as [{ name: string }[], unknown];
    await raw.close();
    expect(mode[0]!.journal_mode).toBe('wal');
    expect(migrations.map((m) => m.name)).toEqual(['0001-runs', '0002-watermarks', '0003-key-index', '0004-outbox-ledger', '0005-leases', '0006-log-files-and-run-records', '0007-attachment-cache', '0008-content-hash-xxh64', '0009-shared-segments']);
  });

  it('an in-memory store is migrated on the connection that then serves it', async () => {
    const store = await StateStore.open('sqlite::memory:', tempDir());
    await lifecycle(store);
    await store.close();
  });

  it('knows the same migrations by name as it applies', () => {
    expect(migrations.map((m) => m.name)).toEqual([...MIGRATION_NAMES]);
  });

  it('a new SQLite store is made as the migrations would make it', async () => {
    const dir = tempDir();
    const migrated = await migratedSqliteSchema(path.join(dir, 'migrated.db'));
    // After a new migration: `npx tsx scripts/sqlite-schema.ts` writes sqlite-schema.ts again.
    expect(SQLITE_SCHEMA, 'src/agent/state/sqlite-schema.ts is out of date: run npx tsx scripts/sqlite-schema.ts').toEqual(migrated);
    // The whole catalogue (SQLite's own indexes and sequence table too) and the list of applied migrations.
    const store = await StateStore.open('sqlite:new.db', dir);
    await store.close();
    const catalogue = async (file: string) => {
      const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, file), logging: false });
      const objects = await db.query('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name', { type: QueryTypes.SELECT });
      const applied = await db.query('SELECT name FROM parity_migrations ORDER BY name', { type: QueryTypes.SELECT });
      await db.close();
      return { objects, applied };
    };
    const made = await catalogue('new.db');
    expect(made).toEqual(await catalogue('migrated.db'));
    expect(made.objects.length).toBeGreaterThan(20);
  });

  it('an up-to-date SQLite store, a new one and one in memory open and work without loading Sequelize or umzug', () => {
    const dir = tempDir();
    // A child process: this one has Sequelize loaded by the tests themselves.
    const script = `
      import { createRequire } from 'node:module';
      const { StateStore } = await import(${JSON.stringify(path.join(inject('agentBuild'), 'agent/state/store.js'))});
      const cache = createRequire(import.meta.url).cache;
      const loaded = () => ['sequelize', 'umzug'].filter((p) => Object.keys(cache).some((k) => k.includes('/node_modules/' + p + '/')));
      const use = async () => {
        const store = await StateStore.open(process.argv[2] ?? 'sqlite:state.db', process.argv[1]);
        await store.startRun({ id: 'r' + Date.now(), mode: 'full', trigger: 'cli', dryRun: true, startedAt: new Date() });
        await store.acquireLease('e', 'me', 1000);
        await store.releaseLease('e', 'me');
        const runs = (await store.listRuns()).length;
        await store.close();
        return runs;
      };
      console.log(JSON.stringify([await use(), loaded()]));
    `;
    const run = (...url: string[]) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, dir, ...url], { encoding: 'utf8' })) as [number, string[]];
    expect(run()).toEqual([1, []]);
    expect(run()).toEqual([2, []]);
    expect(run('sqlite::memory:')).toEqual([1, []]);
  });

  it('a state URL it cannot use is a clear error', async () => {
    await expect(StateStore.open('oracle://x', '.')).rejects.toThrow(/state store \(invalid url\): unknown database scheme "oracle:"/);
  });
});

async function keyIndex(store: StateStore) {
  await store.replaceKeyIndex('items', [
    ['A', 'h1', 'h1'],
    ['B', 'h2', null],
    ['C', null, 'h3'],
    ['D', 'h4', 'h5'],
  ]);
  expect(await store.keyIndexCounts('items')).toEqual({ matched: 1, missing: 1, extra: 1, changed: 1, source: 3, target: 3 });
  // B arrives in the target, D is fixed, E is new in the source.
  await store.applyToKeyIndex('items', { source: new Map([['D', 'h5'], ['E', 'h6']]), target: new Map([['B', 'h2']]) }, { source: false, target: false });
  expect(await store.keyIndexCounts('items')).toEqual({ matched: 3, missing: 1, extra: 1, changed: 0, source: 4, target: 4 });
  expect(await store.keyIndexSample('items', 'missing', 5)).toEqual(['E']);
  // The target read in full shows only A and B: C and D are gone from it.
  await store.applyToKeyIndex('items', { source: new Map(), target: new Map([['A', 'h1'], ['B', 'h2']]) }, { source: false, target: true });
  expect(await store.keyIndexCounts('items')).toEqual({ matched: 2, missing: 2, extra: 0, changed: 0, source: 4, target: 2 });
  expect(await store.keyIndexSample('items', 'missing', 5)).toEqual(['D', 'E']);
}

/** Every other part of the store, as plain SQL must give it on each database. */
async function everyPart(store: StateStore) {
  // Leases: one holder at a time; a dead holder's lease can be taken; an expired one is free.
  expect(await store.acquireLease('e1', 'a', 60_000)).toBe(true);
  expect(await store.acquireLease('e1', 'b', 60_000)).toBe(false);
  expect(await store.acquireLease('e1', 'a', 60_000)).toBe(true);
  expect(await store.leaseHolder('e1')).toBe('a');
  expect(await store.renewLease('e1', 'b', 60_000)).toBe(false);
  expect(await store.takeLeaseFrom('e1', 'a', 'b', 60_000)).toBe(true);
  expect(await store.renewLease('e1', 'b', 1)).toBe(true);
  await new Promise((r) => setTimeout(r, 20));
  expect(await store.leaseHolder('e1')).toBeNull();
  expect(await store.acquireLease('e1', 'c', 60_000)).toBe(true);
  await store.releaseLease('e1', 'c');
  expect(await store.leaseHolder('e1')).toBeNull();

  // Watermarks: saved all at once, replaced by the next run's.
  await store.saveWatermarks('w1', [{ entity: 'items', side: 'source', value: '2026-01-01' }, { entity: 'items', side: 'target', value: '7' }]);
  await store.saveWatermarks('w2', [{ entity: 'items', side: 'source', value: '2026-02-01' }]);
  expect([await store.getWatermark('items', 'source'), await store.getWatermark('items', 'target'), await store.getWatermark('other', 'source')]).toEqual(['2026-02-01', '7', null]);

  // Runs: the last completed non-dry run, its source count, and a run whose holder died.
  const t0 = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  await store.startRun({ id: 'aaaa-1', mode: 'full', trigger: 'cli', dryRun: false, startedAt: t0, holder: 'gone@host' });
  const r = report('aaaa-1', t0);
  const synced = { ...r.entities[0]!, outcome: 'synced' as const, status: 'perfect' as const, error: null, source: { ...r.entities[0]!.source, count: 42 } };
  await store.recordEntity('aaaa-1', synced, 5);
  await store.finishRun('aaaa-1', 'completed', { ...r, entities: [synced] }, null);
  await store.startRun({ id: 'aaaa-2', mode: 'full', trigger: 'cli', dryRun: true, startedAt: new Date(t0.getTime() + 1000) });
  await store.startRun({ id: 'bbbb-3', mode: 'full', trigger: 'cli', dryRun: false, startedAt: new Date(t0.getTime() + 2000), holder: 'gone@host' });
  expect((await store.lastCompletedRunStart())?.toISOString()).toBe(t0.toISOString());
  expect(await store.lastSourceCount('items')).toBe(42);
  expect(await store.resolveRunId('aaaa')).toBe('ambiguous');
  expect(await store.resolveRunId('bbbb')).toBe('bbbb-3');
  expect(await store.markAbandoned('me@host', (h) => h === 'gone@host', 60_000)).toEqual(['bbbb-3']);
  expect((await store.getRun('bbbb-3'))?.run).toMatchObject({ status: 'abandoned', finishedAt: new Date(t0.getTime() + 2000) });

  // Run records: paged in order, counted by status, pruned with old runs.
  await store.addRunRecords('aaaa-1', Array.from({ length: 5 }, (_, i) => ({ entity: 'items', side: 'source' as const, key: `K${i}`, status: i % 2 ? ('invalid' as const) : ('differing' as const), reason: i === 0 ? 'x'.repeat(3000) : null })));
  const first = await store.runRecords('aaaa-1', { limit: 2 });
  expect(first.records.map((x) => x.key)).toEqual(['K0', 'K1']);
  expect(first.records[0]!.reason).toHaveLength(2000);
  expect((await store.runRecords('aaaa-1', { after: first.next!, status: 'differing' })).records.map((x) => x.key)).toEqual(['K2', 'K4']);
  expect(await store.runRecordCounts('aaaa-1')).toEqual({ differing: 3, invalid: 2 });
  expect(await store.pruneRunRecords(t0)).toBe(0);
  expect(await store.pruneRunRecords(new Date(t0.getTime() + 1))).toBe(5);

  // Outbox and ledger: pending in order, completed, retried, quarantined, refused versions.
  const batch = (id: string, records: object[]) => ({ batchId: id, entity: 'items', system: 'shop', idempotencyKey: `k-${id}`, payload: JSON.stringify({ records }), records: records.length, attempts: 0, notBefore: null });
  const [b1, b2, b3] = [batch('b1', [{ localId: 'L1', op: 'upsert', hash: 'h1' }]), batch('b2', [{ localId: 'L2', op: 'upsert', hash: 'h2' }]), batch('b3', [{ localId: 'L3', op: 'upsert', hash: 'h3' }])];
  await store.addAll([b1, b2, b3]);
  expect((await store.pending('items')).map((b) => b.batchId)).toEqual(['b1', 'b2', 'b3']);
  await store.complete(b1, [{ localId: 'L1', status: 'created', hash: 'h1', remoteId: 'R1' }, { localId: 'L9', status: 'rejected', hash: 'h9', error: 'no' }], 'aaaa-1');
  await store.complete(b1, [{ localId: 'L1', status: 'updated', hash: 'h1b', remoteId: 'R1b' }], 'aaaa-1');
  const later = new Date(Date.now() + 60_000);
  await store.retryLater(b2, 'timeout', later);
  await store.quarantine(b3, 'refused whole');
  const pending = await store.pending('items');
  expect(pending).toEqual([{ ...b2, attempts: 1, notBefore: later }]);
  expect(await store.pendingCount()).toBe(1);
  expect(await store.remoteIds('items', ['L1', 'L9', 'L0'])).toEqual(new Map([['L1', 'R1b']]));
  expect(await store.rejected('items')).toEqual(new Map([['L9', 'h9'], ['L3', 'h3']]));

  // The attachment cache: replaced on a second write.
  await store.cacheAttachments([{ urlHash: 'u1', etag: '"e1"', lastModified: null, digest: 'sha256:1', bytes: 10 }]);
  await store.cacheAttachments([{ urlHash: 'u1', etag: '"e2"', lastModified: 'Mon', digest: 'sha256:2', bytes: 5_000_000_000 }, { urlHash: 'u2', etag: null, lastModified: null, digest: 'sha256:3', bytes: 0 }]);
  expect(await store.cachedAttachments(['u1', 'u2', 'u3'])).toEqual(
    new Map([
      ['u1', { urlHash: 'u1', etag: '"e2"', lastModified: 'Mon', digest: 'sha256:2', bytes: 5_000_000_000 }],
      ['u2', { urlHash: 'u2', etag: null, lastModified: null, digest: 'sha256:3', bytes: 0 }],
    ]),
  );
}

/** A store one migration behind (as an earlier version left it) gets that migration at open. */
async function upgrade(url: string, raw: Sequelize, prefix = '') {
  await (await StateStore.open(url, '.')).close();
  await raw.query(`DROP TABLE ${prefix}parity_segments`);
  await raw.query(`DROP TABLE ${prefix}parity_segment_jobs`);
  await raw.query(`DELETE FROM ${prefix}parity_migrations WHERE name = '0009-shared-segments'`);
  const store = await StateStore.open(url, '.');
  try {
    const job = await store.createSegmentJob('items', 'fp', 'me', ['[0,10)', '[10,20)']);
    expect(await store.segmentCounts(job.id)).toEqual({ free: 2, taken: 0, done: 0 });
  } finally {
    await store.close();
  }
  const [rows] = (await raw.query(`SELECT name FROM ${prefix}parity_migrations ORDER BY name`)) as [{ name: string }[], unknown];
  expect(rows.map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
}

describe('the key index', () => {
  it('keeps counts by the difference, and replaces a side read in full (SQLite)', async () => {
    const store = await StateStore.open('sqlite:ki.db', tempDir());
    await keyIndex(store);
    await store.close();
  });
});

describe('a store from an earlier version', () => {
  it('gets the migrations it lacks when it is opened (SQLite)', async () => {
    const dir = tempDir();
    const raw = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'old.db'), logging: false });
    try {
      await upgrade(`sqlite:${path.join(dir, 'old.db')}`, raw);
    } finally {
      await raw.close();
    }
  });
});

describe('the rest of the store', () => {
  it('leases, watermarks, runs, run records, the outbox, the ledger and the attachment cache (SQLite)', async () => {
    const store = await StateStore.open('sqlite:all.db', tempDir());
    await everyPart(store);
    await store.close();
  });
});

describe.skipIf(!mariadbAvailable)('[mariadb] state store on MariaDB', () => {
  it('keeps run history, the key index and every other part', async () => {
    const m = await mariadbDatabase();
    try {
      const store = await StateStore.open(m.url, '.');
      await lifecycle(store);
      await keyIndex(store);
      await everyPart(store);
      await store.close();
      await upgrade(m.url, m.db);
    } finally {
      await m.drop();
    }
  });
});

describe.skipIf(!pgAvailable)('[postgres] state store on PostgreSQL', () => {
  it('keeps run history, the key index and every other part in a shared database', async () => {
    const pg = await pgSchema();
    // Each test gets its own schema: point the connection's search_path at it.
    const url = `${PG_URL}?options=-c%20search_path%3D${pg.schema}`;
    try {
      const store = await StateStore.open(url, '.');
      await lifecycle(store);
      await keyIndex(store);
      await everyPart(store);
      await store.close();
      await upgrade(url, pg.db, `${pg.schema}.`);
      const tables = (await pg.db.query(`SELECT t.table_name AS name FROM information_schema.tables t WHERE t.table_schema = '${pg.schema}' ORDER BY 1`, { type: QueryTypes.SELECT })) as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(['parity_attachments', 'parity_entity_runs', 'parity_key_counts', 'parity_key_index', 'parity_leases', 'parity_ledger', 'parity_migrations', 'parity_outbox', 'parity_run_records', 'parity_runs', 'parity_segment_jobs', 'parity_segments', 'parity_watermarks']);
    } finally {
      await pg.drop();
    }
  });
});

describe('a state store that refuses to lose history', () => {
  const dir = tempDir();
  const config = (state: string) => `version: 1\nstate: "sqlite:${state}"\nsystems: { a: { type: csv, path: a.csv } }\nentities: { items: { key: [id], source: { system: a }, target: { system: a } } }\n`;

  it('an empty file, a file that is not SQLite and another program\'s database each exit 2 and are left byte for byte', async () => {
    writeFileSync(path.join(dir, 'a.csv'), 'id,qty\n1,2\n');
    writeFileSync(path.join(dir, 'empty.db'), '');
    writeFileSync(path.join(dir, 'garbage.db'), randomBytes(8192));
    const foreign = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'foreign.db'), logging: false });
    await foreign.query('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)');
    await foreign.query('INSERT INTO invoices VALUES (1, 9.5)');
    await foreign.close();
    const cases = { 'empty.db': 'is empty \\(0 bytes\\)', 'garbage.db': 'is not a SQLite database', 'foreign.db': 'is a SQLite database but not a parity state store \\(it has no parity_migrations table\\)' };
    const before = Object.fromEntries(Object.keys(cases).map((f) => [f, readFileSync(path.join(dir, f))]));
    const results = await Promise.all(
      Object.keys(cases).map((f) => {
        writeFileSync(path.join(dir, `${f}.yaml`), config(f));
        return runCli(['run', '--config', path.join(dir, `${f}.yaml`)]);
      }),
    );
    Object.entries(cases).forEach(([file, why], i) => {
      const r = results[i]!;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^parity: state store sqlite:${file.replace('.', '\\.')} \\(PARITY_STATE_INVALID\\): .*${file.replace('.', '\\.')} ${why}\\. parity does not re-create it`));
      expect(readFileSync(path.join(dir, file)).equals(before[file]!), file).toBe(true);
      expect(existsSync(path.join(dir, `${file}-wal`)), file).toBe(false);
    });
  });

  it('processes that create a new store at the same moment all open it (none sees it empty)', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => StateStore.open('sqlite:fresh/state.db', dir)));
    await stores[0]!.startRun({ id: 'r1', mode: 'full', trigger: 'cli', dryRun: false, startedAt: new Date() });
    for (const store of stores) expect((await store.listRuns()).map((r) => r.id)).toEqual(['r1']);
    await Promise.all(stores.map((store) => store.close()));
    expect(readdirSync(path.join(dir, 'fresh')).filter((f) => f.includes('.new-'))).toEqual([]);
  });

  it('a database error inside the store says that it is the state store', async () => {
    const store = await StateStore.open('sqlite:broken.db', dir);
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'broken.db'), logging: false });
    await db.query('DROP TABLE parity_runs');
    await db.close();
    try {
      await expect(store.listRuns()).rejects.toThrow(/^state store sqlite:broken\.db: SQLITE_ERROR: no such table: parity_runs$/);
    } finally {
      await store.close();
    }
  });
});

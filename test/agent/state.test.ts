import { existsSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { failedEntityReport, type RunReport } from '../../src/reconcile/report.js';
import { mariadbAvailable, mariadbDatabase, pgAvailable, pgSchema, PG_URL } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

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
    expect(migrations.map((m) => m.name)).toEqual(['0001-runs', '0002-watermarks', '0003-key-index', '0004-outbox-ledger', '0005-leases']);
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

describe('the key index', () => {
  it('keeps counts by the difference, and replaces a side read in full (SQLite)', async () => {
    const store = await StateStore.open('sqlite:ki.db', tempDir());
    await keyIndex(store);
    await store.close();
  });
});

describe.skipIf(!mariadbAvailable)('[mariadb] state store on MariaDB', () => {
  it('keeps run history and the key index', async () => {
    const m = await mariadbDatabase();
    try {
      const store = await StateStore.open(m.url, '.');
      await lifecycle(store);
      await keyIndex(store);
      await store.close();
    } finally {
      await m.drop();
    }
  });
});

describe.skipIf(!pgAvailable)('[postgres] state store on PostgreSQL', () => {
  it('keeps run history in a shared database', async () => {
    const pg = await pgSchema();
    // Each test gets its own schema: point the connection's search_path at it.
    const url = `${PG_URL}?options=-c%20search_path%3D${pg.schema}`;
    try {
      const store = await StateStore.open(url, '.');
      await lifecycle(store);
      await keyIndex(store);
      await store.close();
      const tables = (await pg.db.query(`SELECT t.table_name AS name FROM information_schema.tables t WHERE t.table_schema = '${pg.schema}' ORDER BY 1`, { type: QueryTypes.SELECT })) as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(['parity_entity_runs', 'parity_key_counts', 'parity_key_index', 'parity_leases', 'parity_ledger', 'parity_migrations', 'parity_outbox', 'parity_runs', 'parity_watermarks']);
    } finally {
      await pg.drop();
    }
  });
});

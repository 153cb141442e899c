// The run orchestrator in-process: the two sides are kept in step, so an entity whose sides
// arrive in the same key order is joined in bounded memory, whatever their speeds.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { createLogger, silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { prng } from '../../examples/demo/data.js';
import { tempDir } from '../helpers/tmp.js';
import { expectValidReport } from '../helpers/report-schema.js';

const dir = tempDir();
const N = 3000;
let receiver: Receiver;
let url = '';

beforeAll(async () => {
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await db.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
  const rows = Array.from({ length: N }, (_, i) => [`S${String(i).padStart(5, '0')}`, i]);
  for (let i = 0; i < N; i += 500) await db.query(`INSERT INTO items VALUES ${rows.slice(i, i + 500).map(() => '(?, ?)').join(', ')}`, { replacements: rows.slice(i, i + 500).flat() });
  await db.close();
  receiver = await createReceiver();
  await receiver.seed('items', rows.map(([sku, qty]) => ({ localId: String(sku), data: { sku, qty } })));
  ({ url } = await receiver.listen(0));
  const rnd = prng(8);
  const shuffled = [...rows].sort(() => rnd() - 0.5);
  writeFileSync(path.join(dir, 'items.csv'), `sku,qty\n${shuffled.map((r) => r.join(',')).join('\n')}\n`);
});
afterAll(() => receiver.close());

/** What the last runWith logged, a JSON object a line. */
let logged: Record<string, unknown>[] = [];

async function runWith(target: string, compactAbove?: number) {
  writeFileSync(
    path.join(dir, 'parity.yaml'),
    `version: 1
state: sqlite:state.db
systems:
  erp: { type: sql, url: "sqlite:erp.db", pageSize: 100 }
  shop: { type: http, baseUrl: "${url}" }
  file: { type: csv, path: items.csv }
entities:
  items:
    key: [sku]
    source: { system: erp, table: items, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target: ${target}
`,
  );
  const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
  const store = await StateStore.open('sqlite:state.db', dir);
  try {
    logged = [];
    const logger = createLogger({ level: 'info', write: (line) => logged.push(JSON.parse(line) as Record<string, unknown>) });
    const { report } = await runOnce(loaded, store, { logger, maxAhead: 150, compactAbove });
    expectValidReport(report);
    return report.entities[0]!;
  } finally {
    await store.close();
  }
}

describe('keeping the sides in step', () => {
  it('merges sides that arrive in the same key order, holding few records, though SQL reads faster', async () => {
    const e = await runWith('{ system: shop, path: /items, list: items, pagination: { type: page, size: 40, hasMore: has_more }, fields: { sku: sku, qty: { from: qty, transform: int } } }');
    expect(e.diff.matched).toBe(N);
    expect(e.join).toEqual({ strategy: 'merge', maxPending: expect.any(Number) });
    // One page of the faster side beyond the allowance, plus a page of the other.
    expect(e.join!.maxPending).toBeLessThanOrEqual(150 + 100 + 40);
  });

  it('past the compact limit, a hash join packs the waiting records and reports exactly the same', async () => {
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
    await db.query("UPDATE items SET qty = qty + 1 WHERE sku IN ('S00005', 'S02500')");
    await db.query("INSERT INTO items VALUES ('S99999', 1)");
    const target = '{ system: file, fields: { sku: sku, qty: { from: qty, transform: int } } }';
    const whole = await runWith(target);
    const compact = await runWith(target, 50);
    await db.query("UPDATE items SET qty = qty - 1 WHERE sku IN ('S00005', 'S02500')");
    await db.query("DELETE FROM items WHERE sku = 'S99999'");
    await db.close();
    expect(whole.join!.maxPending).toBeGreaterThan(50);
    expect(compact.diff).toEqual(whole.diff);
    expect(compact.diff).toMatchObject({ changed: 2, missing: 1 });
    expect(compact.samples).toEqual(whole.samples);
    expect(compact.samples.changed).toEqual([
      { key: 'S00005', fields: { qty: ['6', '5'] } },
      { key: 'S02500', fields: { qty: ['2501', '2500'] } },
    ]);
    // The CSV side's records that waited packed were read again from their lines alone.
    const again = logged.filter((l) => l.msg === 'read again for the fields of the records to report and push');
    expect(again).toEqual([expect.objectContaining({ side: 'target', inFull: 0 })]);
    expect(again[0]!.byPlace).toBe(again[0]!.records);
    expect(again[0]!.records).toBeGreaterThan(0);
  });

  it('falls back to a hash join, still exact, when one side is in no order', async () => {
    const e = await runWith('{ system: file, fields: { sku: sku, qty: { from: qty, transform: int } } }');
    expect(e.diff.matched).toBe(N);
    expect(e.join!.strategy).toBe('hash');
    expect(e.join!.maxPending).toBeGreaterThan(1000);
  });
});

describe('safety: a source that suddenly shrinks', () => {
  it('blocks the entity until the source is back or a person forces a run, which the report records', async () => {
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'drop.db'), logging: false });
    await db.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
    await db.query(`INSERT INTO items VALUES ${Array.from({ length: 100 }, (_, i) => `('S${i}', ${i})`).join(', ')}`);
    await db.query('CREATE TABLE copy (sku TEXT PRIMARY KEY, qty INTEGER)');
    await db.query('INSERT INTO copy SELECT sku, qty FROM items');
    writeFileSync(
      path.join(dir, 'drop.yaml'),
      `version: 1
state: sqlite:drop-state.db
reports: { dir: drop-reports }
systems: { erp: { type: sql, url: "sqlite:drop.db" } }
entities:
  items:
    key: [sku]
    safety: { maxSourceDrop: 0.3 }
    source: { system: erp, table: items }
    target: { system: erp, table: copy, write: { delete: hard } }
`,
    );
    const once = async (force?: string[]) => {
      const loaded = await loadConfig(path.join(dir, 'drop.yaml'));
      const store = await StateStore.open('sqlite:drop-state.db', dir);
      try {
        const { report } = await runOnce(loaded, store, { logger: silentLogger(), ...(force ? { force: { entities: force, by: 'ops@host' } } : {}) });
        expectValidReport(report);
        return report.entities[0]!;
      } finally {
        await store.close();
      }
    };
    const copyCount = async () => ((await db.query('SELECT COUNT(*) AS n FROM copy', { plain: true })) as { n: number }).n;
    expect((await once()).outcome).toBe('in-sync');
    // An upstream outage: the ERP view returns 60 rows of 100.
    await db.query('DELETE FROM items WHERE qty >= 60');
    const blocked = await once();
    expect(blocked.outcome).toBe('blocked');
    expect(blocked.diff.extra).toBe(40);
    expect(blocked.blocked).toBe('the source count fell from 100 to 60 (-40%) since the last run that synced, more than safety.maxSourceDrop 30%: nothing is synced for this entity until the source is back, or a person runs it with --force');
    // The next run is blocked too: it compares with the last count the guard accepted (100), not the drop.
    await db.query('DELETE FROM items WHERE qty >= 55');
    const still = await once();
    expect(still.outcome).toBe('blocked');
    expect(still.blocked).toMatch(/^the source count fell from 100 to 55 /);
    expect(await copyCount()).toBe(100);
    // A person decides the drop is real: the forced run syncs (45 deletes, past the default maxDeleteRatio) and says who.
    const forced = await once(['items']);
    expect(forced.outcome).toBe('synced');
    expect(forced.forced).toMatchObject({ by: 'ops@host' });
    expect(forced.sync.deleted).toBe(45);
    expect(await copyCount()).toBe(55);
    // From here 55 is the count to compare with.
    expect((await once()).outcome).toBe('in-sync');
    await db.close();
  });

  it('maxDeleteRatio defaults to 0.2: a run never deletes more than a fifth of the target unasked', async () => {
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'ratio.db'), logging: false });
    await db.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
    await db.query(`INSERT INTO items VALUES ${Array.from({ length: 70 }, (_, i) => `('S${i}', ${i})`).join(', ')}`);
    await db.query('CREATE TABLE copy (sku TEXT PRIMARY KEY, qty INTEGER)');
    // The target holds 30 records the source never had: 30% of it.
    await db.query(`INSERT INTO copy VALUES ${Array.from({ length: 100 }, (_, i) => `('S${i}', ${i})`).join(', ')}`);
    writeFileSync(
      path.join(dir, 'ratio.yaml'),
      `version: 1\nstate: sqlite:ratio-state.db\nreports: { dir: ratio-reports }\nsystems: { erp: { type: sql, url: "sqlite:ratio.db" } }\nentities:\n  items:\n    key: [sku]\n    source: { system: erp, table: items }\n    target: { system: erp, table: copy, write: { delete: hard } }\n`,
    );
    const loaded = await loadConfig(path.join(dir, 'ratio.yaml'));
    const store = await StateStore.open('sqlite:ratio-state.db', dir);
    try {
      const { report } = await runOnce(loaded, store, { logger: silentLogger() });
      expect(report.entities[0]!.outcome).toBe('blocked');
      expect(report.entities[0]!.blocked).toMatch(/^the run would delete 30 of 100 target records \(30%\), more than safety\.maxDeleteRatio 20%/);
    } finally {
      await store.close();
      await db.close();
    }
  });
});

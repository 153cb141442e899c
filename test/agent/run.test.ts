// The run orchestrator in-process: the two sides are kept in step, so an entity whose sides
// arrive in the same key order is joined in bounded memory, whatever their speeds.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
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
    const { report } = await runOnce(loaded, store, { logger: silentLogger(), maxAhead: 150, compactAbove });
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
  });

  it('falls back to a hash join, still exact, when one side is in no order', async () => {
    const e = await runWith('{ system: file, fields: { sku: sku, qty: { from: qty, transform: int } } }');
    expect(e.diff.matched).toBe(N);
    expect(e.join!.strategy).toBe('hash');
    expect(e.join!.maxPending).toBeGreaterThan(1000);
  });
});

describe('safety: a source that suddenly shrinks', () => {
  it('blocks the entity and says why, instead of treating the target as extra', async () => {
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'drop.db'), logging: false });
    await db.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
    await db.query(`INSERT INTO items VALUES ${Array.from({ length: 100 }, (_, i) => `('S${i}', ${i})`).join(', ')}`);
    writeFileSync(path.join(dir, 'copy.csv'), `sku,qty\n${Array.from({ length: 100 }, (_, i) => `S${i},${i}`).join('\n')}\n`);
    writeFileSync(
      path.join(dir, 'drop.yaml'),
      `version: 1
state: sqlite:drop-state.db
reports: { dir: drop-reports }
systems: { erp: { type: sql, url: "sqlite:drop.db" }, copy: { type: csv, path: copy.csv } }
entities:
  items:
    key: [sku]
    safety: { maxSourceDrop: 0.3 }
    source: { system: erp, table: items, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target: { system: copy, fields: { sku: sku, qty: { from: qty, transform: int } } }
`,
    );
    const once = async () => {
      const loaded = await loadConfig(path.join(dir, 'drop.yaml'));
      const store = await StateStore.open('sqlite:drop-state.db', dir);
      try {
        const { report } = await runOnce(loaded, store, { logger: silentLogger() });
        expectValidReport(report);
        return report.entities[0]!;
      } finally {
        await store.close();
      }
    };
    expect((await once()).outcome).toBe('in-sync');
    // An upstream outage: the ERP view returns 60 rows of 100.
    await db.query('DELETE FROM items WHERE qty >= 60');
    const [rows] = (await db.query('SELECT COUNT(*) AS n FROM items')) as [{ n: number }[], unknown];
    expect(rows[0]!.n).toBe(60);
    const blocked = await once();
    expect(blocked.outcome).toBe('blocked');
    expect(blocked.diff.extra).toBe(40);
    expect(blocked.blocked).toBe('the source count fell from 100 to 60 (-40%) since the last completed run, more than safety.maxSourceDrop 30%: nothing is synced for this entity until the source is back or the run is forced');
    // A drop within the limit is not blocked: 60 → 55 is -8.3%.
    await db.query('DELETE FROM items WHERE qty >= 55');
    await db.close();
    const next = await once();
    expect(next.source.count).toBe(55);
    expect(next.outcome).toBe('report-only');
  });
});

// Incremental runs over the key index: after a full run, a run reads only what changed since
// each side's watermark, and still reports the whole entity exactly as a full run would.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { expectValidReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const N = 2000;
let erp: Sequelize;
let shop: Sequelize;
let receiver: Receiver;
let url = '';

const stamp = (day: number) => `2026-01-${String(day).padStart(2, '0')} 00:00:00`;

beforeAll(async () => {
  erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  shop = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'shop.db'), logging: false });
  for (const db of [erp, shop]) await db.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER, updated_at TEXT NOT NULL)');
  const rows = Array.from({ length: N }, (_, i) => [`S${String(i).padStart(5, '0')}`, i, stamp(1 + (i % 20))]);
  for (let i = 0; i < N; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await erp.query(`INSERT INTO items VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, { replacements: chunk.flat() });
    // The shop misses every 100th item and has every 50th quantity wrong.
    const drifted = chunk.filter((r) => Number(r[1]) % 100 !== 3).map((r) => [r[0], Number(r[1]) % 50 === 7 ? Number(r[1]) + 1 : r[1], r[2]]);
    await shop.query(`INSERT INTO items VALUES ${drifted.map(() => '(?, ?, ?)').join(', ')}`, { replacements: drifted.flat() });
  }
  receiver = await createReceiver();
  ({ url } = await receiver.listen(0));
});
afterAll(async () => {
  await erp.close();
  await shop.close();
  await receiver.close();
});

const SQL_TARGET = '{ system: shop, table: items, incremental: { field: updated_at }, fields: { sku: sku, qty: { from: qty, transform: int } } }';

async function run(options: { full?: boolean; state?: string; target?: string; metrics?: string } = {}) {
  const file = path.join(dir, 'parity.yaml');
  writeFileSync(
    file,
    `version: 1
state: sqlite:${options.state ?? 'state.db'}
reports: { dir: reports, formats: [json] }
systems: { erp: { type: sql, url: "sqlite:erp.db" }, shop: { type: sql, url: "sqlite:shop.db" }, api: { type: http, baseUrl: "${url}" } }
entities:
  items:
    key: [sku]
${options.metrics ? `    metrics: ${options.metrics}\n` : ''}    source: { system: erp, table: items, incremental: { field: updated_at }, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target: ${options.target ?? SQL_TARGET}
`,
  );
  const loaded = await loadConfig(file);
  const store = await StateStore.open(`sqlite:${options.state ?? 'state.db'}`, dir);
  try {
    const { report } = await runOnce(loaded, store, { logger: silentLogger(), full: options.full });
    expectValidReport(report);
    return { run: report, items: report.entities[0]! };
  } finally {
    await store.close();
  }
}

describe('incremental runs over the key index', () => {
  it('the first run reads in full and builds the index; the next reads only the changes and reports what a full run would', async () => {
    const first = await run();
    expect(first.run.mode).toBe('full');
    expect(first.items.read).toEqual({ source: N, target: N - 20 });
    expect(first.items.diff).toMatchObject({ missing: 20, changed: 40, extra: 0, matched: N - 60 });

    // Nothing changed: nothing read, the same figures.
    const idle = await run();
    expect(idle.run.mode).toBe('incremental');
    expect(idle.items.read).toEqual({ source: 0, target: 0 });
    expect(idle.items.diff).toEqual(first.items.diff);
    expect(idle.items.source.count).toBe(N);

    // Three source rows change, one is added; two target rows are fixed, one breaks.
    await erp.query(`UPDATE items SET qty = qty + 1000, updated_at = '${stamp(25)}' WHERE sku IN ('S00010', 'S00011', 'S00012')`);
    await erp.query(`INSERT INTO items VALUES ('S99999', 1, '${stamp(25)}')`);
    await shop.query(`UPDATE items SET qty = qty - 1, updated_at = '${stamp(25)}' WHERE sku IN ('S00007', 'S00057')`);
    await shop.query(`UPDATE items SET qty = 0, updated_at = '${stamp(26)}' WHERE sku = 'S00020'`);
    const next = await run();
    expect(next.run.mode).toBe('incremental');
    expect(next.items.read).toEqual({ source: 4, target: 3 });

    // A full run on a fresh state store sees the same.
    const full = await run({ full: true, state: 'fresh.db' });
    expect(full.run.mode).toBe('full');
    expect(next.items.diff).toEqual(full.items.diff);
    expect(next.items.match).toBe(full.items.match);
    expect(next.items.source.count).toBe(full.items.source.count);
    expect(next.items.target.count).toBe(full.items.target.count);
    expect(next.items.samples.missing).toEqual(full.items.samples.missing);
    expect(next.items.diff).toMatchObject({ missing: 21, changed: 40 - 2 + 3 + 1 });
    // Changed records read on both sides this run carry their fields.
    expect(next.items.samples.changed).toEqual([]);
  });

  it('a side that cannot filter (an HTTP list without a watermark parameter) is read in full each time', async () => {
    const [rows] = (await shop.query('SELECT sku, qty FROM items')) as [{ sku: string; qty: number }[], unknown];
    await receiver.seed('items', rows.map((r) => ({ localId: r.sku, data: { sku: r.sku, qty: r.qty } })));
    const target = '{ system: api, path: /items, list: items, pagination: { type: cursor, cursorParam: after, nextCursor: next_cursor, sizeParam: limit, size: 500 }, fields: { sku: sku, qty: { from: qty, transform: int } } }';
    const first = await run({ state: 'http.db', target });
    expect(first.run.mode).toBe('full');
    await erp.query(`UPDATE items SET qty = 5, updated_at = '${stamp(28)}' WHERE sku = 'S00100'`);
    const next = await run({ state: 'http.db', target });
    expect(next.run.mode).toBe('incremental');
    expect(next.items.read).toEqual({ source: 1, target: rows.length });
    const full = await run({ state: 'http-fresh.db', target, full: true });
    expect(next.items.diff).toEqual(full.items.diff);
  });

  it('an incremental run leaves out a metric a side could not compute in full, instead of reporting it as 0', async () => {
    const target = '{ system: api, path: /items, list: items, pagination: { type: cursor, cursorParam: after, nextCursor: next_cursor, sizeParam: limit, size: 500 }, fields: { sku: sku, qty: { from: qty, transform: int } } }';
    const metrics = '{ rows: "count()", stock: "sum(qty)" }';
    const first = await run({ state: 'metrics.db', target, metrics });
    expect(first.items.metrics.map((m) => m.name)).toEqual(['rows', 'stock']);
    expect(first.items.metrics.every((m) => m.source > 0 && m.target > 0)).toBe(true);
    const next = await run({ state: 'metrics.db', target, metrics });
    expect(next.run.mode).toBe('incremental');
    // The SQL source computes its metrics in the database; the HTTP target would stream them,
    // which an incremental run does not: left out, no "1200 | 0 | 0.00%".
    expect(next.items.metrics).toEqual([]);
  });

  it('--full reads everything again and rebuilds the index', async () => {
    const full = await run({ full: true });
    expect(full.run.mode).toBe('full');
    expect(full.items.read!.source).toBe(N + 1);
    const after = await run();
    expect(after.items.read).toEqual({ source: 0, target: 0 });
    expect(after.items.diff).toEqual(full.items.diff);
  });
});

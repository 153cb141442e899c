// `npm run bench`: reconciles one large entity (SQLite source ↔ HTTP target through the
// reference receiver, 1% drift) and compares it with the baseline of merely reading both
// sides with the same collectors. BENCH_RECORDS sets the size (default 200000).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sequelize } from 'sequelize';
import { prng } from '../examples/demo/data.js';
import { createReceiver } from '../examples/receiver/server.js';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'parity-bench-'));

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

try {
  say(`parity bench: ${N.toLocaleString('en')} records per side, 1% drift (missing, changed, extra)`);
  const rnd = prng(1);
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER)');
  const receiver = await createReceiver({ dbPath: path.join(dir, 'receiver.db') });
  const CHUNK = 2000;
  for (let i = 0; i < N; i += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, N - i) }, (_, j) => {
      const n = i + j;
      return { sku: `SKU-${String(n).padStart(8, '0')}`, name: `product ${n}`, price: Math.round(rnd() * 100000) / 100, stock: Math.floor(rnd() * 1000) };
    });
    await db.query(`INSERT INTO products VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: rows.flatMap((r) => [r.sku, r.name, r.price, r.stock]) });
    const drifted = rows.flatMap((r) => {
      const x = rnd();
      if (x < 0.004) return []; // missing
      const price = x < 0.008 ? r.price + 1 : r.price; // changed
      return [{ localId: r.sku, data: { sku: r.sku, name: r.name, price: price.toFixed(2), stock: r.stock } }];
    });
    if (i % 100_000 === 0) drifted.push({ localId: `EXTRA-${i}`, data: { sku: `EXTRA-${i}`, name: 'extra', price: '1.00', stock: 1 } });
    await receiver.seed('items', drifted);
  }
  await db.close();
  const { url } = await receiver.listen(0);

  const config = {
    version: 1,
    state: 'sqlite:state.db',
    reports: { dir: 'reports', formats: ['json'] },
    systems: { erp: { type: 'sql', url: 'sqlite:erp.db', pageSize: 5000 }, shop: { type: 'http', baseUrl: url, timeoutMs: 60000 } },
    entities: {
      items: {
        key: ['sku'],
        source: { system: 'erp', table: 'products', fields: { sku: 'sku', name: 'name', price: { from: 'price', transform: 'decimal(2)' }, stock: { from: 'stock', transform: 'int' } } },
        target: { system: 'shop', path: '/items', list: 'items', pagination: { type: 'page', size: 1000, hasMore: 'has_more' }, fields: { sku: 'sku', name: 'name', price: { from: 'price', transform: 'decimal(2)' }, stock: { from: 'stock', transform: 'int' } } },
      },
    },
  };
  const configFile = path.join(dir, 'parity.json');
  writeFileSync(configFile, JSON.stringify(config));

  // Asynchronous on purpose: the receiver answers from this process while the child runs.
  const measure = async (phase: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(here, 'child.ts'), phase, configFile], { encoding: 'utf8', maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; maxRssMb: number; diff?: Record<string, number> };
  };

  const read = await measure('read');
  const run = await measure('run');
  await receiver.close();

  const ratio = run.ms / read.ms;
  say('');
  say(`baseline  read both sides, no diff : ${(read.ms / 1000).toFixed(2)} s, peak RSS ${read.maxRssMb.toFixed(0)} MB`);
  say(`parity    full reconciliation      : ${(run.ms / 1000).toFixed(2)} s, peak RSS ${run.maxRssMb.toFixed(0)} MB`);
  say(`          diff ${JSON.stringify(run.diff)}`);
  say(`time      ${ratio.toFixed(2)} x baseline (bar: at most 1.5 x)  ${ratio <= 1.5 ? 'OK' : 'OVER'}`);
  say(`memory    ${run.maxRssMb.toFixed(0)} MB (bar for 1,000,000 records: under 400 MB)${N < 1_000_000 ? `; measured at ${N.toLocaleString('en')}, set BENCH_RECORDS=1000000 for the bar's size` : run.maxRssMb < 400 ? '  OK' : '  OVER'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// `parity export` of a BENCH_RECORDS-row SQLite table to CSV and to xlsx: time and peak RSS
// beside the floor of merely reading the side, and the CSV counted back (bar: under 300 MB).
import { createReadStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { Sequelize } from 'sequelize';
import { PRODUCT_FIELDS, say, type Figure, type Measured } from './common.js';

export async function exportBench(o: { dir: string; n: number; record: (f: Figure) => void; measure: (phase: string, configFile: string, ...args: string[]) => Promise<Measured> }) {
  say(`\nexport: ${o.n.toLocaleString('en')} rows of a SQLite table to CSV and to xlsx`);
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(o.dir, 'export.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER)');
  for (let i = 0; i < o.n; i += 5000) {
    const rows = Array.from({ length: Math.min(5000, o.n - i) }, (_, j) => i + j);
    await db.query(`INSERT INTO products VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: rows.flatMap((k) => [`SKU-${String(k).padStart(8, '0')}`, `product, "${k}"`, (k % 10000) / 100, k % 997]) });
  }
  await db.close();
  const config = path.join(o.dir, 'export.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      version: 1,
      state: 'sqlite:export-state.db',
      systems: { erp: { type: 'sql', url: 'sqlite:export.db', pageSize: 5000 }, copy: { type: 'csv', path: 'unused.csv' } },
      entities: { items: { key: ['sku'], source: { system: 'erp', table: 'products', fields: PRODUCT_FIELDS }, target: { system: 'copy', fields: PRODUCT_FIELDS } } },
    }),
  );
  const floor = await o.measure('read-source', config);
  o.record({ name: 'export floor: read the side', value: floor.ms / 1000, unit: 's', baseline: null, ratio: null, bar: 'none', pass: null });
  for (const ext of ['csv', 'xlsx'] as const) {
    const out = path.join(o.dir, `export.${ext}`);
    const m = await o.measure(`export-${ext}`, config, out);
    if (m.records !== o.n) throw new Error(`export to ${ext} wrote ${m.records} rows, not ${o.n}`);
    o.record({ name: `export to ${ext}`, value: m.ms / 1000, unit: 's', baseline: floor.ms / 1000, ratio: m.ms / floor.ms, bar: 'none', pass: null });
    o.record({ name: `export to ${ext}: peak RSS`, value: m.maxRssMb, unit: 'MB', baseline: null, ratio: null, bar: '< 300 MB', pass: m.maxRssMb < 300 });
  }
  // The CSV reads back: as many rows as the table, the first and last as written.
  let rows = 0;
  let last: string[] = [];
  for await (const row of createReadStream(path.join(o.dir, 'export.csv')).pipe(parse({ from_line: 2 }))) {
    rows++;
    last = row as string[];
  }
  const expectLast = [`SKU-${String(o.n - 1).padStart(8, '0')}`, `product, "${o.n - 1}"`, (((o.n - 1) % 10000) / 100).toFixed(2), String((o.n - 1) % 997)];
  if (rows !== o.n || last.join('|') !== expectLast.join('|')) throw new Error(`the CSV read back ${rows} rows, the last ${JSON.stringify(last)}`);
  say(`  the CSV reads back: ${rows.toLocaleString('en')} rows, the last as written`);
}

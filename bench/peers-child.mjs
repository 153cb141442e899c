// The peers and floors of the `peers` bench part, one per process (bench/peers.ts measures
// its wall time and peak RSS). Each prints what it found on stdout.
//   csv-floor A B          csv-parse reads both files at once, no info object: prints the rows
//   duckdb-csv A B         DuckDB: FULL OUTER JOIN on sku, a hash of the other columns: prints counts
//   daff A B OUT           daff (npm) keyed by sku, its diff counted: prints counts
//   sqlite-floor A B       the sqlite3 driver: SELECT * ORDER BY sku of both files at once: prints the rows
import { createReadStream, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const [phase, a, b, out] = process.argv.slice(2);

if (phase === 'csv-floor') {
  const { parse } = await import('csv-parse');
  const count = async (file) => {
    let rows = 0;
    for await (const _ of createReadStream(file).pipe(parse({ columns: true }))) rows++;
    return rows;
  };
  const [x, y] = await Promise.all([count(a), count(b)]);
  process.stdout.write(`${x + y}\n`);
} else if (phase === 'duckdb-csv') {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const read = (f) => `read_csv('${f}', header = true, all_varchar = true)`;
  const reader = await c.runAndReadAll(`
    SELECT count(*) FILTER (WHERE t.sku IS NULL) AS missing,
           count(*) FILTER (WHERE s.sku IS NULL) AS extra,
           count(*) FILTER (WHERE s.sku IS NOT NULL AND t.sku IS NOT NULL AND hash(s.name, s.price, s.stock) <> hash(t.name, t.price, t.stock)) AS changed
    FROM ${read(a)} s FULL OUTER JOIN ${read(b)} t ON s.sku = t.sku`);
  const [row] = reader.getRowObjectsJS();
  process.stdout.write(`${JSON.stringify({ missing: Number(row.missing), extra: Number(row.extra), changed: Number(row.changed) })}\n`);
} else if (phase === 'daff') {
  const bin = createRequire(import.meta.url).resolve('daff/bin/daff.js');
  const r = spawnSync(process.execPath, [bin, 'diff', '--id', 'sku', '--unordered', '--context', '0', '--no-color', '--output', out, a, b], { stdio: 'inherit' });
  if (r.status !== 0 && r.status !== 1) process.exit(r.status ?? 2);
  const marks = readFileSync(out, 'utf8').split('\n').map((l) => l.slice(0, l.indexOf(',')));
  process.stdout.write(`${JSON.stringify({ missing: marks.filter((m) => m === '---').length, extra: marks.filter((m) => m === '+++').length, changed: marks.filter((m) => m === '->').length })}\n`);
} else if (phase === 'sqlite-floor') {
  const { default: sqlite3 } = await import('sqlite3');
  const count = (file) =>
    new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
      let rows = 0;
      db.each('SELECT * FROM products ORDER BY sku', (err) => (err ? reject(err) : rows++), (err) => db.close(() => (err ? reject(err) : resolve(rows))));
    });
  const [x, y] = await Promise.all([count(a), count(b)]);
  process.stdout.write(`${x + y}\n`);
} else {
  process.stderr.write(`unknown phase ${phase}\n`);
  process.exit(2);
}

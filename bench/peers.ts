// The `peers` part of the bench: parity beside the tools a user could pick instead, on the
// same generated data in the same run, and beside the raw read floors. Products with 1%
// drift (0.4% missing, 0.4% changed, 0.2% extra):
//   CSV ↔ CSV sorted by key, and the same rows shuffled: parity compare (both orders in
//   alternation, BENCH_REPEATS times each, 5 by default: each order's median), DuckDB (a FULL OUTER
//   JOIN on the key with a hash of the compared columns), daff (npm, --id sku), the floor of
//   csv-parse reading both files (no per-record info object);
//   SQLite ↔ SQLite: parity compare, `sqldiff --primarykey` (Debian's sqlite3-tools, when
//   installed), the floor of an ordered select of both tables with the sqlite3 driver;
//   a 2-row compare: `parity compare` as a user runs it, start to exit.
// Every tool must find the same counts: a disagreement fails the bench.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { prng } from '../examples/demo/data.js';
import { medianRun, say, type Figure, type Measured } from './common.js';

interface Context {
  dir: string;
  here: string;
  n: number;
  record: (f: Figure) => void;
  measure: (phase: string, configFile: string, ...args: string[]) => Promise<Measured>;
}

interface Counts {
  missing: number;
  extra: number;
  changed: number;
}

interface Run {
  ms: number;
  maxRssMb: number;
  stdout: string;
}

let outputs = 0;

/** Runs a command and returns its wall time and peak RSS (the kernel's, via python's getrusage
 *  of children), and what it printed (written to a file meanwhile, never cut). */
function measured(cmd: string, args: string[], cwd: string): Run {
  const out = path.join(cwd, `peer-output-${++outputs}.txt`);
  const wrapper = `import json,resource,subprocess,sys,time
t=time.monotonic(); p=subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'wb'), stderr=subprocess.PIPE)
ms=(time.monotonic()-t)*1000
if p.returncode != 0: sys.stderr.write(p.stderr.decode()[-3000:]); sys.exit(p.returncode)
print(json.dumps({"ms": ms, "maxRssMb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))`;
  const r = spawnSync('python3', ['-c', wrapper, out, cmd, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const stdout = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  return { ...(JSON.parse(r.stdout) as { ms: number; maxRssMb: number }), stdout };
}

const sku = (n: number) => `SKU-${String(n).padStart(8, '0')}`;

/** The products and their drifted copy, as CSV lines (header first). */
function generate(n: number): { source: string[]; target: string[]; expected: Counts } {
  const rnd = prng(14);
  const source = ['sku,name,price,stock'];
  const target = ['sku,name,price,stock'];
  const expected = { missing: 0, extra: 0, changed: 0 };
  for (let i = 0; i < n; i++) {
    const price = Math.round(rnd() * 100000) / 100;
    const stock = Math.floor(rnd() * 1000);
    const line = (p: number) => `${sku(i)},product ${i},${p.toFixed(2)},${stock}`;
    source.push(line(price));
    const x = rnd();
    if (x < 0.004) expected.missing++;
    else if (x < 0.008) {
      target.push(line(price + 1));
      expected.changed++;
    } else target.push(line(price));
    if (rnd() < 0.002) {
      target.push(`${sku(i)}x,extra ${i},1.00,1`);
      expected.extra++;
    }
  }
  return { source, target, expected };
}

function shuffled(lines: readonly string[], seed: number): string[] {
  const rnd = prng(seed);
  const body = lines.slice(1);
  for (let i = body.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [body[i], body[j]] = [body[j]!, body[i]!];
  }
  return [lines[0]!, ...body];
}

async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < lines.length; i += 10_000) {
    if (!out.write(`${lines.slice(i, i + 10_000).join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** A SQLite file with the CSV's rows in table products (sku the primary key). */
async function writeSqlite(file: string, lines: readonly string[]): Promise<void> {
  const db = new sqlite3.Database(file);
  const run = (sql: string, params: unknown[] = []) => new Promise<void>((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
  await run('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER)');
  await run('BEGIN');
  for (let i = 1; i < lines.length; i += 200) {
    const chunk = lines.slice(i, i + 200).map((l) => l.split(','));
    await run(`INSERT INTO products VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`, chunk.flatMap(([s, name, price, stock]) => [s, name, Number(price), Number(stock)]));
  }
  await run('COMMIT');
  await new Promise<void>((resolve) => db.close(() => resolve()));
}

function config(dir: string, name: string, systems: Record<string, unknown>, side: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      state: `sqlite:${name}-state.db`,
      reports: { dir: `${name}-reports`, formats: ['json'] },
      systems,
      entities: { products: { key: 'sku', source: { system: 'a', ...side }, target: { system: 'b', ...side } } },
    }),
  );
  return file;
}

function agree(who: string, got: Counts, expected: Counts): void {
  const same = got.missing === expected.missing && got.extra === expected.extra && got.changed === expected.changed;
  say(`    ${who.padEnd(28)} missing ${got.missing}, extra ${got.extra}, changed ${got.changed}${same ? '' : `  DISAGREES (expected ${JSON.stringify(expected)})`}`);
  if (!same) throw new Error(`${who} disagrees: ${JSON.stringify(got)} against ${JSON.stringify(expected)}`);
}

export async function peersBench(o: Context): Promise<void> {
  const { dir, n, record } = o;
  say(`\npeers: ${n.toLocaleString('en')} products a side, 1% drift; every tool on the same files in this run`);
  const t0 = performance.now();
  const data = generate(n);
  await writeLines(path.join(dir, 'p-source.csv'), data.source);
  await writeLines(path.join(dir, 'p-target.csv'), data.target);
  await writeLines(path.join(dir, 'p-source-shuffled.csv'), shuffled(data.source, 1));
  await writeLines(path.join(dir, 'p-target-shuffled.csv'), shuffled(data.target, 2));
  await writeSqlite(path.join(dir, 'p-source.db'), data.source);
  await writeSqlite(path.join(dir, 'p-target.db'), data.target);
  say(`  (data built in ${((performance.now() - t0) / 1000).toFixed(1)} s; expected ${JSON.stringify(data.expected)})`);
  const node = process.execPath;
  const peer = path.join(o.here, 'peers-child.mjs');
  const figure = (name: string, r: { ms: number; maxRssMb: number }, baseline: { name: string; ms: number } | null, bar: string, pass: boolean | null) =>
    record({ name, value: r.ms / 1000, unit: 's', baseline: baseline ? baseline.ms / 1000 : null, ratio: baseline ? r.ms / baseline.ms : null, bar: `${bar}${bar ? '; ' : ''}peak RSS ${r.maxRssMb.toFixed(0)} MB`, pass });
  const parityCounts = (m: Measured): Counts => ({ missing: m.diff!.missing!, extra: m.diff!.extra!, changed: m.diff!.changed! });

  // parity on both orders first, alternately, BENCH_REPEATS times each (5 by default): the
  // machine's speed drifts within minutes, so one run of each would put that drift into the
  // shuffled/sorted ratio. The figures take each order's median time and its highest peak RSS.
  const orders = { sorted: ['p-source.csv', 'p-target.csv'], shuffled: ['p-source-shuffled.csv', 'p-target-shuffled.csv'] } as const;
  const runs: Record<keyof typeof orders, Measured[]> = { sorted: [], shuffled: [] };
  const repeats = Math.max(1, Number(process.env.BENCH_REPEATS ?? 5));
  say(`\n  CSV ↔ CSV, parity sorted and shuffled, alternately ${repeats} times`);
  for (let i = 0; i < repeats; i++) {
    for (const label of ['sorted', 'shuffled'] as const) {
      const [a, b] = orders[label];
      const m = await o.measure('compare', config(dir, `peers-csv-${label}`, { a: { type: 'csv', path: a }, b: { type: 'csv', path: b } }, {}));
      if (m.error) throw new Error(`parity failed: ${m.error}`);
      agree(`parity ${label} ${(m.ms / 1000).toFixed(2)} s`, parityCounts(m), data.expected);
      runs[label].push(m);
    }
  }
  const typical = (ms: Measured[]): Run => ({ ms: medianRun(ms).ms, maxRssMb: Math.max(...ms.map((m) => m.maxRssMb)), stdout: '' });

  const csv = (label: keyof typeof orders): { parity: Run; duck: Run; daff: Run | null; floor: Run } => {
    const [a, b] = orders[label];
    say(`\n  CSV ↔ CSV, ${label}`);
    const floor = measured(node, [peer, 'csv-floor', a, b], dir);
    const rows = Number(floor.stdout.trim());
    if (rows !== data.source.length + data.target.length - 2) throw new Error(`the csv-parse floor read ${rows} rows`);
    const duck = measured(node, [peer, 'duckdb-csv', a, b], dir);
    agree('DuckDB', JSON.parse(duck.stdout) as Counts, data.expected);
    let daff: Run | null = null;
    if (process.env.BENCH_DAFF !== '0') {
      daff = measured(node, [peer, 'daff', a, b, path.join(dir, `daff-${label}.csv`)], dir);
      agree('daff', JSON.parse(daff.stdout) as Counts, data.expected);
    }
    return { parity: typical(runs[label]), duck, daff, floor };
  };

  const sorted = csv('sorted');
  const shuffledRun = csv('shuffled');
  for (const [label, r] of [['sorted', sorted], ['shuffled', shuffledRun]] as const) {
    say(`\n  CSV ↔ CSV ${label}: figures`);
    figure(`csv ${label}: csv-parse floor`, r.floor, null, '', null);
    figure(`csv ${label}: DuckDB`, r.duck, null, '', null);
    if (r.daff) figure(`csv ${label}: daff`, r.daff, null, '', null);
    say(`    parity: median of ${runs[label].map((m) => (m.ms / 1000).toFixed(2)).join(', ')} s`);
    figure(`csv ${label}: parity vs DuckDB`, r.parity, { name: 'DuckDB', ms: r.duck.ms }, label === 'sorted' ? '<= 4 x DuckDB' : 'none', label === 'sorted' ? r.parity.ms <= 4 * r.duck.ms : null);
    figure(`csv ${label}: parity vs csv-parse floor`, r.parity, { name: 'floor', ms: r.floor.ms }, label === 'sorted' ? '<= 2 x the floor' : 'none', label === 'sorted' ? r.parity.ms <= 2 * r.floor.ms : null);
    if (r.daff) figure(`csv ${label}: parity vs daff`, r.parity, { name: 'daff', ms: r.daff.ms }, 'faster than daff', r.parity.ms < r.daff.ms);
    record({ name: `csv ${label}: parity peak RSS`, value: r.parity.maxRssMb, unit: 'MB', baseline: 250, ratio: r.parity.maxRssMb / 250, bar: '< 250 MB', pass: r.parity.maxRssMb < 250 });
  }
  figure('csv shuffled vs sorted: parity', shuffledRun.parity, { name: 'sorted', ms: sorted.parity.ms }, `<= 1.25 x sorted (medians of ${repeats})`, shuffledRun.parity.ms <= 1.25 * sorted.parity.ms);

  say('\n  SQLite ↔ SQLite');
  const sqlFile = config(dir, 'peers-sqlite', { a: { type: 'sql', url: 'sqlite:p-source.db' }, b: { type: 'sql', url: 'sqlite:p-target.db' } }, { table: 'products' });
  const parity = await o.measure('compare', sqlFile);
  if (parity.error) throw new Error(`parity failed: ${parity.error}`);
  agree('parity', parityCounts(parity), data.expected);
  const floor = measured(node, [peer, 'sqlite-floor', 'p-source.db', 'p-target.db'], dir);
  if (Number(floor.stdout.trim()) !== data.source.length + data.target.length - 2) throw new Error(`the sqlite3 floor read ${floor.stdout.trim()} rows`);
  figure('sqlite: ordered select floor (sqlite3)', floor, null, '', null);
  const sqldiff = ['/usr/bin/sqldiff', '/usr/local/bin/sqldiff'].find((p) => existsSync(p));
  if (sqldiff) {
    const r = measured(sqldiff, ['--primarykey', 'p-source.db', 'p-target.db'], dir);
    const lines = r.stdout.split('\n');
    // sqldiff prints what turns the source into the target: DELETE = missing, INSERT = extra.
    agree('sqldiff --primarykey', { missing: lines.filter((l) => l.startsWith('DELETE')).length, extra: lines.filter((l) => l.startsWith('INSERT')).length, changed: lines.filter((l) => l.startsWith('UPDATE')).length }, data.expected);
    figure('sqlite: sqldiff --primarykey', r, null, '', null);
    figure('sqlite: parity vs sqldiff', parity, { name: 'sqldiff', ms: r.ms }, '<= 3 x sqldiff', parity.ms <= 3 * r.ms);
  } else {
    say('    sqldiff: skipped, not installed (apt install sqlite3-tools)');
  }
  figure('sqlite: parity vs the floor', parity, { name: 'floor', ms: floor.ms }, 'none', null);
  record({ name: 'sqlite: parity peak RSS', value: parity.maxRssMb, unit: 'MB', baseline: 250, ratio: parity.maxRssMb / 250, bar: '< 250 MB', pass: parity.maxRssMb < 250 });

  say('\n  a 2-row compare, `parity compare` from start to exit');
  writeFileSync(path.join(dir, 'tiny-a.csv'), 'sku,name\nA,one\nB,two\n');
  writeFileSync(path.join(dir, 'tiny-b.csv'), 'sku,name\nA,one\nB,TWO\n');
  const tiny = config(dir, 'tiny', { a: { type: 'csv', path: 'tiny-a.csv' }, b: { type: 'csv', path: 'tiny-b.csv' } }, {});
  // What an installed `parity` runs: bin/parity.js, which starts the bundle in dist/cli/.
  const cli = path.join(o.here, '../bin/parity.js');
  measured(node, [cli, 'compare', '--config', tiny], dir); // warm the file cache
  const median = medianRun([0, 1, 2].map(() => measured(node, [cli, 'compare', '--config', tiny], dir)));
  record({ name: '2-row compare: wall time', value: median.ms / 1000, unit: 's', baseline: 0.5, ratio: median.ms / 500, bar: '< 0.5 s (median of 3)', pass: median.ms < 500 });
  record({ name: '2-row compare: peak RSS', value: median.maxRssMb, unit: 'MB', baseline: 80, ratio: median.maxRssMb / 80, bar: '< 80 MB', pass: median.maxRssMb < 80 });
  const report = JSON.parse(readFileSync(path.join(dir, 'tiny-reports', 'latest.json'), 'utf8')) as { entities: { diff: { changed: number } }[] };
  if (report.entities[0]!.diff.changed !== 1) throw new Error('the 2-row compare did not find the one changed record');
}

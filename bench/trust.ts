// The bench part `trust`: the cases that used to stall a run.
//   first full load  BENCH_RECORDS SQLite records into an empty receiver (all missing), compare
//                    only, against the floor of reading both sides; then the same run in
//                    `parity start` while 50 clients ask GET /status for 10 s and /healthz is
//                    polled, and a SIGTERM during the diff
//   shuffled files   two BENCH_RECORDS-row CSVs in different row orders, 1% drift, compare only,
//                    against the floor of reading both files
import http from 'node:http';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { Sequelize } from 'sequelize';
import { prng } from '../examples/demo/data.js';
import { createReceiver } from '../examples/receiver/server.js';
import { PRODUCT_FIELDS, productsToReceiver, say, startAgent, type Figure, type Measured } from './common.js';

export interface TrustBench {
  dir: string;
  here: string;
  n: number;
  record: (f: Figure) => void;
  measure: (phase: string, configFile: string, ...args: string[]) => Promise<Measured>;
}

const RATIO_BAR = 2.0;
const RSS_BAR_MB = 500;
const STATUS_P99_BAR_MS = 100;
const SHUTDOWN_TIMEOUT_S = 10;

function readRatio(b: TrustBench, name: string, run: Measured, floor: Measured) {
  const ratio = run.ms / floor.ms;
  b.record({ name: `${name}: read both sides (floor)`, value: floor.ms / 1000, unit: 's', baseline: null, ratio: null, bar: `none; peak RSS ${floor.maxRssMb.toFixed(0)} MB`, pass: null });
  b.record({ name: `${name}: compare`, value: run.ms / 1000, unit: 's', baseline: floor.ms / 1000, ratio, bar: `<= ${RATIO_BAR} x the floor`, pass: ratio <= RATIO_BAR });
  b.record({ name: `${name}: peak RSS`, value: run.maxRssMb, unit: 'MB', baseline: RSS_BAR_MB, ratio: run.maxRssMb / RSS_BAR_MB, bar: `< ${RSS_BAR_MB} MB`, pass: run.maxRssMb < RSS_BAR_MB });
}

/** `parts` may hold `trust` (both), `first-load` or `shuffled`. */
export async function firstLoadAndShuffled(b: TrustBench, parts: Set<string>): Promise<void> {
  if (parts.has('trust') || parts.has('first-load')) await firstLoad(b);
  if (parts.has('trust') || parts.has('shuffled')) await shuffledFiles(b);
}

async function firstLoad(b: TrustBench): Promise<void> {
  say(`\nfirst full load: ${b.n.toLocaleString('en')} SQLite records into an empty receiver (all missing), compare only`);
  const rnd = prng(11);
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(b.dir, 'fl-erp.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER)');
  for (let i = 0; i < b.n; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, b.n - i) }, (_, j) => [`SKU-${String(i + j).padStart(8, '0')}`, `product ${i + j}`, Math.round(rnd() * 100000) / 100, Math.floor(rnd() * 1000)]);
    await db.query(`INSERT INTO products VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: rows.flat() });
  }
  await db.close();
  const receiver = await createReceiver({ dbPath: path.join(b.dir, 'fl-receiver.db') });
  const { url } = await receiver.listen(0);
  const token = 'bench-trust-token';
  const configFile = path.join(b.dir, 'fl.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      state: 'sqlite:fl-state.db',
      reports: { dir: 'fl-reports', formats: ['json'] },
      server: { host: '127.0.0.1', port: 0, token },
      agent: { shutdownTimeoutS: SHUTDOWN_TIMEOUT_S },
      ...productsToReceiver('sqlite:fl-erp.db', url),
    }),
  );
  try {
    const floor = await b.measure('read-both', configFile);
    const run = await b.measure('compare', configFile);
    if (run.error) throw new Error(`the first-load compare failed: ${run.error}`);
    if (run.diff?.missing !== b.n) throw new Error(`the first-load compare found ${run.diff?.missing} missing of ${b.n}`);
    say(`  diff ${JSON.stringify(run.diff)}, join ${JSON.stringify(run.join)}`);
    readRatio(b, 'first full load', run, floor);
    await statusUnderLoad(b, configFile, token);
  } finally {
    await receiver.close();
  }
}

/** The same first load in `parity start`: /status under 50 clients, /healthz throughout, SIGTERM mid-diff. */
async function statusUnderLoad(b: TrustBench, configFile: string, token: string): Promise<void> {
  const { child, api, exited } = await startAgent(b.here, configFile);
  try {
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const post = async () => {
      const res = await fetch(`${api}/runs`, { method: 'POST', headers, body: JSON.stringify({ mode: 'full', dryRun: true }) });
      if (res.status !== 202) throw new Error(`POST /runs answered ${res.status}`);
    };
    await post();
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    let errors = 0;
    let running = 0;
    let healthz = 0;
    let healthzWorst = 0;
    let healthzFailed = 0;
    const t0 = performance.now();
    const stopAt = t0 + 10_000;
    // Plain keep-alive http requests: fetch costs the load generator more CPU per request than
    // the agent spends answering, and on two cores that would be measured as the agent's latency.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const getStatus = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get(`${api}/status`, { agent, headers: { Authorization: headers.Authorization } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
      });
    const client = async () => {
      while (performance.now() < stopAt) {
        const s = performance.now();
        try {
          const res = await getStatus();
          if (res.status !== 200) errors++;
          if (res.body.includes('"state":"running"')) running++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - s);
      }
    };
    const poller = async () => {
      while (performance.now() < stopAt) {
        const s = performance.now();
        try {
          const res = await fetch(`${api}/healthz`);
          if (res.status !== 200) healthzFailed++;
        } catch {
          healthzFailed++;
        }
        healthz++;
        healthzWorst = Math.max(healthzWorst, performance.now() - s);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await Promise.all([...Array.from({ length: 50 }, client), poller()]);
    agent.destroy();
    latencies.sort((x, y) => x - y);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY;
    say(`  ${latencies.length} /status answers in 10 s from 50 clients (${running} while the run was in progress), ${errors} errors; /healthz ${healthz} polls, ${healthzFailed} failed, worst ${healthzWorst.toFixed(0)} ms`);
    b.record({ name: 'GET /status p99, 50 clients, first load', value: p99, unit: 'ms', baseline: STATUS_P99_BAR_MS, ratio: p99 / STATUS_P99_BAR_MS, bar: `< ${STATUS_P99_BAR_MS} ms, no error`, pass: running > 0 ? p99 < STATUS_P99_BAR_MS && errors === 0 : null });
    b.record({ name: '/healthz during the first load', value: healthzFailed, unit: 'failed', baseline: null, ratio: null, bar: 'every poll answered', pass: healthzFailed === 0 && healthz > 0 });

    // SIGTERM while a run is in its diff (half its records read): a new run if the first has ended.
    type Status = { state: string; current?: { recordsRead?: number } | null };
    const current = async () => (await (await fetch(`${api}/status`, { headers })).json()) as Status;
    if ((await current()).state !== 'running') await post();
    let now = await current();
    while (now.state === 'running' && (now.current?.recordsRead ?? 0) < b.n / 2) {
      await new Promise((r) => setTimeout(r, 20));
      now = await current();
    }
    const midDiff = now.state === 'running';
    const s = performance.now();
    child.kill('SIGTERM');
    await exited;
    const seconds = (performance.now() - s) / 1000;
    say(`  SIGTERM sent ${midDiff ? `with ${now.current?.recordsRead} records read` : 'after the run had ended (too small to catch it mid-diff)'}`);
    b.record({ name: 'SIGTERM during the diff, exit after', value: seconds, unit: 's', baseline: SHUTDOWN_TIMEOUT_S, ratio: seconds / SHUTDOWN_TIMEOUT_S, bar: `<= shutdownTimeoutS (${SHUTDOWN_TIMEOUT_S} s) + 1 s`, pass: midDiff ? seconds <= SHUTDOWN_TIMEOUT_S + 1 : null });
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function writeCsv(file: string, rows: string[]): Promise<void> {
  const out = createWriteStream(file);
  out.write('sku,name,price,stock\n');
  for (let i = 0; i < rows.length; i += 10_000) {
    if (!out.write(`${rows.slice(i, i + 10_000).join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function shuffledFiles(b: TrustBench): Promise<void> {
  say(`\nshuffled files: two ${b.n.toLocaleString('en')}-row CSVs in different row orders, 1% drift, compare only`);
  const rnd = prng(12);
  const source: string[] = [];
  const target: string[] = [];
  for (let i = 0; i < b.n; i++) {
    const sku = `SKU-${String(i).padStart(8, '0')}`;
    const price = (Math.round(rnd() * 100000) / 100).toFixed(2);
    const stock = Math.floor(rnd() * 1000);
    source.push(`${sku},product ${i},${price},${stock}`);
    const x = rnd();
    if (x < 0.004) continue; // missing in the target
    target.push(`${sku},product ${i},${x < 0.008 ? (Number(price) + 1).toFixed(2) : price},${stock}`);
    if (x > 0.998) target.push(`EXTRA-${i},extra,1.00,1`);
  }
  await writeCsv(path.join(b.dir, 'shuffled-source.csv'), shuffle(source, rnd));
  await writeCsv(path.join(b.dir, 'shuffled-target.csv'), shuffle(target, rnd));
  source.length = 0;
  target.length = 0;
  const fields = PRODUCT_FIELDS;
  const configFile = path.join(b.dir, 'shuffled.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      state: 'sqlite:shuffled-state.db',
      reports: { dir: 'shuffled-reports', formats: ['json'] },
      systems: { src: { type: 'csv', path: 'shuffled-source.csv' }, tgt: { type: 'csv', path: 'shuffled-target.csv' } },
      entities: { items: { key: ['sku'], source: { system: 'src', fields }, target: { system: 'tgt', fields } } },
    }),
  );
  const floor = await b.measure('read-both', configFile);
  const run = await b.measure('compare', configFile);
  if (run.error) throw new Error(`the shuffled compare failed: ${run.error}`);
  say(`  diff ${JSON.stringify(run.diff)}, join ${JSON.stringify(run.join)}`);
  readRatio(b, 'shuffled files', run, floor);
}

// What every bench part shares: a figure printed beside its baseline or bar, and a phase
// measured in its own child process (bench/child.mjs) so that its peak RSS is its own.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { promisify } from 'node:util';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  bar: string;
  pass: boolean | null;
}

export function say(line = '') {
  process.stdout.write(`${line}\n`);
}

export function recordFigure(figures: Figure[], f: Figure) {
  figures.push(f);
  const verdict = f.pass === null ? '' : f.pass ? '  OK' : '  OVER THE BAR';
  const vs = f.baseline === null ? '' : `  (baseline ${f.baseline.toFixed(2)}, ratio ${f.ratio!.toFixed(2)})`;
  say(`  ${f.name.padEnd(38)} ${f.value.toFixed(f.unit === 'rows/s' || f.unit === 'req/s' ? 0 : 2).padStart(10)} ${f.unit.padEnd(7)}${vs}  bar: ${f.bar}${verdict}`);
}

export interface Measured {
  ms: number;
  maxRssMb: number;
  records: number;
  diff?: Record<string, number>;
  match?: number;
  error?: string | null;
  mode?: string;
  read?: { source: number; target: number };
  join?: { strategy: string; maxPending: number };
}

/** The run of median time among `runs` (the lower middle one of an even count). */
export function medianRun<T extends { ms: number }>(runs: readonly T[]): T {
  return [...runs].sort((x, y) => x.ms - y.ms)[Math.floor((runs.length - 1) / 2)]!;
}

// Asynchronous on purpose: a receiver may answer from the bench's process while the child runs.
export async function measurePhase(here: string, phase: string, configFile: string, ...args: string[]): Promise<Measured> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(here, 'child.mjs'), phase, configFile, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
}

/** `parity start` (bin/parity.js, the bundle in dist/cli/) on a config, once it serves: its URL, the process, and its stderr so far. */
export async function startAgent(here: string, configFile: string): Promise<{ child: ChildProcess; api: string; exited: Promise<unknown>; stderr: () => string }> {
  const child = spawn(process.execPath, [path.join(here, '../bin/parity.js'), 'start', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PARITY_LOG_LEVEL: 'warn' } });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = once(child, 'exit');
  const end = Date.now() + 30_000;
  let api = '';
  while (!api && Date.now() < end) {
    api = /agent serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1] ?? '';
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!api) {
    child.kill('SIGKILL');
    throw new Error(`the agent did not start: ${err}`);
  }
  return { child, api, exited, stderr: () => err };
}

/** The products entity the bench builds: fields as a shop would map them. */
export const PRODUCT_FIELDS = { sku: 'sku', name: 'name', price: { from: 'price', transform: 'decimal(2)' }, stock: { from: 'stock', transform: 'int' } };

/** A SQLite `products` table compared with the reference receiver's `items`, read by cursor pages of 1,000. */
export function productsToReceiver(erpUrl: string, receiverUrl: string) {
  return {
    systems: { erp: { type: 'sql', url: erpUrl, pageSize: 5000 }, shop: { type: 'http', baseUrl: receiverUrl, timeoutMs: 60000 } },
    entities: {
      items: {
        key: ['sku'],
        source: { system: 'erp', table: 'products', fields: PRODUCT_FIELDS },
        target: { system: 'shop', path: '/items', list: 'items', pagination: { type: 'cursor', cursorParam: 'after', nextCursor: 'next_cursor', sizeParam: 'limit', size: 1000 }, fields: PRODUCT_FIELDS },
      },
    },
  };
}


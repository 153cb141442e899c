// SIGTERM to `parity run` while it writes a SQL target, and while it reads the target back to
// verify: the process exits 0 within shutdownTimeoutS, the run is recorded `cancelled`, the
// rows not written are pending (not rejected), and the next run finishes the job.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const N = 2000;
const SHUTDOWN_S = 10;

function startRun(config: string) {
  const child = spawn(process.execPath, agentArgs('run', '--config', config), {
    cwd: ROOT,
    env: { ...process.env, PARITY_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  return { child, exited, stderr: () => stderr };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('SIGTERM during a run that writes a SQL target', () => {
  const dir = tempDir();
  const config = path.join(dir, 'parity.yaml');
  let shop: Sequelize;
  const count = async () => ((await shop.query('SELECT count(*) AS n FROM items', { plain: true })) as { n: number }).n;

  beforeAll(async () => {
    const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
    await erp.query('CREATE TABLE products (sku TEXT PRIMARY KEY, qty INTEGER)');
    await erp.query(`INSERT INTO products VALUES ${Array.from({ length: N }, (_, i) => `('S${String(i).padStart(5, '0')}', ${i})`).join(', ')}`);
    await erp.close();
    shop = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'shop.db'), logging: false });
    // WAL: this test's reads never block the agent's writes.
    await shop.query('PRAGMA journal_mode=WAL');
    await shop.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
    await shop.query('CREATE TABLE pad (n INTEGER)');
    await shop.query(`INSERT INTO pad VALUES ${Array.from({ length: 700 }, (_, i) => `(${i})`).join(', ')}`);
    await shop.query('CREATE TABLE burn (n INTEGER)');
    // Each row written costs a 490,000-row join: the push takes many seconds.
    await shop.query('CREATE TRIGGER slow_insert AFTER INSERT ON items BEGIN INSERT INTO burn SELECT count(*) FROM pad a, pad b; END');
    writeFileSync(
      config,
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
agent: { shutdownTimeoutS: ${SHUTDOWN_S} }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: sql, url: "sqlite:shop.db", pageSize: 50 }
entities:
  items:
    key: sku
    source: { system: erp, table: products }
    target: { system: shop, table: items, write: { batchSize: 20 } }
`,
    );
  });
  afterAll(async () => {
    await shop.close();
  });

  it('during the push: exit 0 within shutdownTimeoutS, recorded cancelled, the rest pending for the next run', async () => {
    const run = startRun(config);
    await until('the first rows written', async () => (await count()) >= 40);
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const { code, at } = await run.exited;
    expect(code, run.stderr()).toBe(0);
    expect(at - sent).toBeLessThan(SHUTDOWN_S * 1000);
    expect(run.stderr()).toContain('recorded as cancelled');
    const written = await count();
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(N);

    const runs = await runCli(['runs', '--config', config]);
    expect(runs.stdout.split('\n').find((l) => l.includes(' cli '))).toMatch(/ cancelled /);
    const report = JSON.parse(readFileSync(path.join(dir, 'reports', 'latest.json'), 'utf8')) as { entities: { outcome: string; sync: { created: number; rejected: number; pending: number } }[] };
    expect(report.entities[0]).toMatchObject({ outcome: 'deferred', sync: { created: written, rejected: 0, pending: N - written } });

    // The next run (writes fast again) finishes the job.
    await shop.query('DROP TRIGGER slow_insert');
    const next = await runCli(['run', '--config', config]);
    expect(next.code, next.stderr).toBe(0);
    expect(await count()).toBe(N);
  }, 120_000);

  it('during the verify re-read: exit 0 at once, recorded cancelled; the pushed rows stay', async () => {
    await shop.query('DELETE FROM items');
    // Reading the target back is slow now: each row costs a join (the first compare reads an empty table).
    writeFileSync(config, readFileSync(config, 'utf8').replace('target: { system: shop, table: items,', 'target: { system: shop, table: items, where: "(SELECT count(*) FROM pad a, pad b WHERE a.n < length(sku) * 100) > 0",'));
    const run = startRun(config);
    await until('the rows written and the verify started', () => run.stderr().includes('"msg":"rows written"'));
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const { code, at } = await run.exited;
    expect(code, run.stderr()).toBe(0);
    // The verify stops at the next page: far sooner than the deadline.
    expect(at - sent).toBeLessThan(5000);
    expect(run.stderr()).toContain('recorded as cancelled');
    expect(await count()).toBe(N);
    const runs = await runCli(['runs', '--config', config]);
    expect(runs.stdout.split('\n').filter((l) => / cancelled /.test(l))).toHaveLength(2);
  }, 120_000);
});

// `parity start` as a child process: an every-2s schedule against the receiver, runs seen
// through /runs, POST /runs (202, then 409 during it), live progress in /status, the health
// gauge in /metrics, and SIGTERM during a push: exit 0, and what was not sent stays pending
// for the next run, which completes it with every record applied once.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'daemon-e2e-token-41b7';
const N = 400;
const dir = tempDir();
const configFile = path.join(dir, 'parity.yaml');
let receiver: Receiver;
let erp: Sequelize;
let applyDelayMs = 0;
let child: ChildProcess | null = null;
let stderr = '';
let api = '';

const auth = { Authorization: `Bearer ${TOKEN}` };
const get = async (route: string) => {
  const res = await fetch(`${api}${route}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}\n${stderr.slice(-2000)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
  await erp.query(`INSERT INTO items VALUES ${Array.from({ length: N }, (_, i) => `('S${String(i).padStart(4, '0')}', ${i})`).join(', ')}`);
  receiver = await createReceiver({ beforeApply: async () => void (await sleep(applyDelayMs)) });
  const { url } = await receiver.listen(0);
  // A fixed port, so that `parity status` finds the agent from the config.
  const port = await freePort();
  writeFileSync(
    configFile,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
server: { host: 127.0.0.1, port: ${port}, token: "\${PARITY_TOKEN}" }
schedule: { incremental: every 2s }
agent: { shutdownTimeoutS: 10 }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${url}", concurrency: 1 }
entities:
  items:
    key: [sku]
    source: { system: erp, table: items, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target:
      system: shop
      path: /items
      list: items
      fields: { sku: sku, qty: { from: qty, transform: int } }
      write: { path: /sync/items, batchSize: 10 }
`,
  );
  child = spawn(process.execPath, agentArgs('start', '--config', configFile), {
    cwd: ROOT,
    env: { ...process.env, PARITY_CONFIG: '', PARITY_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  api = await until('the agent to serve', async () => /agent serving (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1]);
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await erp.close();
  await receiver.close();
});

describe('parity start', () => {
  it('runs on the schedule, takes POST /runs (409 while busy), shows progress and metrics, and stops cleanly on SIGTERM mid-push', async () => {
    // At least two completed runs from the schedule.
    const runs = await until('two scheduled runs', async () => {
      const { body } = await get('/runs?limit=50');
      const done = (body.runs as { status: string; trigger: string }[]).filter((r) => r.status === 'completed' && r.trigger === 'schedule');
      return done.length >= 2 ? done : null;
    });
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect((await receiver.records('items')).size).toBe(N);

    // A slow push: every record changes, each batch of 10 takes 150 ms at the receiver.
    applyDelayMs = 150;
    await erp.query('UPDATE items SET qty = qty + 1');
    await until('the agent to be idle', async () => (await get('/status')).body.state === 'idle');
    const post = await fetch(`${api}/runs`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'full' }) });
    // The schedule may have started the run first; then this trigger is the busy one.
    expect([202, 409]).toContain(post.status);
    const second = await fetch(`${api}/runs`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{}' });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: 'a run is in progress' });

    const progress = await until('progress of the push in /status', async () => {
      const { body } = await get('/status');
      const current = body.current as { entity: string; phase: string; batchesSent: number; recordsRead: number } | null;
      return body.state === 'running' && current?.phase === 'sync' && current.batchesSent > 2 ? current : null;
    });
    expect(progress).toMatchObject({ entity: 'items', phase: 'sync' });
    expect(progress.recordsRead).toBe(2 * N);

    const metrics = await (await fetch(`${api}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/^parity_health_score \d+(\.\d+)?$/m);
    expect(metrics).toMatch(/^parity_runs_total\{status="completed",trigger="schedule"\} \d+$/m);
    expect(metrics).toMatch(/^parity_run_in_progress 1$/m);
    expect(metrics).toContain('process_resident_memory_bytes');

    // parity status asks the running agent.
    const live = await runCli(['status', '--json', '--config', configFile], { env: { PARITY_TOKEN: TOKEN } });
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ source: 'agent', state: 'running', current: { entity: 'items' } });

    // SIGTERM during the push: the current batch finishes, the rest stays pending.
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('"msg":"agent stopped"');
    const store = await StateStore.open('sqlite:state.db', dir);
    const pending = await store.pendingCount();
    await store.close();
    expect(pending).toBeGreaterThan(0);

    // With no agent answering, parity status reads the state store.
    const offline = await runCli(['status', '--config', configFile], { env: { PARITY_TOKEN: TOKEN } });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/^source: the state store \(no agent answers at http:\/\/127\.0\.0\.1:\d+: /);
    expect(offline.stdout).toContain(`outbox: ${pending} pending batch`);
    expect(offline.stdout).not.toContain(TOKEN);

    // The next run sends what was pending first and finishes the job: each version once.
    applyDelayMs = 0;
    const after = await runCli(['run', '--json', '--config', configFile], { env: { PARITY_TOKEN: TOKEN } });
    expect(after.code, after.stderr).toBe(0);
    expect(parseReport(after.stdout).entities[0].sync.pending).toBe(0);
    const held = await receiver.records('items');
    expect(held.size).toBe(N);
    for (let i = 0; i < N; i++) expect((held.get(`S${String(i).padStart(4, '0')}`) as { qty: number }).qty).toBe(i + 1);
    expect([...(await receiver.applications('items')).values()].every((n) => n === 1)).toBe(true);
    const check = await StateStore.open('sqlite:state.db', dir);
    expect(await check.pendingCount()).toBe(0);
    await check.close();
  }, 90_000);
});

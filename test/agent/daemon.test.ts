// The agent in-process: the status API's auth and path checks, a schedule faster than the
// runs (never overlapped, skipped triggers counted), the catch-up of a missed slot, and
// alerts to a loopback webhook on a band drop, a failure and the recovery.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { Agent } from '../../src/agent/daemon.js';
import { silentLogger } from '../../src/agent/logger.js';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { onClock, useFakeClock } from '../helpers/clock.js';

const TOKEN = 'status-token-7d1c2e';
let receiver: Receiver;
let shopUrl = '';
let applyDelayMs = 0;
const agents: Agent[] = [];

beforeAll(async () => {
  receiver = await createReceiver({ beforeApply: () => new Promise((r) => setTimeout(r, applyDelayMs)) });
  ({ url: shopUrl } = await receiver.listen(0));
  return () => receiver.close();
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  applyDelayMs = 0;
});

/** A fresh folder with an ERP of `n` items and a config pointing at the receiver's entity. */
async function setup(extra: string, options: { n?: number; entity?: string; port?: number } = {}) {
  const dir = tempDir();
  const n = options.n ?? 50;
  const entity = options.entity ?? `items_${Math.random().toString(36).slice(2, 8)}`;
  const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER)');
  await erp.query(`INSERT INTO items VALUES ${Array.from({ length: n }, (_, i) => `('S${String(i).padStart(4, '0')}', ${i})`).join(', ')}`);
  writeFileSync(
    path.join(dir, 'parity.yaml'),
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
${extra}
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${shopUrl}", concurrency: 1 }
entities:
  ${entity}:
    key: [sku]
    source: { system: erp, table: items, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target:
      system: shop
      path: /${entity}
      list: items
      fields: { sku: sku, qty: { from: qty, transform: int } }
      write: { path: /sync/${entity}, batchSize: 10 }
`,
  );
  const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
  const store = await StateStore.open('sqlite:state.db', dir);
  const agent = new Agent(loaded, store, { logger: silentLogger() });
  agents.push(agent);
  return { dir, erp, agent, store, entity };
}

describe('status API auth', () => {
  it('with a token: 401 without it or with a wrong one on every route but /healthz', async () => {
    const { agent, erp } = await setup(`server: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
    await erp.close();
    const { url } = await agent.start();
    const routes: [string, string][] = [
      ['GET', '/status'],
      ['GET', '/runs'],
      ['GET', '/runs/00000000-0000-0000-0000-000000000000'],
      ['GET', '/reports/latest'],
      ['GET', '/reports/latest.md'],
      ['POST', '/runs'],
      ['GET', '/metrics'],
    ];
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (const [method, route] of routes) {
      expect((await fetch(`${url}${route}`, { method })).status, `${method} ${route} without a token`).toBe(401);
      expect((await fetch(`${url}${route}`, { method, headers: { Authorization: 'Bearer wrong-token' } })).status, `${method} ${route} with a wrong token`).toBe(401);
      expect((await fetch(`${url}${route}`, { method, headers: { Authorization: `bearer ${TOKEN}` } })).status, `${method} ${route}, wrong scheme`).toBe(401);
    }
    const ok = await fetch(`${url}/status`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ state: 'idle', version: '0.1.0' });
  });

  it('without a token: a non-loopback host refuses to start, and POST /runs is off', async () => {
    const exposed = await setup('server: { host: 0.0.0.0, port: 0 }');
    await exposed.erp.close();
    await expect(exposed.agent.start()).rejects.toThrow(/server\.host "0\.0\.0\.0" is not a loopback address: set server\.token/);
    const local = await setup('server: { host: 127.0.0.1, port: 0 }');
    await local.erp.close();
    const { url } = await local.agent.start();
    const post = await fetch(`${url}/runs`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { error: string }).error).toMatch(/set server\.token/);
  });

  it('a body over 64 KB gets 413 without being read; /status answers from memory alone', async () => {
    const { agent, erp, store } = await setup(`server: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
    await erp.close();
    const { url } = await agent.start();
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const big = await fetch(`${url}/runs`, { method: 'POST', headers: auth, body: JSON.stringify({ mode: 'full', pad: 'x'.repeat(200 * 1024) }) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: 'the request body is over 64 KB' });
    expect(agent.running).toBeNull();
    // With the state store gone, /status still answers: it touches nothing but memory.
    await store.close();
    const status = await fetch(`${url}/status`, { headers: auth });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ state: 'idle', outboxPending: 0, lastRun: null });
  });

  it('report paths never leave the reports folder', async () => {
    const { agent, erp, dir } = await setup(`server: { host: 127.0.0.1, port: 0, token: ${TOKEN} }`);
    await erp.close();
    writeFileSync(path.join(dir, 'secret.txt'), 'do not serve');
    const { url } = await agent.start();
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const attempts = [
      '/reports/..%2F..%2Fetc%2Fpasswd',
      '/reports/..%2Fsecret.txt',
      '/reports/%2E%2E%2Fsecret.txt',
      '/reports/..%5Csecret.txt',
      '/reports/latest%00.md',
      '/reports/../secret.txt',
      '/reports/latest.md%2F..%2F..%2Fsecret.txt',
      '/reports/00000000-0000-0000-0000-000000000000.txt',
    ];
    for (const a of attempts) {
      const res = await fetch(`${url}${a}`, { headers: auth });
      const body = await res.text();
      expect([400, 404], `${a} answered ${res.status}`).toContain(res.status);
      expect(body).not.toContain('do not serve');
      expect(body).not.toContain('root:');
    }
  });
});

describe('shutdown', () => {
  it('past shutdownTimeoutS a run still reading is cancelled, recorded as such, and the agent stops within the deadline', async () => {
    // A source that pages slowly for ever: the run cannot end by itself before the deadline.
    const slow = new Hono();
    let page = 0;
    slow.get('/items', async (c) => {
      await new Promise((r) => setTimeout(r, 100));
      page++;
      return c.json({ items: [{ sku: `S${page}`, qty: page }], next: `p${page}` });
    });
    const base = await serveApp(slow);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'copy.csv'), 'sku,qty\nS1,1\n');
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
agent: { shutdownTimeoutS: 3 }
server: { host: 127.0.0.1, port: 0 }
systems:
  slow: { type: http, baseUrl: "${base}" }
  copy: { type: csv, path: copy.csv }
entities:
  items:
    key: [sku]
    source: { system: slow, path: /items, list: items, pagination: { type: cursor, nextCursor: next } }
    target: { system: copy }
`,
    );
    const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
    const agent = new Agent(loaded, await StateStore.open('sqlite:state.db', dir), { logger: silentLogger() });
    await agent.start();
    const runId = agent.trigger({ mode: 'full', trigger: 'api' })!;
    while ((agent.running?.recordsRead ?? 0) < 3) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await agent.stop();
    const seconds = (performance.now() - t0) / 1000;
    // It waits for the run until shortly before the 3 s deadline, then cancels it; closing the
    // server and the store after that takes a moment more.
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(3.5);
    const store = await StateStore.open('sqlite:state.db', dir);
    try {
      expect((await store.getRun(runId))?.run).toMatchObject({ status: 'cancelled' });
    } finally {
      await store.close();
    }
  }, 60_000);
});

/** Lets `ms` of fake time pass, real I/O going on meanwhile. */
const pass = (ms: number) => onClock(new Promise((r) => setTimeout(r, ms)));

// On a fake clock: the schedule, the receiver's delays and the alert backoff wait no real time.
describe('the schedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a run longer than the interval is never overlapped; the skipped triggers are counted', async () => {
    applyDelayMs = 700; // 5 batches of 10: a run takes about 3.5 s, the schedule fires every second
    const { agent, store, erp } = await setup('schedule: { incremental: every 1s }\nserver: { host: 127.0.0.1, port: 0 }');
    await erp.close();
    useFakeClock();
    await agent.start();
    await pass(4500);
    await onClock(agent.whenIdle());
    const runs = (await store.listRuns(50)).filter((r) => r.trigger === 'schedule').sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    expect(runs.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt!.getTime());
    const metrics = await agent.metrics.registry.getSingleMetricAsString('parity_skipped_triggers_total');
    const skipped = Number(/parity_skipped_triggers_total\{reason="run in progress"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(skipped).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a scheduled full run that meets an incremental run is queued and runs next (one at most)', async () => {
    const { agent, store, erp } = await setup('server: { host: 127.0.0.1, port: 0 }');
    await erp.close();
    await agent.start();
    const first = agent.trigger({ mode: 'incremental', trigger: 'schedule' });
    expect(first).not.toBeNull();
    // Twice while the incremental run goes on: one full run waits, not two; an API trigger is still refused.
    expect(agent.trigger({ mode: 'full', trigger: 'schedule' })).toBeNull();
    expect(agent.trigger({ mode: 'full', trigger: 'schedule' })).toBeNull();
    expect(agent.status()).toMatchObject({ state: 'running', queued: 'full' });
    expect(agent.trigger({ mode: 'full', trigger: 'api' })).toBeNull();
    await agent.whenIdle();
    const runs = (await store.listRuns(10)).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    // (Both read in full: this entity has no watermark; the run's recorded mode is the mode it used.)
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([
      ['schedule', 'completed'],
      ['schedule', 'completed'],
    ]);
    expect(runs[0]!.id).toBe(first);
    expect(runs[1]!.startedAt.getTime()).toBeGreaterThanOrEqual(runs[0]!.finishedAt!.getTime());
    expect(agent.status()).toMatchObject({ state: 'idle', queued: null });
  }, 60_000);

  it('after a restart, /metrics shows the last run\'s health from the start, not 0', async () => {
    const { agent, store, erp } = await setup('server: { host: 127.0.0.1, port: 0 }');
    await erp.close();
    await store.startRun({ id: '22222222-2222-4222-8222-222222222222', mode: 'full', trigger: 'cli', dryRun: false, startedAt: new Date(Date.now() - 60_000) });
    await store.finishRun('22222222-2222-4222-8222-222222222222', 'completed', { schemaVersion: 1, runId: '22222222-2222-4222-8222-222222222222', mode: 'full', dryRun: false, trigger: 'cli', startedAt: new Date(Date.now() - 60_000).toISOString(), finishedAt: new Date().toISOString(), durationMs: 1, health: { score: 87.5, status: 'warning', overallMatch: 90 }, entities: [] }, null);
    await agent.start();
    expect(await agent.metrics.registry.getSingleMetricAsString('parity_health_score')).toMatch(/^parity_health_score 87\.5$/m);
  });

  it('a slot missed while the agent was down is run once at start, not once per missed slot', async () => {
    const { agent, store, erp } = await setup('schedule: { incremental: every 10m }\nserver: { host: 127.0.0.1, port: 0 }');
    await erp.close();
    // The last run started 2 hours ago: 11 slots were missed.
    const old = new Date(Date.now() - 2 * 3_600_000);
    await store.startRun({ id: '11111111-1111-4111-8111-111111111111', mode: 'incremental', trigger: 'schedule', dryRun: false, startedAt: old });
    await store.finishRun('11111111-1111-4111-8111-111111111111', 'completed', null, null);
    useFakeClock();
    const started = Date.now();
    await agent.start();
    await onClock(agent.whenIdle());
    // Up to the first regular slot (ten minutes after the start): the one catch-up run.
    await pass(Math.max(0, started + 10 * 60_000 - 1000 - Date.now()));
    const runs = (await store.listRuns(50)).filter((r) => r.startedAt > old);
    expect(runs.every((r) => r.startedAt.getTime() < started + 10 * 60_000)).toBe(true);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'schedule', status: 'completed' });
  }, 60_000);
});

describe('alerts', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an alert that cannot be delivered is retried, logged, and never fails the run', async () => {
    let calls = 0;
    const hook = new Hono();
    hook.post('/hook', (c) => {
      calls++;
      return c.json({ error: 'down' }, 503);
    });
    const hookUrl = await serveApp(hook);
    const { agent, erp } = await setup(`alerts: { webhook: "${hookUrl}/hook" }\nserver: { host: 127.0.0.1, port: 0 }`);
    await agent.start();
    // Make the run fail: the ERP table is gone.
    await erp.query('ALTER TABLE items RENAME TO items_gone');
    useFakeClock();
    const runId = agent.trigger({ mode: 'full', trigger: 'api' });
    await onClock(agent.whenIdle());
    vi.useRealTimers();
    expect(calls).toBe(4); // the first attempt and 3 retries
    const run = await agent.store.getRun(runId!);
    expect(run?.run.status).toBe('failed');
    // The agent goes on: the next trigger runs.
    await erp.query('ALTER TABLE items_gone RENAME TO items');
    expect(agent.trigger({ mode: 'full', trigger: 'api' })).not.toBeNull();
    await agent.whenIdle();
    await erp.close();
  }, 60_000);

  it('exactly one message on a band drop, one on failure, one on recovery', async () => {
    const messages: { text: string; event: string; health: unknown }[] = [];
    const hook = new Hono();
    hook.post('/hook', async (c) => {
      messages.push(await c.req.json());
      return c.json({ ok: true });
    });
    const hookUrl = await serveApp(hook);
    const { agent, erp, dir, entity } = await setup(`alerts: { webhook: "${hookUrl}/hook" }\nserver: { host: 127.0.0.1, port: 0 }`, { n: 100 });
    await agent.start();
    const run = async () => {
      expect(agent.trigger({ mode: 'full', trigger: 'api' })).toMatch(/^[0-9a-f-]{36}$/);
      await agent.whenIdle();
    };
    await run(); // pushes everything: the next run is perfect
    await run();
    expect(messages).toHaveLength(0);
    expect((await receiver.records(entity)).size).toBe(100);
    // 30 of 100 records change in the ERP and the entity becomes report-only (nothing is
    // pushed): the match falls to 70%, the band to critical.
    const yaml = path.join(dir, 'parity.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(`    key: [sku]\n`, `    key: [sku]\n    conflict: report-only\n`));
    await erp.query("UPDATE items SET qty = qty + 1000 WHERE sku < 'S0030'");
    const reloaded = await loadConfig(yaml);
    Object.assign(agent.loaded, reloaded);
    await run();
    expect(messages.map((m) => m.event)).toEqual(['critical']);
    expect(messages[0]!.text).toMatch(/^parity: health fell from perfect to critical \(\d+\.\d+\)$/);
    await run(); // still critical: no second message
    expect(messages).toHaveLength(1);
    // The ERP goes away: the run fails.
    await erp.query('ALTER TABLE items RENAME TO items_gone');
    await run();
    await run(); // still failing: no second message
    expect(messages.map((m) => m.event)).toEqual(['critical', 'failed']);
    expect(messages[1]!.text).toMatch(/^parity: run [0-9a-f-]{36} failed: /);
    // Back, and in step again.
    await erp.query('ALTER TABLE items_gone RENAME TO items');
    await erp.query("UPDATE items SET qty = qty - 1000 WHERE sku < 'S0030'");
    await run();
    expect(messages.map((m) => m.event)).toEqual(['critical', 'failed', 'recovered']);
    expect(messages[2]).toMatchObject({ text: expect.stringMatching(/^parity: recovered, health 100\.00 \(perfect\)$/), health: { status: 'perfect' } });
    await erp.close();
  }, 30_000);
});

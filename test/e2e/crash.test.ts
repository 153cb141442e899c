// Kill -9 in the middle of a push, 12 times: the CLI pushes 5,000 changed records (100
// batches of 50) to the receiver and is killed with SIGKILL after a random number of batches
// (and a random extra delay); a normal run follows each kill. At the end the receiver holds exactly the source
// and no record version was applied twice. Also: a batch the receiver refuses whole (422) is
// quarantined through a run and reported.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { prng } from '../../examples/demo/data.js';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

// 5,000 records in 100 batches, killed 12 times at random moments (any batch, any point in
// it): each kill is followed by a normal run that must finish the job. About 6 s a round.
const N = 5_000;
const BATCH = 50;
const KILLS = Number(process.env.PARITY_TEST_KILLS ?? 12);
const dir = tempDir();
let receiver: Receiver;
let erp: Sequelize;
const configFile = path.join(dir, 'parity.yaml');
/** Batches the fault layer refuses whole: those holding this localId. */
let refuse: string | null = null;

beforeAll(async () => {
  mkdirSync(path.join(dir, 'data'));
  erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'data/erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL)');
  const rows = Array.from({ length: N }, (_, i) => [`S${String(i).padStart(5, '0')}`, i]);
  for (let i = 0; i < N; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await erp.query(`INSERT INTO items VALUES ${chunk.map(() => '(?, ?)').join(', ')}`, { replacements: chunk.flat() });
  }
  receiver = await createReceiver();
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.use('/sync/*', async (c, next) => {
    if (refuse && (await c.req.raw.clone().text()).includes(`"localId":"${refuse}"`)) return c.json({ error: `qty of ${refuse} is out of range` }, 422);
    return next();
  });
  app.route('/', receiver.app);
  const url = await serveApp(app);
  writeFileSync(
    configFile,
    `version: 1
state: sqlite:data/state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:data/erp.db" }
  shop: { type: http, baseUrl: "${url}", retry: { retries: 2, baseMs: 20, maxMs: 200 } }
entities:
  items:
    key: [sku]
    source: { system: erp, table: items, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target:
      system: shop
      path: /items
      list: items
      pagination: { type: cursor, cursorParam: after, sizeParam: limit, size: 1000, nextCursor: next_cursor }
      fields: { sku: sku, qty: { from: qty, transform: int } }
      write: { path: /sync/items, batchSize: ${BATCH}, verify: false }
`,
  );
}, 60_000);
afterAll(async () => {
  await erp.close();
  await receiver.close();
});

/** Spawns `parity run` and kills it with SIGKILL after `afterBatches` batches were sent, plus `delayMs`. */
function runAndKill(afterBatches: number, delayMs: number): Promise<{ killed: boolean; batches: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, agentArgs('run', '--config', configFile), {
      cwd: ROOT,
      env: { ...process.env, PARITY_CONFIG: '', PARITY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let batches = 0;
    let armed = false;
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.includes('"batch sent"')) batches++;
      if (!armed && batches >= afterBatches) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ killed: signal === 'SIGKILL', batches }));
  });
}

async function expectReceiverHoldsSource() {
  const source = await erp.query<{ sku: string; qty: number }>('SELECT sku, qty FROM items', { type: QueryTypes.SELECT });
  const held = await receiver.records('items');
  expect(held.size).toBe(N);
  for (const r of source) expect((held.get(r.sku) as { qty: number } | undefined)?.qty, r.sku).toBe(r.qty);
  const applied = await receiver.applications('items');
  const twice = [...applied].filter(([, n]) => n !== 1);
  expect(twice, 'record versions applied more than once').toEqual([]);
}

describe('SIGKILL during a push', () => {
  it(`${KILLS} kills at random moments, each followed by a normal run: nothing lost, nothing applied twice`, async () => {
    const rnd = prng(20261122);
    let killedMidPush = 0;
    for (let round = 1; round <= KILLS; round++) {
      // Every record changes, so the run pushes all of them (100 batches).
      await erp.query('UPDATE items SET qty = qty + 1');
      const { killed, batches } = await runAndKill(Math.floor(rnd() * 90), Math.floor(rnd() * 30));
      if (killed && batches < N / BATCH) killedMidPush++;
      const after = await runCli(['run', '--json', '--config', configFile], {});
      expect(after.code, after.stderr).toBe(0);
      const items = parseReport(after.stdout).entities[0];
      expect(['synced', 'in-sync']).toContain(items.outcome);
      expect(items.sync.pending).toBe(0);
      await expectReceiverHoldsSource();
    }
    expect(killedMidPush).toBe(KILLS);
    const store = await StateStore.open('sqlite:data/state.db', dir);
    expect(await store.pendingCount()).toBe(0);
    // Each killed run was marked abandoned by the run after it; none is left `running`.
    const runs = await store.listRuns(1000);
    expect(runs.filter((r) => r.status === 'running')).toEqual([]);
    expect(runs.filter((r) => r.status === 'abandoned')).toHaveLength(KILLS);
    expect(runs.find((r) => r.status === 'abandoned')!.error).toMatch(/^abandoned: the process running it \(.+\) stopped before the run ended/);
    await store.close();
  }, 600_000);

  it('a batch refused whole with 422 is quarantined with the reason; the other batches are applied', async () => {
    await erp.query("UPDATE items SET qty = qty + 1 WHERE sku < 'S00300'");
    refuse = 'S00150';
    try {
      const result = await runCli(['run', '--json', '--config', configFile], {});
      expect(result.code).toBe(0);
      const items = parseReport(result.stdout).entities[0];
      expect(items.quarantined).toHaveLength(1);
      expect(items.quarantined[0]).toMatch(/^system "shop": POST \/sync\/items: HTTP 422: .*qty of S00150 is out of range/);
      expect(items.sync).toMatchObject({ updated: 250, pending: 0 });
      const held = await receiver.records('items');
      const qty = (sku: string) => (held.get(sku) as { qty: number }).qty;
      // S00150–S00199 were one batch: refused, so the shop keeps their old quantity.
      expect(qty('S00150')).toBe(150 + KILLS);
      expect(qty('S00250')).toBe(250 + KILLS + 1);
      const store = await StateStore.open('sqlite:data/state.db', dir);
      expect(await store.pendingCount()).toBe(0);
      // The run's history holds each record of the refused batch, with the batch's reason.
      const { records } = await store.runRecords(parseReport(result.stdout).runId, { status: 'quarantined', limit: 1000 });
      expect(records.map((r) => r.key)).toEqual(Array.from({ length: 50 }, (_, i) => `S00${150 + i}`));
      expect(records[0]!.reason).toMatch(/HTTP 422: .*qty of S00150 is out of range/);
      await store.close();
    } finally {
      refuse = null;
    }
  }, 60_000);
});

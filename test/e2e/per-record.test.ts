// A per-record REST target (no batch endpoint, no idempotency keys): json-server from npm,
// behind a fault layer that loses answers after json-server applied the request, answers
// 503 and 429. After the runs json-server holds exactly the source and no record twice.
// Then SIGKILLs during a 5,000-record push (6 by default; PARITY_TEST_KILLS sets more) end the same way.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../examples/demo/data.js';
import { StateStore } from '../../src/agent/state/store.js';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { startJsonServer, type JsonServer } from '../helpers/json-server.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

interface Item {
  sku: string;
  name: string;
  qty: number;
}

function config(url: string, retries = 3, extra = ''): string {
  return `version: 1
state: sqlite:data/state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:data/erp.db" }
  shop: { type: http, baseUrl: "${url}", concurrency: 4, retry: { retries: ${retries}, baseMs: 5, maxMs: 40 }${extra} }
entities:
  items:
    key: [sku]
    source: { system: erp, table: items, fields: { sku: sku, name: name, qty: { from: qty, transform: int } } }
    target:
      system: shop
      path: /items
      pagination: { type: page, pageParam: _page, sizeParam: _limit, size: 500 }
      fields: { sku: sku, name: name, qty: { from: qty, transform: int } }
      write:
        mode: per-record
        create: { method: POST, path: /items }
        update: { method: PUT, path: "/items/{remoteId}" }
        delete: { method: DELETE, path: "/items/{remoteId}" }
        remoteId: id
        lookup: { path: /items, param: sku }
    safety: { maxDeleteRatio: 0.5 }
`;
}

async function sourceDb(dir: string, items: Item[]): Promise<Sequelize> {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'data/erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)');
  for (let i = 0; i < items.length; i += 2000) {
    const chunk = items.slice(i, i + 2000);
    await erp.query(`INSERT INTO items VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, { replacements: chunk.flatMap((r) => [r.sku, r.name, r.qty]) });
  }
  return erp;
}

/** A folder with the source table, json-server holding `held` behind its fault layer, and the
 *  config (made from json-server's URL); started before the describe's tests, closed after. */
function world(source: Item[], held: Record<string, unknown>[], configOf: (url: string) => string) {
  const dir = tempDir();
  const w = { dir, configFile: path.join(dir, 'parity.yaml'), server: null as unknown as JsonServer, erp: null as unknown as Sequelize };
  beforeAll(async () => {
    w.erp = await sourceDb(dir, source);
    w.server = await startJsonServer(dir, { items: held });
    writeFileSync(w.configFile, configOf(w.server.url));
  }, 60_000);
  afterAll(async () => {
    await w.erp?.close();
    await w.server?.close();
  });
  return w;
}

/** json-server holds exactly the source: every key once, with the source's values. */
async function expectHoldsExactly(server: JsonServer, source: Item[]) {
  const held = await server.records('items');
  const bySku = new Map<string, Record<string, unknown>[]>();
  for (const r of held) bySku.set(String(r.sku), [...(bySku.get(String(r.sku)) ?? []), r]);
  const twice = [...bySku].filter(([, rs]) => rs.length > 1).map(([sku]) => sku);
  expect(twice, 'records created twice').toEqual([]);
  expect(held.length).toBe(source.length);
  for (const s of source) {
    const r = bySku.get(s.sku)?.[0];
    expect(r ? { sku: r.sku, name: r.name, qty: Number(r.qty) } : null, s.sku).toEqual(s);
  }
}

describe('per-record target: json-server behind lost answers, 429 and 5xx', () => {
  const rnd = prng(20261205);
  const source: Item[] = Array.from({ length: 300 }, (_, i) => ({ sku: `P${String(i).padStart(4, '0')}`, name: `Part ${i}`, qty: i % 17 }));
  // The target already holds 100 of the records (40 with another name) and 10 the source
  // lacks: 200 creates, 40 updates found by lookup, 10 deletes.
  const held = [
    ...source.slice(0, 100).map((r, i) => ({ id: i + 1, ...r, name: i < 40 ? `old ${r.name}` : r.name })),
    ...Array.from({ length: 10 }, (_, i) => ({ id: 1000 + i, sku: `X${i}`, name: 'gone from the ERP', qty: 1 })),
  ];
  // The breaker has its own test below: here it must not stop runs that meet a fault in four.
  const w = world(source, held, (url) => config(url, 3, ', breaker: { errorThresholdPercentage: 95, volumeThreshold: 50, resetTimeoutMs: 1000 }'));

  beforeAll(() => {
    let tooMany = 0;
    w.server.decide = ({ method }) => {
      const roll = rnd();
      if (method === 'GET') return roll < 0.05 ? '503' : 'pass';
      if (method === 'POST' && tooMany < 3) return (tooMany++, '429');
      return roll < 0.15 ? 'lose' : roll < 0.23 ? '503' : 'pass';
    };
  });

  it('runs until in sync: json-server holds exactly the source, no record twice, the lost creates found again', async () => {
    const outcomes: string[] = [];
    for (let run = 1; run <= 8; run++) {
      const result = await runCli(['run', '--json', '--config', w.configFile]);
      expect([0, 1], result.stderr).toContain(result.code);
      const items = parseReport(result.stdout).entities[0]!;
      // Each run's outcome with what it did, so a failure below says how the runs went.
      outcomes.push(`${items.outcome} ${JSON.stringify({ diff: items.diff, sync: items.sync, error: items.error })}`);
      if (run === 1) {
        expect(items.diff).toMatchObject({ missing: 200, changed: 40, extra: 10 });
        expect(items.sync.rejected, outcomes.join('\n')).toBe(0);
        // A create whose answer was lost and that a lookup found again still counts as created
        // (not updated); what is still pending may be a create or an update.
        expect(items.sync.created + items.sync.updated + items.sync.unchanged + items.sync.pending, outcomes.join('\n')).toBe(240);
        expect(items.sync.created, outcomes.join('\n')).toBeLessThanOrEqual(200);
        expect(items.sync.updated, outcomes.join('\n')).toBeLessThanOrEqual(40);
      }
      if (items.outcome === 'in-sync') break;
    }
    expect(outcomes.at(-1)!.split(' ')[0], outcomes.join('\n')).toBe('in-sync');
    await expectHoldsExactly(w.server, source);
    // The faults happened: creates applied whose answers were lost, 503s and 429s.
    expect(w.server.served.lostCreates).toBeGreaterThan(0);
    expect(w.server.served.lose).toBeGreaterThan(w.server.served.lostCreates);
    expect(w.server.served['503']).toBeGreaterThan(0);
    expect(w.server.served['429']).toBe(3);

    // The ledger holds the remote ID of each record pushed (the 60 that matched were not), as
    // json-server numbered it; the deleted ones hold none.
    const held = new Map((await w.server.records('items')).map((r) => [String(r.sku), String(r.id)]));
    const store = await StateStore.open('sqlite:data/state.db', w.dir);
    const ids = await store.remoteIds('items', [...source.map((s) => s.sku), 'X0', 'X9']);
    expect(ids.size).toBe(240);
    for (const [sku, id] of ids) expect(id, sku).toBe(held.get(sku));
    expect(await store.pendingCount()).toBe(0);
    await store.close();
  }, 240_000);

  it('a record the target refuses (422) is rejected with its reason and not sent again until it changes', async () => {
    const id = (await w.server.records('items')).find((r) => r.sku === 'P0007')!.id;
    const requests: string[] = [];
    w.server.decide = ({ method, url }) => {
      requests.push(`${method} ${url}`);
      return method === 'PUT' && url.startsWith(`/items/${id}`) ? '422' : 'pass';
    };
    const run = async () => {
      const result = await runCli(['run', '--json', '--config', w.configFile]);
      expect(result.code, result.stderr).toBe(0);
      return parseReport(result.stdout).entities[0]!;
    };
    await w.erp.query("UPDATE items SET name = 'bad name' WHERE sku = 'P0007'");
    const first = await run();
    expect(first.sync).toMatchObject({ rejected: 1, updated: 0, pending: 0 });
    expect(first.rejections?.[0]).toMatchObject({ localId: 'P0007' });
    expect(first.rejections?.[0]?.error).toMatch(/PUT \/items\/\d+: HTTP 422: .*name is not allowed/);
    requests.length = 0;
    const second = await run();
    expect(second.sync.rejected + second.sync.updated).toBe(0);
    expect(requests.filter((r) => !r.startsWith('GET'))).toEqual([]);
    // Changed again, it is sent again.
    w.server.decide = () => 'pass';
    await w.erp.query("UPDATE items SET name = 'Part 7 (new)' WHERE sku = 'P0007'");
    const third = await run();
    expect(third.sync.updated).toBe(1);
    await expectHoldsExactly(w.server, source.map((s) => (s.sku === 'P0007' ? { ...s, name: 'Part 7 (new)' } : s)));
  }, 120_000);
});

describe('per-record target: the breaker and the rate limit', () => {
  const source: Item[] = Array.from({ length: 40 }, (_, i) => ({ sku: `B${String(i).padStart(3, '0')}`, name: `Thing ${i}`, qty: i }));
  const w = world(source, [], (url) => config(url, 1, ', rateLimit: { perSecond: 20 }, breaker: { errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 60000 }'));

  it('a target that fails every write opens the breaker: the entity is deferred, few requests were sent, every intent waits; the next run delivers them', async () => {
    let writes = 0;
    w.server.decide = ({ method }) => (method === 'GET' ? 'pass' : (writes++, '503'));
    const first = await runCli(['run', '--json', '--config', w.configFile]);
    expect(first.code, first.stderr).toBe(0);
    const items = parseReport(first.stdout).entities[0]!;
    expect(items.outcome).toBe('deferred');
    expect(items.sync).toMatchObject({ created: 0, pending: 40 });
    // Without the breaker: 40 records × 2 attempts. It opened after a handful.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(20);
    expect((await w.server.records('items')).length).toBe(0);

    const arrivals: number[] = [];
    w.server.decide = () => (arrivals.push(performance.now()), 'pass');
    const second = await runCli(['run', '--json', '--config', w.configFile]);
    expect(second.code, second.stderr).toBe(0);
    expect(parseReport(second.stdout).entities[0]!.sync).toMatchObject({ created: 40, pending: 0 });
    await expectHoldsExactly(w.server, source);
    // The rate limit holds for every request of the run (reads, lookups and writes): at most
    // 20 start in any second, so any 41 arrivals span 2 s. They are stamped at the server, in
    // this busy test process, whose event loop may bunch them: 200 ms of lag allowed (without
    // the limit, 41 requests arrive within a few milliseconds).
    expect(arrivals.length).toBeGreaterThan(40);
    for (let i = 40; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - 40]!).toBeGreaterThan(1800);
  }, 120_000);
});

describe('SIGKILL during a 5,000-record per-record push', () => {
  const N = 5_000;
  const KILLS = Number(process.env.PARITY_TEST_KILLS ?? 6);
  const source: Item[] = Array.from({ length: N }, (_, i) => ({ sku: `S${String(i).padStart(5, '0')}`, name: `Item ${i}`, qty: i % 101 }));
  const w = world(source, [], (url) => config(url, 2));

  /** Runs `parity run`; the fault layer kills it with SIGKILL once json-server has applied
   *  `afterWrites` more requests: the last one applied, its answer never sent. */
  function runAndKill(afterWrites: number): Promise<{ killed: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, agentArgs('run', '--config', w.configFile), {
        cwd: ROOT,
        env: { ...process.env, PARITY_CONFIG: '', PARITY_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      let start: number | null = null;
      w.server.decide = () => 'pass';
      w.server.onApplied = ({ writes }) => {
        start ??= writes;
        if (writes - start + 1 >= afterWrites && child.exitCode === null) child.kill('SIGKILL');
      };
      child.on('error', reject);
      child.on('close', (_code, signal) => resolve({ killed: signal === 'SIGKILL' }));
    });
  }

  it(`${KILLS} kills mid-push, then a normal run: json-server holds exactly the source, nothing created twice`, async () => {
    const rnd = prng(5000);
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      // Spread over the push: each run gets between 100 and 400 records further.
      const result = await runAndKill(100 + Math.floor(rnd() * 300));
      if (result.killed) killed++;
    }
    expect(killed).toBe(KILLS);
    w.server.onApplied = () => undefined;
    const held = await w.server.records('items');
    expect(held.length).toBeGreaterThan(1000);
    expect(held.length).toBeLessThan(N);

    const last = await runCli(['run', '--json', '--config', w.configFile], { env: { PARITY_LOG_LEVEL: 'warn' } });
    expect(last.code, last.stderr).toBe(0);
    const items = parseReport(last.stdout).entities[0]!;
    expect(items.outcome).toBe('synced');
    expect(items.sync.pending).toBe(0);
    await expectHoldsExactly(w.server, source);

    const again = await runCli(['run', '--json', '--config', w.configFile], { env: { PARITY_LOG_LEVEL: 'warn' } });
    expect(parseReport(again.stdout).entities[0]!.outcome).toBe('in-sync');
  }, 420_000);
});

// What a run leaves behind besides its report: its log file (config `logs`: written, named by
// `parity runs`, `runs show` and the API, and pruned by age) and its per-record history (the
// records that were invalid, rejected or still differing after the push; listed by
// `parity runs show RUN_ID --errors` and GET /runs/:id/records, a page at a time, and pruned
// with the reports).
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatusApp } from '../../src/agent/server.js';
import { StateStore } from '../../src/agent/state/store.js';
import { runCli } from '../helpers/cli.js';
import { startJsonServer, type JsonServer } from '../helpers/json-server.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const dir = tempDir();
const configFile = path.join(dir, 'parity.yaml');
let server: JsonServer;
let erp: Sequelize;
let ids: Record<string, unknown>;

beforeAll(async () => {
  mkdirSync(path.join(dir, 'logs'));
  erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT, qty INTEGER)');
  const rows = Array.from({ length: 20 }, (_, i) => `('K${String(i).padStart(2, '0')}', 'Item ${i}', ${i})`);
  await erp.query(`INSERT INTO items VALUES ${rows.join(', ')}, ('K98', 'negative', -1), ('K99', 'negative too', -5)`);
  // The target holds everything but with old names: each valid record is an update.
  const held = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, sku: `K${String(i).padStart(2, '0')}`, name: `old ${i}`, qty: i }));
  ids = Object.fromEntries(held.map((h) => [h.sku, h.id]));
  server = await startJsonServer(dir, { items: held });
  writeFileSync(
    configFile,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json], retentionDays: 2 }
logs: { dir: logs, retentionDays: 7 }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${server.url}", retry: { retries: 0, baseMs: 5, maxMs: 10 } }
entities:
  items:
    key: [sku]
    validate: { qty: { min: 0 } }
    source: { system: erp, table: items, fields: { sku: sku, name: name, qty: { from: qty, transform: int } } }
    target:
      system: shop
      path: /items
      fields: { sku: sku, name: name, qty: { from: qty, transform: int } }
      write:
        mode: per-record
        create: { method: POST, path: /items }
        update: { method: PUT, path: "/items/{remoteId}" }
        remoteId: id
        lookup: { path: /items, param: sku }
`,
  );
}, 60_000);
afterAll(async () => {
  await erp?.close();
  await server?.close();
});

describe('log files', () => {
  it('each run writes its JSON lines to the day\'s file, named by runs and runs show; old files are removed, other files kept', async () => {
    const logs = path.join(dir, 'logs');
    const old = Date.now() - 10 * DAY;
    // Files of parity's shapes, last written 10 days ago (past retentionDays 7), one recent,
    // and a file of someone else's: only the old ones of parity's shapes go.
    for (const [name, at] of [
      ['parity-2026-01-01.log', old],
      ['20260101T000000Z-0b7a9d8e-0000-4000-8000-000000000000.log', old],
      ['notes.log', old],
      ['parity-2026-11-30.log', Date.now() - 2 * DAY],
    ] as const) {
      writeFileSync(path.join(logs, name), '{}\n');
      utimesSync(path.join(logs, name), new Date(at), new Date(at));
    }
    const first = await runCli(['compare', '--json', '--config', configFile]);
    const second = await runCli(['compare', '--json', '--config', configFile]);
    expect(first.code, first.stderr).toBe(0);
    const runIds = [parseReport(first.stdout).runId, parseReport(second.stdout).runId];

    const files = readdirSync(logs).sort();
    const today = `parity-${new Date().toISOString().slice(0, 10)}.log`;
    expect(files).toEqual(['notes.log', 'parity-2026-11-30.log', today].sort());
    // Both runs in the day's file, as JSON lines with their run ID (stderr keeps its lines too).
    const lines = readFileSync(path.join(logs, today), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { runId?: string; msg: string });
    for (const id of runIds) {
      expect(lines.filter((l) => l.runId === id).map((l) => l.msg)).toEqual(expect.arrayContaining(['run started', 'entity compared', 'run finished']));
    }
    expect(first.stderr).toContain('"msg":"run started"');

    const runs = await runCli(['runs', '--json', '--config', configFile]);
    const listed = JSON.parse(runs.stdout) as { id: string; logFile: string | null }[];
    expect(listed.find((r) => r.id === runIds[0])?.logFile).toBe(path.join(logs, today));
    const table = await runCli(['runs', '--config', configFile]);
    expect(table.stdout.split('\n')[0]).toMatch(/health\s+log\s+error/);
    expect(table.stdout).toContain(today);
    const show = await runCli(['runs', 'show', runIds[1]!.slice(0, 8), '--config', configFile]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`log file: ${path.join(logs, today)}`);
  }, 120_000);
});

describe('per-record history', () => {
  let runId = '';

  it('a run records its invalid, rejected and still-differing records with the reason', async () => {
    server.decide = ({ method, url }) => {
      if (method === 'PUT' && url === `/items/${ids.K03}`) return '422';
      // Answered as if applied, applied nothing: the read-back still shows the old name.
      if (method === 'PUT' && url === `/items/${ids.K07}`) return 'ignore';
      return 'pass';
    };
    const result = await runCli(['run', '--json', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    const report = parseReport(result.stdout);
    runId = report.runId;
    const items = report.entities[0]!;
    expect(items.diff).toMatchObject({ changed: 20, invalid: 2 });
    expect(items.sync).toMatchObject({ updated: 19, rejected: 1, stillDiffer: ['K07'] });

    const show = await runCli(['runs', 'show', runId.slice(0, 8), '--errors', '--config', configFile]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('records: 1 rejected, 2 invalid, 1 differing');
    const rows = show.stdout.split('\n').filter((l) => l.startsWith('items '));
    const listed = rows.filter((l) => /\b(rejected|invalid|differing)\b/.test(l) && /K\d\d|row|qty/.test(l));
    expect(listed.find((l) => l.includes('K03'))).toMatch(/target\s+K03\s+rejected\s+system "shop": PUT \/items\/\d+: HTTP 422: .*name is not allowed/);
    expect(listed.find((l) => l.includes('K07'))).toMatch(/target\s+K07\s+differing\s+pushed, but the target shows another version/);
    expect(listed.filter((l) => /\binvalid\b/.test(l))).toHaveLength(2);
    expect(listed.filter((l) => /\binvalid\b/.test(l)).join('\n')).toMatch(/source\s+.*invalid\s+.*qty/);

    const rejected = await runCli(['runs', 'show', runId, '--status', 'rejected', '--json', '--config', configFile]);
    const page = (JSON.parse(rejected.stdout) as { page: { records: { key: string; status: string }[]; next: number | null } }).page;
    expect(page.records.map((r) => [r.key, r.status])).toEqual([['K03', 'rejected']]);
    expect(page.next).toBeNull();
    const unknown = await runCli(['runs', 'show', runId, '--status', 'broken', '--config', configFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/use one of rejected, quarantined, invalid, differing/);
  }, 120_000);

  it('GET /runs/:id/records lists them by status, a page at a time', async () => {
    const store = await StateStore.open('sqlite:state.db', dir);
    try {
      const app = createStatusApp(
        { status: () => ({}), store, loaded: { entities: [] }, running: null, trigger: () => null, metrics: { registry: new Registry() } },
        { token: undefined, reportsDir: path.join(dir, 'reports') },
      );
      const get = async (url: string) => {
        const res = await app.request(url);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const run = await get(`/runs/${runId}`);
      expect(run.body.records).toEqual({ rejected: 1, invalid: 2, differing: 1 });
      expect((run.body.run as { logFile: string }).logFile).toMatch(/logs\/parity-\d{4}-\d{2}-\d{2}\.log$/);

      const rejected = await get(`/runs/${runId.slice(0, 8)}/records?status=rejected`);
      expect(rejected.status).toBe(200);
      expect((rejected.body.records as { key: string }[]).map((r) => r.key)).toEqual(['K03']);

      // All four, one at a time.
      const seen: string[] = [];
      let after: unknown = undefined;
      for (let i = 0; i < 10; i++) {
        const p = await get(`/runs/${runId}/records?limit=1${after ? `&after=${after}` : ''}`);
        seen.push(...(p.body.records as { key: string; status: string }[]).map((r) => `${r.status}:${r.key}`));
        after = p.body.next;
        if (after === null) break;
      }
      expect(seen).toHaveLength(4);
      expect(seen.filter((s) => s.startsWith('invalid:'))).toHaveLength(2);
      expect(seen).toEqual(expect.arrayContaining(['rejected:K03', 'differing:K07']));

      expect((await get(`/runs/${runId}/records?status=bogus`)).status).toBe(400);
      expect((await get(`/runs/${runId}/records?limit=0`)).status).toBe(400);
      expect((await get('/runs/ffffffff/records')).status).toBe(404);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('is pruned with the reports: a run older than reports.retentionDays loses its records at the next run', async () => {
    server.decide = () => 'pass';
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'state.db'), logging: false });
    const count = async () => ((await db.query('SELECT run_id, COUNT(*) AS n FROM parity_run_records GROUP BY run_id', { type: 'SELECT' })) as { run_id: string; n: number }[]);
    expect((await count()).find((r) => r.run_id === runId)?.n).toBe(4);
    // The run started 3 days ago as far as the store knows (retentionDays 2).
    await db.query('UPDATE parity_runs SET started_at = ? WHERE id = ?', { replacements: [new Date(Date.now() - 3 * DAY).toISOString().replace('T', ' ').replace('Z', ' +00:00'), runId] });
    const next = await runCli(['run', '--json', '--config', configFile]);
    expect(next.code, next.stderr).toBe(0);
    const left = await count();
    expect(left.find((r) => r.run_id === runId)).toBeUndefined();
    // The new run's own records (the two invalid ones) are there.
    expect(left.find((r) => r.run_id === parseReport(next.stdout).runId)?.n).toBe(2);
    await db.close();
    expect(existsSync(path.join(dir, 'state.db'))).toBe(true);
  }, 60_000);
});

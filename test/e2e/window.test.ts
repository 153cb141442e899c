// Rolling windows, as the old "last 90 days" scripts ran: an entity's `window` limits both
// sides to records whose field is within the last N days (asked of a SQL source in its query,
// sent to an API that takes it as a parameter); records outside are neither compared nor
// counted. --window replaces the length for one run, --window all compares everything.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const config = path.join(dir, 'parity.yaml');
let db: Sequelize;
const asked: string[] = [];
// One clock reading for both sides: read twice, the seconds could turn between the two.
const now = Date.now();
const day = (n: number) => new Date(now - n * 86_400_000).toISOString().replace('T', ' ').slice(0, 19);

beforeAll(async () => {
  db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await db.query('CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER, created_at TEXT)');
  // One order a day for 200 days; the shop has lost every order older than 100 days and
  // holds one of the last 10 days with another total.
  const rows = Array.from({ length: 200 }, (_, i) => `(${i + 1}, ${100 + i}, '${day(i)}')`);
  await db.query(`INSERT INTO orders VALUES ${rows.join(', ')}`);
  const shop = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, total: i === 4 ? 1 : 100 + i, created_at: day(i) }));
  const app = new Hono().get('/orders', (c) => {
    asked.push(c.req.url);
    return c.json({ items: shop });
  });
  const api = await serveApp(app);
  writeFileSync(
    config,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${api}" }
entities:
  orders:
    key: id
    window: { field: created_at, last: 90d, param: since }
    source: { system: erp, table: orders }
    target: { system: shop, path: /orders, list: items, pagination: { type: page, size: 1000 } }
`,
  );
});
afterAll(() => db.close());

const run = async (...args: string[]) => {
  const r = await runCli(['run', '--json', ...args, '--config', config]);
  expect(r.code, r.stderr).toBe(0);
  return parseReport(r.stdout).entities[0];
};

describe('rolling windows', () => {
  it('compares the last 90 days only, by default; the report states the window; the API gets its start', async () => {
    const e = await run();
    // Days 0-89: 90 orders on each side, one total differs; nothing older counts as missing.
    expect(e.diff).toMatchObject({ matched: 89, changed: 1, missing: 0, extra: 0 });
    expect(e.source.count).toBe(90);
    expect(e.window.field).toBe('created_at');
    expect(Date.now() - Date.parse(e.window.from)).toBeGreaterThan(89.9 * 86_400_000);
    expect(new URL(asked.at(-1)!).searchParams.get('since')).toBe(e.window.from);
  });

  it('--window 7d replaces the length for one run; --window all compares everything', async () => {
    expect((await run('--window', '7d')).diff).toMatchObject({ matched: 6, changed: 1, missing: 0 });
    const all = await run('--window', 'all');
    expect(all.window).toBeUndefined();
    expect(all.diff).toMatchObject({ matched: 99, changed: 1, missing: 100, extra: 0 });
    const bad = await runCli(['run', '--window', '3 months', '--config', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--window.*use a length such as 90d, 12h or 8w, or all/);
  });
});

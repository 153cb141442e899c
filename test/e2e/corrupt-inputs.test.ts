// Fifty corrupt or hostile inputs (files, databases, HTTP answers), each an entity of a run:
// each fails alone with one line that says what is wrong (never a stack trace), the healthy
// entity beside them completes, the run exits 1, and the state store keeps every earlier run.
import { createServer } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpBindings } from '@hono/node-server';
import ExcelJS from 'exceljs';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const config = path.join(dir, 'parity.yaml');
const file = (name: string, content: string | Buffer) => writeFileSync(path.join(dir, name), content);

/** One bad input: its system block, its side (as the source) and what its error must say. */
interface Case {
  name: string;
  system: string;
  side: string;
  says: RegExp;
}
const cases: Case[] = [];
const add = (name: string, system: string, side: string, says: RegExp) => cases.push({ name, system, side, says });

beforeAll(async () => {
  file('good.csv', 'id,qty\n1,1\n2,2\n');

  // CSV files
  const csv = (name: string, content: string | Buffer, says: RegExp, extra = '') => {
    file(`${name}.csv`, content);
    add(`csv_${name}`, `{ type: csv, path: ${name}.csv${extra} }`, '', says);
  };
  csv('empty', '', /has no header row/);
  csv('bom_only', '\uFEFF', /has no header row/);
  csv('blank_lines', '\n\n\n', /has no header row/);
  csv('unclosed_quote', 'id,qty\n1,"2\n3,4\n', /line 2: a quoted field opened in the record that starts here is never closed/);
  csv('latin1', Buffer.from('id,qty,name\n1,2,Müller\n', 'latin1'), /line 2: is not valid UTF-8.*encoding: latin1/);
  csv('binary', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x81]), /is not valid UTF-8/);
  csv('no_key_column', 'sku,qty\n1,1\n', /column "id" not found in the header \(line 1\); found "sku", "qty"/);
  csv('semicolons', 'id;qty\n1;1\n', /column "id" not found in the header \(line 1\); found "id;qty" \(is the delimiter ";"\? set delimiter on the system\)/);
  csv('utf16_as_utf8', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,qty\n1,1\n', 'utf16le')]), /is not valid UTF-8/);
  csv('quote_in_field', 'id,qty\n1,ab"c"d\n', /line 2: a quote is found on field 1/);
  csv('wrong_quote_char', "id,qty\n1,'x\n", /line 2: a quoted field opened in the record that starts here is never closed/, ", quote: \"'\"");
  mkdirSync(path.join(dir, 'folder.csv'));
  add('csv_folder', '{ type: csv, path: folder.csv }', '', /is a folder, not a file/);
  add('csv_missing', '{ type: csv, path: nowhere.csv }', '', /does not exist \(check the system's path/);
  csv('header_row_past_end', 'id,qty\n1,1\n', /has no header row/);
  cases.at(-1)!.side = ', headerRow: 9';

  // Excel workbooks
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('Stock').addRows([['id', 'qty'], [1, 1]]);
  const real = Buffer.from(await wb.xlsx.writeBuffer());
  const xlsx = (name: string, content: string | Buffer, says: RegExp, side = '') => {
    file(`${name}.xlsx`, content);
    add(`xlsx_${name}`, `{ type: excel, path: ${name}.xlsx }`, side, says);
  };
  xlsx('zero_bytes', '', /is not a readable xlsx workbook/);
  xlsx('text', 'this is not a workbook\n', /is not a readable xlsx workbook/);
  xlsx('truncated', real.subarray(0, Math.floor(real.length / 2)), /is not a readable xlsx workbook/);
  xlsx('csv_renamed', 'id,qty\n1,1\n', /is not a readable xlsx workbook/);
  xlsx('random', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), /is not a readable xlsx workbook/);
  xlsx('no_such_sheet', real, /has no sheet "Prices" \(sheets: "Stock"\)/, ', sheet: Prices');
  xlsx('sheet_number_too_high', real, /has no sheet number 4/, ', sheet: 4');
  xlsx('header_past_end', real, /has no header row at row 30/, ', headerRow: 30');
  xlsx('no_key_column', real, /column "sku" not found/, ', fields: { id: sku, qty: qty }');
  mkdirSync(path.join(dir, 'folder.xlsx'));
  add('xlsx_folder', '{ type: excel, path: folder.xlsx }', '', /is a folder, not a file/);

  // SQLite databases
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'good.db'), logging: false });
  await db.query('CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER)');
  await db.query('INSERT INTO items VALUES (1, 1), (2, 2)');
  await db.close();
  const good = readFileSync(path.join(dir, 'good.db'));
  file('text.db', 'SQLite format 3? no, a text file\n'.repeat(20));
  file('truncated.db', good.subarray(0, 1000));
  file('empty.db', '');
  mkdirSync(path.join(dir, 'folder.db'));
  const sql = (name: string, url: string, side: string, says: RegExp) => add(`sql_${name}`, `{ type: sql, url: "sqlite:${url}" }`, side, says);
  sql('not_a_database', 'text.db', ', table: items', /SQLITE_NOTADB: file is not a database/);
  sql('truncated', 'truncated.db', ', table: items', /SQLITE_CORRUPT: database disk image is malformed/);
  sql('empty_file', 'empty.db', ', table: items', /No description found for "items" table/);
  sql('folder', 'folder.db', ', table: items', /folder\.db is a folder, not a SQLite file/);
  sql('missing_file', 'nowhere.db', ', table: items', /nowhere\.db does not exist \(check the path in the system's url\)/);
  sql('missing_table', 'good.db', ', table: nothing_here', /No description found for "nothing_here" table/);
  sql('missing_column', 'good.db', ', table: items, fields: { id: id, qty: quantity }', /no such column: quantity/);
  sql('bad_where', 'good.db', ', table: items, where: "no_such_column > 1"', /no such column: no_such_column/);
  sql('bad_query', 'good.db', ', query: "SELECT id, qty FROM itemz"', /no such table: itemz/);
  sql('query_without_key', 'good.db', ', query: "SELECT qty FROM items"', /no such column: id/);

  // HTTP answers
  let n = 0;
  const app = new Hono<{ Bindings: HttpBindings }>()
    .get('/html', (c) => c.html('<html><body>Login</body></html>'))
    .get('/text', (c) => c.text('ok'))
    .get('/truncated', (c) => c.body('{"items": [{"id": 1, "qty"', 200, { 'Content-Type': 'application/json' }))
    .get('/no_list', (c) => c.json({ data: [] }))
    .get('/not_array', (c) => c.json({ items: { id: 1 } }))
    .get('/number', (c) => c.json(42))
    .get('/s500', (c) => c.json({ error: 'boom' }, 500))
    .get('/s404', (c) => c.json({ error: 'no' }, 404))
    .get('/s401', (c) => c.json({ error: 'who' }, 401))
    .get('/s403', (c) => c.json({ error: 'no' }, 403))
    .get('/s429', (c) => c.json({ error: 'later' }, 429, { 'Retry-After': '86400' }))
    .get('/huge', (c) => c.json({ items: Array.from({ length: 5000 }, (_, i) => ({ id: i, qty: 'x'.repeat(100) })) }))
    .get('/redirect', (c) => c.redirect('http://127.0.0.1:9/elsewhere', 302))
    .get('/same_cursor', (c) => c.json({ items: [{ id: ++n, qty: 1 }], next: 'again' }))
    .get('/same_page', (c) => c.json({ items: Array.from({ length: 100 }, (_, i) => ({ id: i, qty: 1 })) }))
    .get('/link_loop', (c) => c.json({ items: [{ id: ++n, qty: 1 }] }, 200, { Link: '</link_loop>; rel="next"' }))
    .get('/drop', (c) => {
      c.env.incoming.socket.destroy();
      return new Promise<Response>(() => undefined);
    })
    .get('/gzip_garbage', (c) => c.body('not gzip at all', 200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }));
  const api = await serveApp(app);
  const http = (name: string, route: string, says: RegExp, extra = '', side = '') =>
    add(`http_${name}`, `{ type: http, baseUrl: "${api}", retry: { retries: 0 }, timeoutMs: 3000${extra} }`, `, path: ${route}, list: items${side}`, says);
  http('html', '/html', /the body is not JSON \(text\/html/);
  http('text', '/text', /the body is not JSON/);
  http('truncated_json', '/truncated', /the body is not JSON/);
  http('no_list', '/no_list', /no "items" in the answer/);
  http('not_array', '/not_array', /"items" is not an array/);
  http('a_number', '/number', /no "items" in the answer/);
  http('status_500', '/s500', /HTTP 500 Internal Server Error$/);
  http('status_404', '/s404', /HTTP 404.*check the side's path/);
  http('status_401', '/s401', /HTTP 401.*check the auth settings/);
  http('status_403', '/s403', /HTTP 403 Forbidden \(check the auth settings/);
  http('retry_after_a_day', '/s429', /HTTP 429.*the system asks to wait 86400 s/);
  http('larger_than_allowed', '/huge', /larger than maxResponseBytes, 10000 bytes/, ', maxResponseBytes: 10000');
  http('redirect_elsewhere', '/redirect', /answered HTTP 302, a redirect from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:9/);
  http('cursor_repeats', '/same_cursor', /the cursor "again" at "next" came back a second time/, '', ', pagination: { type: cursor, nextCursor: next }');
  http('page_repeats', '/same_page', /repeats the previous page/);
  http('link_loop', '/link_loop', /the Link: rel="next" URL repeats/, '', ', pagination: { type: link }');
  http('socket_dropped', '/drop', /socket hang up|ECONNRESET/);
  http('gzip_garbage', '/gzip_garbage', /HTTP 200, but the answer could not be read: /);
  // A port where nothing listens.
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  add('http_nothing_listens', `{ type: http, baseUrl: "http://127.0.0.1:${closed}", retry: { retries: 0 } }`, ', path: /items, list: items', /ECONNREFUSED/);

  const systems = cases.map((c) => `  ${c.name}: ${c.system}`).join('\n');
  const entities = cases.map((c) => `  ${c.name}:\n    key: id\n    source: { system: ${c.name}${c.side} }\n    target: { system: good }`).join('\n');
  writeFileSync(
    config,
    `version: 1\nstate: sqlite:state.db\nreports: { dir: reports, formats: [json] }\nsystems:\n  good: { type: csv, path: good.csv }\n${systems}\nentities:\n  healthy:\n    key: id\n    source: { system: good }\n    target: { system: good }\n${entities}\n`,
  );
}, 60_000);

describe('fifty corrupt or hostile inputs', () => {
  it('each fails its entity alone with one line; the run exits 1, writes its report and keeps the history', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    // An earlier run, which must survive.
    const first = await runCli(['run', '--entities', 'healthy', '--config', config]);
    expect(first.code, first.stderr).toBe(0);
    const r = await runCli(['run', '--json', '--config', config]);
    expect(r.code).toBe(1);
    const report = parseReport(r.stdout);
    const byName = new Map<string, { outcome: string; error?: string }>(report.entities.map((e: { name: string; outcome: string; error?: string }) => [e.name, e]));
    expect(byName.get('healthy')!.outcome).toBe('in-sync');
    // Every case checked, every miss listed at once.
    const misses = cases.flatMap((c) => {
      const e = byName.get(c.name)!;
      const ok = e.outcome === 'failed' && c.says.test(e.error ?? '') && !(e.error ?? '').includes('\n') && !/\bat [\w.<>]+ \(.*:\d+:\d+\)/.test(e.error ?? '');
      return ok ? [] : [`${c.name}: ${e.outcome}: ${e.error}`];
    });
    expect(misses).toEqual([]);
    const runs = JSON.parse((await runCli(['runs', '--json', '--config', config])).stdout) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['failed', 'completed']);
  }, 240_000);
});

// Bad data in a whole run: each broken side fails its own entity with one clear message
// naming the file or URL and the place; bad rows are counted invalid; the other entities
// are unaffected, and no failed entity moves its watermark.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { runCli } from '../helpers/cli.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { parseReport } from '../helpers/report-schema.js';
import { writeParts } from '../helpers/xlsx.js';

const dir = tempDir();
let base = '';

beforeAll(async () => {
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await db.query('CREATE TABLE parts (sku TEXT PRIMARY KEY, name TEXT, updated_at TEXT)');
  await db.query("INSERT INTO parts VALUES ('0000001', 'Part 1', '2026-01-01'), ('0000002', 'Part 2', '2026-01-05'), ('0000003', 'Part 3', '2026-01-03')");
  await db.close();
  await writeParts(path.join(dir, 'parts.xlsx'), 50);
  writeFileSync(path.join(dir, 'corrupt.xlsx'), Buffer.from('PK\u0003\u0004 not a zip at all, just bytes'));
  writeFileSync(path.join(dir, 'broken.csv'), 'sku,name\n0000001,Part 1\n0000002,"Part 2\n0000003,Part 3\n');
  writeFileSync(path.join(dir, 'good.csv'), 'sku,name\n0000001,Part 1\n0000002,Part 2\n');
  const app = new Hono()
    .get('/html', (c) => c.html('<!doctype html><title>Maintenance</title>'))
    .get('/nokey', (c) => c.json({ items: [{ sku: '0000001', name: 'Part 1' }, { name: 'no key here' }, { sku: '0000003', name: 'Part 3' }] }));
  base = await serveApp(app);
});

const side = (system: string, extra: string) => `{ system: ${system}, ${extra}fields: { sku: SKU, name: Name } }`;

function config(): string {
  return `version: 1
state: sqlite:state.db
reports: { dir: reports }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  xlsx: { type: excel, path: parts.xlsx }
  corrupt: { type: excel, path: corrupt.xlsx }
  broken: { type: csv, path: broken.csv }
  good: { type: csv, path: good.csv }
  api: { type: http, baseUrl: "${base}", retry: { retries: 0 } }
entities:
  fine:
    key: [sku]
    source: { system: erp, table: parts, incremental: { field: updated_at }, fields: { sku: sku, name: name } }
    target: ${side('good', '')}
  missing_column:
    key: [sku]
    source: { system: erp, table: parts, fields: { sku: sku, name: name } }
    target: { system: xlsx, sheet: Parts, fields: { sku: SKU, name: Colour } }
  corrupt_zip:
    key: [sku]
    source: { system: erp, table: parts, fields: { sku: sku, name: name } }
    target: ${side('corrupt', '')}
  unclosed_quote:
    key: [sku]
    source: { system: erp, table: parts, incremental: { field: updated_at }, fields: { sku: sku, name: name } }
    target: ${side('broken', '')}
  html_list:
    key: [sku]
    source: { system: erp, table: parts, fields: { sku: sku, name: name } }
    target: { system: api, path: /html, list: items, fields: { sku: sku, name: name } }
  record_without_key:
    key: [sku]
    source: { system: erp, table: parts, fields: { sku: sku, name: name } }
    target: { system: api, path: /nokey, list: items, fields: { sku: sku, name: name } }
`;
}

describe('a run over bad data', () => {
  it('fails each broken entity with a clear message, keeps the others, and moves no failed watermark', async () => {
    const file = path.join(dir, 'parity.yaml');
    writeFileSync(file, config());
    const result = await runCli(['run', '--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = parseReport(result.stdout);
    const e = Object.fromEntries(report.entities.map((x: { name: string }) => [x.name, x]));
    expect(e.fine).toMatchObject({ outcome: 'report-only', error: null });
    expect(e.fine.diff).toMatchObject({ matched: 2, missing: 1 });
    expect(e.missing_column).toMatchObject({ outcome: 'failed' });
    expect(e.missing_column.error).toBe('file parts.xlsx: column "Colour" not found in the header (row 1); found "SKU", "Name", "Price", "Active", "Updated", "Link", "Total", "Category"');
    expect(e.corrupt_zip.outcome).toBe('failed');
    expect(e.corrupt_zip.error).toMatch(/^file corrupt\.xlsx: is not a readable xlsx workbook \(.+\)$/);
    expect(e.unclosed_quote.outcome).toBe('failed');
    expect(e.unclosed_quote.error).toMatch(/^file broken\.csv: line \d+: a quoted field opened in the record that starts here is never closed/);
    expect(e.html_list.outcome).toBe('failed');
    expect(e.html_list.error).toBe(`system "api": GET ${base}/html?page=1&per_page=100: the body is not JSON (text/html; charset=UTF-8, <!doctype html><title>Maintenance</title>…)`);
    expect(e.record_without_key).toMatchObject({ outcome: 'report-only', error: null });
    expect(e.record_without_key.diff).toMatchObject({ matched: 2, missing: 1, invalid: 1 });
    expect(e.record_without_key.samples.invalid).toEqual([{ side: 'target', ref: `page 1 item 2 (${base}/nokey?page=1&per_page=100)`, reason: 'key field sku is empty' }]);
    // One line per failure on stderr, no stack traces.
    expect(result.stderr).not.toMatch(/\n\s+at /);

    const store = await StateStore.open('sqlite:state.db', dir);
    expect(await store.getWatermark('fine', 'source')).toBe('2026-01-05');
    expect(await store.getWatermark('unclosed_quote', 'source')).toBeNull();
    const run = await store.getRun(report.runId);
    await store.close();
    expect(run?.run.status).toBe('failed');
    expect(run?.run.error).toBe('failed: missing_column, corrupt_zip, unclosed_quote, html_list');
  });

  it('a dry run moves no watermark', async () => {
    const file = path.join(dir, 'dry.yaml');
    writeFileSync(file, config().replace('state: sqlite:state.db', 'state: sqlite:dry-state.db'));
    const result = await runCli(['compare', '--json', '--entities', 'fine', '--config', file]);
    expect(result.code).toBe(0);
    const store = await StateStore.open('sqlite:dry-state.db', dir);
    expect(await store.getWatermark('fine', 'source')).toBeNull();
    await store.close();
  });
});

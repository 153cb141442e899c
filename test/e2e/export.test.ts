// `parity export` streams a side to CSV or xlsx with canonical values (read back equal to the
// source), and `parity run --export-diff DIR` writes the missing, extra and changed records
// as CSV files and a workbook with a sheet per kind (opened by LibreOffice when installed).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const configFile = path.join(dir, 'parity.yaml');
const N = 2000;
let erp: Sequelize;

/** Row i of the source: names with commas, quotes, newlines and unicode; prices with cents; some NULLs. */
const name = (i: number) => (i % 7 === 0 ? `Bolt, "M${i}"\nlong` : i % 11 === 0 ? `Schraube ${i} – grün ✓` : `Part ${i}`);
const price = (i: number) => (i % 13 === 0 ? null : (i * 1.25).toFixed(2));

beforeAll(async () => {
  erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await erp.query('CREATE TABLE items (sku TEXT PRIMARY KEY, name TEXT, price NUMERIC)');
  for (let i = 0; i < N; i += 500) {
    const chunk = Array.from({ length: Math.min(500, N - i) }, (_, j) => i + j);
    await erp.query(`INSERT INTO items VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, { replacements: chunk.flatMap((k) => [`S${String(k).padStart(5, '0')}`, name(k), price(k)]) });
  }
  // The target: a CSV with the first 1,900 records, 50 of them with another price, and 3 the source lacks.
  const lines = ['sku,name,price'];
  const csvCell = (v: string) => `"${v.replace(/"/g, '""')}"`;
  for (let i = 0; i < 1900; i++) {
    const p = i < 50 ? '999.00' : (price(i) ?? '');
    lines.push([`S${String(i).padStart(5, '0')}`, name(i), p].map(csvCell).join(','));
  }
  for (let i = 0; i < 3; i++) lines.push(`X${i},stray ${i},1.00`);
  writeFileSync(path.join(dir, 'shop.csv'), `${lines.join('\n')}\n`);
  writeFileSync(
    configFile,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: csv, path: shop.csv }
entities:
  items:
    key: [sku]
    emptyIsNull: [price]
    source: { system: erp, table: items, fields: { sku: sku, name: name, price: { from: price, transform: decimal(2) } } }
    target: { system: shop, fields: { sku: sku, name: name, price: { from: price, transform: decimal(2) } } }
`,
  );
}, 60_000);
afterAll(() => erp?.close());

const expected = Array.from({ length: N }, (_, i) => ({ sku: `S${String(i).padStart(5, '0')}`, name: name(i), price: price(i) ?? '' }));

async function readSheet(file: string, sheet: string): Promise<string[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  const ws = wb.getWorksheet(sheet);
  if (!ws) throw new Error(`no sheet ${sheet} in ${file}`);
  const rows: string[][] = [];
  ws.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => (v === null || v === undefined ? '' : String(v)))));
  // An empty last cell is not stored: rows are as wide as the header.
  return rows.map((r) => [...r, ...Array<string>(Math.max(0, rows[0]!.length - r.length)).fill('')]);
}

describe('parity export', () => {
  it('streams the source to CSV; it reads back equal, field names as the entity has them', async () => {
    const out = path.join(dir, 'items.csv');
    const result = await runCli(['export', 'items', '--side', 'source', '--out', out, '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`parity: ${N} source records of items written to`);
    const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(rows).toEqual(expected);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 60_000);

  it('streams the target to xlsx by the extension', async () => {
    const out = path.join(dir, 'shop.xlsx');
    const result = await runCli(['export', 'items', '--side', 'target', '--out', out, '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    const rows = await readSheet(out, 'items');
    expect(rows[0]).toEqual(['sku', 'name', 'price']);
    expect(rows).toHaveLength(1 + 1903);
    expect(rows[1]).toEqual(['S00000', name(0), '999.00']);
    expect(rows.at(-1)).toEqual(['X2', 'stray 2', '1.00']);
  }, 60_000);

  it('refuses an unknown entity or extension with one line', async () => {
    const entity = await runCli(['export', 'nope', '--out', path.join(dir, 'x.csv'), '--config', configFile]);
    expect(entity.code).toBe(2);
    expect(entity.stderr.trim()).toBe('parity: no entity "nope" in parity.yaml (parity list shows them)');
    const ext = await runCli(['export', 'items', '--out', path.join(dir, 'x.json'), '--config', configFile]);
    expect(ext.code).toBe(2);
    expect(ext.stderr).toMatch(/use a \.csv or \.xlsx file name/);
  }, 60_000);
});

describe('parity run --export-diff', () => {
  const out = path.join(dir, 'diff');

  it('writes the missing, extra and changed records as CSV and a workbook with a sheet per kind', async () => {
    const result = await runCli(['compare', '--export-diff', out, '--json', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).entities[0].diff).toMatchObject({ missing: 100, extra: 3, changed: 50 });
    expect(readdirSync(out).sort()).toEqual(['items.changed.csv', 'items.extra.csv', 'items.missing.csv', 'items.xlsx']);

    const csv = (kind: string) => parse(readFileSync(path.join(out, `items.${kind}.csv`)), { columns: true }) as Record<string, string>[];
    expect(csv('missing')).toEqual(expected.slice(1900));
    expect(csv('extra')).toEqual([0, 1, 2].map((i) => ({ sku: `X${i}`, name: `stray ${i}`, price: '1.00' })));
    const changed = csv('changed');
    expect(changed).toHaveLength(50);
    // S00000 has no price in the source (0 % 13): NULL against 999.00.
    expect(changed[0]).toEqual({ sku: 'S00000', field: 'price', source: '', target: '999.00' });
    expect(changed[1]).toEqual({ sku: 'S00001', field: 'price', source: '1.25', target: '999.00' });

    const workbook = path.join(out, 'items.xlsx');
    expect((await readSheet(workbook, 'missing')).slice(1)).toEqual(expected.slice(1900).map((r) => [r.sku, r.name, r.price]));
    expect(await readSheet(workbook, 'extra')).toHaveLength(4);
    expect((await readSheet(workbook, 'changed'))[2]).toEqual(['S00001', 'price', '1.25', '999.00']);
  }, 60_000);

  const soffice = ['/usr/bin/soffice', '/usr/bin/libreoffice'].find((p) => existsSync(p));
  if (!soffice) process.stderr.write('[libreoffice] not installed: the exported workbook is not opened in it (apt install libreoffice-calc-nogui)\n');
  it.skipIf(!soffice)('[libreoffice] opens the workbook: its first sheet converts to the missing records', async () => {
    const converted = spawnSync(soffice!, [`-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`, '--headless', '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76', '--outdir', path.join(dir, 'lo'), path.join(out, 'items.xlsx')], { encoding: 'utf8', timeout: 120_000 });
    expect(converted.status, converted.stderr).toBe(0);
    const rows = parse(readFileSync(path.join(dir, 'lo', 'items.csv')), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(100);
    expect(rows.map((r) => r.sku)).toEqual(expected.slice(1900).map((r) => r.sku));
    expect(rows.map((r) => r.name)).toEqual(expected.slice(1900).map((r) => r.name));
  }, 150_000);
});

describe('PARITY_DATA_DIR', () => {
  it('places the state store and the reports in that folder; data files stay beside the config', async () => {
    const data = tempDir();
    const result = await runCli(['compare', '--config', configFile], { env: { PARITY_DATA_DIR: data } });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(data, 'state.db'))).toBe(true);
    expect(readdirSync(path.join(data, 'reports'))).toContain('latest.json');
    const runs = await runCli(['runs', '--json', '--config', configFile], { env: { PARITY_DATA_DIR: data } });
    expect((JSON.parse(runs.stdout) as { id: string }[]).map((r) => r.id), runs.stdout).toHaveLength(1);
  }, 60_000);
});

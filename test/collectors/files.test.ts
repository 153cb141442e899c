// Excel (exceljs streaming reader) and CSV (csv-parse) sides: every cell shape, headers by
// name or letter, blank rows, invalid rows with their row number, and broken files.
import { execFile } from 'node:child_process';
import fs, { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvCollector } from '../../src/systems/csv/collector.js';
import { cellValue, CellError } from '../../src/systems/excel/cells.js';
import { ExcelCollector } from '../../src/systems/excel/collector.js';
import { RecordMapper, type FieldMapping } from '../../src/collectors/mapper.js';
import type { CsvSideSpec } from '../../src/systems/csv/schema.js';
import type { ExcelSideSpec } from '../../src/systems/excel/schema.js';
import type { Page } from '../../src/core/record.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { partRow, writeParts } from '../helpers/xlsx.js';

const dir = tempDir();

const m = (name: string, from: string, transform = ''): FieldMapping => ({ name, from, transforms: parseTransforms(transform) });

async function readAll(collector: { read: ExcelCollector['read'] }, mappings: FieldMapping[], compare: string[], key = 'sku') {
  const mapper = new RecordMapper({ keyChains: [[key]], compareFields: compare, mappings });
  const pages: Page[] = [];
  for await (const page of collector.read({ mapper })) pages.push(page);
  return { records: pages.flatMap((p) => p.records), invalid: pages.flatMap((p) => p.invalid), pages: pages.length };
}

function excelSide(file: string, config: Partial<ExcelSideSpec['config']>, mappings: FieldMapping[] | null): ExcelSideSpec {
  return { role: 'source', systemName: 'd365', system: { type: 'excel', path: file }, config: { system: 'd365', ...config }, mappings };
}

describe('cellValue', () => {
  it('reads every cell shape exceljs yields', () => {
    const date = new Date(Date.UTC(2026, 0, 2));
    expect(cellValue('00123', 2, 1)).toBe('00123');
    expect(cellValue(1.5, 2, 1)).toBe(1.5);
    expect(cellValue(false, 2, 1)).toBe(false);
    expect(cellValue(date, 2, 1)).toBe(date);
    expect(cellValue(null, 2, 1)).toBeNull();
    expect(cellValue({ richText: [{ text: 'Big ' }, { font: { bold: true }, text: 'Bolt' }] }, 2, 1)).toBe('Big Bolt');
    expect(cellValue({ formula: 'C2*2', result: 3 }, 2, 1)).toBe(3);
    expect(cellValue({ sharedFormula: 'G2', result: 'x' }, 2, 1)).toBe('x');
    expect(cellValue({ formula: 'A1', result: { richText: [{ text: 'r' }] } }, 2, 1)).toBe('r');
    expect(cellValue({ text: 'site', hyperlink: 'https://example.com' }, 2, 1)).toBe('site');
    expect(cellValue({ text: { richText: [{ text: 'rich link' }] }, hyperlink: 'https://example.com' }, 2, 1)).toBe('rich link');
  });

  it('names the cell for an error value, a formula without result and an unknown shape', () => {
    expect(() => cellValue({ error: '#N/A' }, 12, 3)).toThrow(new CellError('cell C12 holds the error #N/A'));
    expect(() => cellValue({ formula: 'A1' }, 5, 28)).toThrow('cell AB5 has a formula without a saved result');
    expect(() => cellValue({ weird: true }, 7, 2)).toThrow('cell B7 has content parity cannot read: {"weird":true}');
    expect(() => cellValue(Symbol('x'), 7, 2)).toThrow(CellError);
  });
});

describe('Excel collector', () => {
  const file = path.join(dir, 'parts.xlsx');
  const ROWS = 3000;
  beforeAll(() => writeParts(file, ROWS, { headerRowAt: 3 }));

  const mappings = [m('sku', 'sku'), m('name', 'name'), m('price', 'Price', 'decimal(2)'), m('active', 'ACTIVE'), m('updated', 'Updated', 'date'), m('link', 'F'), m('total', 'Total'), m('category', 'category')];

  it('reads the named sheet from its header row, every cell shape, skipping blank rows', async () => {
    const { records, invalid, pages } = await readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'parts', headerRow: 3 }, mappings), baseDir: dir }), mappings, ['name', 'price']);
    const blank = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 997 === 996).length;
    const errors = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 1000 === 999).length;
    expect(invalid.map((i) => i.reason)).toEqual(Array(errors).fill(expect.stringMatching(/^cell C\d+ holds the error #N\/A$/)));
    expect(records.length).toBe(ROWS - blank - errors);
    expect(pages).toBeGreaterThan(2);
    const r5 = records.find((r) => r.key === '0000005')!;
    expect(r5.fields).toEqual({ sku: '0000005', name: 'Big Bolt', price: '0.07', active: true, updated: '2026-01-06', link: 'site 5', total: (partRow(5)[6] as { result: number }).result, category: 'cat-5' });
    expect(records.find((r) => r.key === '0000001')!.fields.name).toBe('Part 1');
    expect(invalid).toHaveLength(errors);
    // Row 999 is spreadsheet row 3 (header) + 1 + 999.
    expect(invalid[0]).toEqual({ ref: `parts.xlsx row ${3 + 1 + 999}`, reason: `cell C${3 + 1 + 999} holds the error #N/A` });
    expect(partRow(999)[2]).toEqual({ error: '#N/A' });
  });

  it('finds the sheet by position and maps every header when there is no mapping', async () => {
    const c = new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 2, headerRow: 3 }, null), baseDir: dir });
    expect(await c.columns()).toEqual(['SKU', 'Name', 'Price', 'Active', 'Updated', 'Link', 'Total', 'Category']);
  });

  it('a row that fails a transform is invalid with its row number; the rest still reads', async () => {
    const strict = [m('sku', 'SKU'), m('category', 'Category', 'map({cat-0: zero}) | int')];
    const { records, invalid } = await readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, strict), baseDir: dir }), strict, ['category']);
    expect(records).toHaveLength(0);
    expect(invalid[0]).toEqual({ ref: 'parts.xlsx row 4 (key 0000000)', reason: 'field category: int: "zero" is not a number' });
  });

  it('a required column missing is an error listing the columns found', async () => {
    const wrong = [m('sku', 'SKU'), m('colour', 'Colour')];
    await expect(readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, wrong), baseDir: dir }), wrong, ['colour'])).rejects.toThrow(
      'file parts.xlsx: column "Colour" not found in the header (row 3); found "SKU", "Name", "Price", "Active", "Updated", "Link", "Total", "Category"',
    );
  });

  it('a missing sheet lists the sheets; a corrupt file and a missing file are named', async () => {
    await expect(readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'Stock' }, mappings), baseDir: dir }), mappings, ['name'])).rejects.toThrow('file parts.xlsx: has no sheet "Stock" (sheets: "Notes", "Parts")');
    writeFileSync(path.join(dir, 'corrupt.xlsx'), 'PK\u0003\u0004 this is not a zip at all');
    await expect(readAll(new ExcelCollector({ side: excelSide('corrupt.xlsx', {}, mappings), baseDir: dir }), mappings, ['name'])).rejects.toThrow(/^file corrupt\.xlsx: is not a readable xlsx workbook \(/);
    await expect(readAll(new ExcelCollector({ side: excelSide('nope.xlsx', {}, mappings), baseDir: dir }), mappings, ['name'])).rejects.toThrow(/^file nope\.xlsx: does not exist \(check the system's path; looked for .*nope\.xlsx\)$/);
  });

  it('runs the refresh command before reading, and fails clearly on a bad exit or a timeout', async () => {
    const side = (command: string, timeoutS = 5) => ({ ...excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, mappings), system: { type: 'excel' as const, path: 'parts.xlsx', refresh: { command, timeoutS, waitNewer: false } } });
    const ok = await readAll(new ExcelCollector({ side: side('echo refreshed > refreshed.txt'), baseDir: dir }), mappings, ['name']);
    expect(ok.records.length).toBeGreaterThan(2000);
    expect((await import('node:fs')).readFileSync(path.join(dir, 'refreshed.txt'), 'utf8').trim()).toBe('refreshed');
    await expect(readAll(new ExcelCollector({ side: side('echo "D365 login failed" >&2; exit 3'), baseDir: dir }), mappings, ['name'])).rejects.toThrow('file parts.xlsx: the refresh command failed (exit 3): D365 login failed');
    await expect(readAll(new ExcelCollector({ side: side('sleep 5', 0.3), baseDir: dir }), mappings, ['name'])).rejects.toThrow('file parts.xlsx: the refresh command did not finish within 0.3 s (refresh.timeoutS)');
  });

  it('waits until the file is newer than the last run when asked', async () => {
    const lastRunAt = new Date(Date.now() + 60_000);
    const side = { ...excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, mappings), system: { type: 'excel' as const, path: 'parts.xlsx', refresh: { command: 'true', timeoutS: 0.5, waitNewer: true } } };
    await expect(readAll(new ExcelCollector({ side, baseDir: dir, lastRunAt }), mappings, ['name'])).rejects.toThrow(/file parts\.xlsx: is not newer than the last run \(.*\) after 0\.5 s/);
  });

  it('waitNewer looks at the file in the config\'s folder, not in the working directory (cron, systemd)', async () => {
    // The tests run from the project's root; the workbook is in the config's (temporary) folder.
    expect(process.cwd()).not.toBe(dir);
    const lastRunAt = new Date(Date.now() - 1000);
    const side = { ...excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, mappings), system: { type: 'excel' as const, path: 'parts.xlsx', refresh: { command: 'touch parts.xlsx', timeoutS: 2, waitNewer: true } } };
    const { records } = await readAll(new ExcelCollector({ side, baseDir: dir, lastRunAt }), mappings, ['name']);
    expect(records.length).toBeGreaterThan(2000);
  });

  it('a sheet it skips is read to its end before exceljs deletes its temporary copy, on a slow disk too', async () => {
    // exceljs copies each worksheet stored before the shared strings (as here: "Notes" and
    // "Parts") to a temporary file, opens a stream on it, and deletes the file once the reader
    // moves past the sheet. A stream on a skipped sheet that has not opened its file by then
    // fails with ENOENT, uncaught, in whatever runs next. A slow disk makes that certain: every
    // open of a temporary file here takes 200 ms.
    const open = fs.open;
    const failed: string[] = [];
    const slowOpen = ((file: fs.PathLike, ...rest: unknown[]) => {
      const done = rest.pop() as (err: NodeJS.ErrnoException | null, fd?: number) => void;
      if (!/[\\/]tmp-\d+-\w+$/.test(String(file))) return (open as (...a: unknown[]) => void)(file, ...rest, done);
      setTimeout(() => (open as (...a: unknown[]) => void)(file, ...rest, (err: NodeJS.ErrnoException | null, fd?: number) => {
        if (err) failed.push(`${err.code} ${String(file)}`);
        // The failure is recorded above; the stream is given a descriptor of an empty file so
        // that the test process itself does not fail on what it has just recorded.
        done(null, err ? fs.openSync('/dev/null', 'r') : fd);
      }), 200);
    }) as typeof fs.open;
    fs.open = slowOpen;
    try {
      const { records } = await readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'Parts', headerRow: 3 }, mappings), baseDir: dir }), mappings, ['name']);
      expect(records.length).toBeGreaterThan(2000);
      await expect(readAll(new ExcelCollector({ side: excelSide('parts.xlsx', { sheet: 'Stock' }, mappings), baseDir: dir }), mappings, ['name'])).rejects.toThrow('has no sheet "Stock"');
      await new Promise((r) => setTimeout(r, 400));
    } finally {
      fs.open = open;
    }
    expect(failed).toEqual([]);
  });
});

describe('Excel collector memory', () => {
  it('peak heap stays bounded: 100,000 rows need about what 10,000 rows need', async () => {
    const small = path.join(dir, 'small.xlsx');
    const big = path.join(dir, 'big.xlsx');
    await writeParts(small, 10_000);
    await writeParts(big, 100_000);
    const measure = async (file: string) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'test/helpers/read-xlsx-child.ts'), file], { cwd: ROOT });
      return JSON.parse(stdout) as { records: number; peakMb: number };
    };
    const a = await measure(small);
    const b = await measure(big);
    expect(a.records).toBeGreaterThan(9_900);
    expect(b.records).toBeGreaterThan(99_000);
    // Ten times the rows: the heap may grow by the shared-strings table, not ten-fold.
    expect(b.peakMb).toBeLessThan(Math.max(a.peakMb * 3, a.peakMb + 30));
    console.log(`xlsx peak heap above baseline: 10,000 rows ${a.peakMb.toFixed(1)} MB, 100,000 rows ${b.peakMb.toFixed(1)} MB`);
  }, 120_000);
});

describe('CSV collector', () => {
  const csvSide = (file: string, system: Partial<CsvSideSpec['system']>, config: Partial<CsvSideSpec['config']>, mappings: FieldMapping[] | null): CsvSideSpec => ({
    role: 'target',
    systemName: 'portal',
    system: { type: 'csv', path: file, delimiter: ',', quote: '"', encoding: 'utf8', ...system },
    config: { system: 'portal', ...config },
    mappings,
  });

  it('reads delimiter, quotes, BOM and header names in any case; empty cells are null; blank rows skipped', async () => {
    writeFileSync(path.join(dir, 'a.csv'), '\uFEFFSKU;Name;" Price "\n001;"Bolt; large";1,5\n\n002;"say ""hi""";\n;;\n003;Nut;2\n');
    const mappings = [m('sku', 'sku'), m('name', 'NAME'), m('price', 'price')];
    const { records } = await readAll(new CsvCollector(csvSide('a.csv', { delimiter: ';' }, {}, mappings), dir), mappings, ['name', 'price']);
    expect(records.map((r) => r.fields)).toEqual([
      { sku: '001', name: 'Bolt; large', price: '1,5' },
      { sku: '002', name: 'say "hi"', price: null },
      { sku: '003', name: 'Nut', price: '2' },
    ]);
  });

  it('reads latin1 and utf16le files', async () => {
    writeFileSync(path.join(dir, 'l1.csv'), Buffer.from('sku,name\n1,Müller Straße\n', 'latin1'));
    writeFileSync(path.join(dir, 'u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('sku,name\n1,Ærø ✓\n', 'utf16le')]));
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    const l1 = await readAll(new CsvCollector(csvSide('l1.csv', { encoding: 'latin1' }, {}, mappings), dir), mappings, ['name']);
    const u16 = await readAll(new CsvCollector(csvSide('u16.csv', { encoding: 'utf16le' }, {}, mappings), dir), mappings, ['name']);
    expect(l1.records[0]!.fields.name).toBe('Müller Straße');
    expect(u16.records[0]!.fields.name).toBe('Ærø ✓');
  });

  it('names the right line after empty lines and line breaks quoted in cells', async () => {
    writeFileSync(path.join(dir, 'lines.csv'), 'sku,note,qty\nA,"two\nlines",1\n\nB,plain,2\n\nC,"three\nmore\nlines",x\nD,,y\n');
    const mappings = [m('sku', 'sku'), m('qty', 'qty', 'int')];
    const { records, invalid } = await readAll(new CsvCollector(csvSide('lines.csv', {}, {}, mappings), dir), mappings, ['qty']);
    expect(records.map((r) => [r.key, r.fields.qty])).toEqual([['A', 1], ['B', 2]]);
    // C starts on line 7 and ends on line 9; D is on line 10.
    expect(invalid.map((i) => i.ref)).toEqual(['lines.csv line 9 (key C)', 'lines.csv line 10 (key D)']);
  });

  it('a header further down, columns by letter, and a bad row counted invalid with its line', async () => {
    writeFileSync(path.join(dir, 'b.csv'), 'Export 2026-11-22\nsku,qty\nA,1\nB,x\nC,3\n');
    const mappings = [m('sku', 'A'), m('qty', 'B', 'int')];
    const { records, invalid } = await readAll(new CsvCollector(csvSide('b.csv', {}, { headerRow: 2 }, mappings), dir), mappings, ['qty']);
    expect(records.map((r) => [r.key, r.fields.qty])).toEqual([['A', 1], ['C', 3]]);
    expect(invalid).toEqual([{ ref: 'b.csv line 4 (key B)', reason: 'field qty: int: "x" is not a number' }]);
  });

  it('an unclosed quote names the line where the field began, not the end of the file', async () => {
    // The quote opens on line 15 of 21.
    const lines = ['sku,name', ...Array.from({ length: 13 }, (_, i) => `${i + 1},ok`), '14,"broken', ...Array.from({ length: 6 }, (_, i) => `${i + 15},fine`)];
    writeFileSync(path.join(dir, 'c.csv'), `${lines.join('\n')}\n`);
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    await expect(readAll(new CsvCollector(csvSide('c.csv', {}, {}, mappings), dir), mappings, ['name'])).rejects.toThrow(
      /^file c\.csv: line 15: a quoted field opened in the record that starts here is never closed \(check the quote character and the file\)$/,
    );
  });

  it('a Latin-1 file read as UTF-8 fails with the line and the encoding to set, instead of reading U+FFFD', async () => {
    writeFileSync(path.join(dir, 'l1-as-utf8.csv'), Buffer.from('sku,name\n1,plain\n2,Müller\n', 'latin1'));
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    await expect(readAll(new CsvCollector(csvSide('l1-as-utf8.csv', {}, {}, mappings), dir), mappings, ['name'])).rejects.toThrow(
      'file l1-as-utf8.csv: line 3: is not valid UTF-8 (saved as Latin-1 or Windows-1252?): set encoding: latin1 on the system, or save the file as UTF-8',
    );
  });

  it('a folder where the CSV or the workbook should be fails the read with one line (no unhandled stream error)', async () => {
    mkdirSync(path.join(dir, 'folder.csv'), { recursive: true });
    mkdirSync(path.join(dir, 'folder.xlsx'), { recursive: true });
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    await expect(readAll(new CsvCollector(csvSide('folder.csv', {}, {}, mappings), dir), mappings, ['name'])).rejects.toThrow(/^file folder\.csv: is a folder, not a file \(check the system's path: .*folder\.csv\)$/);
    await expect(readAll(new ExcelCollector({ side: excelSide('folder.xlsx', {}, mappings), baseDir: dir }), mappings, ['name'])).rejects.toThrow(/^file folder\.xlsx: is a folder, not a file/);
  });

  it('a CSV export is refreshed by its command first, and waited for when asked', async () => {
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    const lastRunAt = new Date(Date.now() - 1000);
    const refreshed = (command: string, waitNewer: boolean) => csvSide('fresh.csv', { refresh: { command, timeoutS: 2, waitNewer } }, {}, mappings);
    const { records } = await readAll(new CsvCollector(refreshed("printf 'sku,name\\n1,new\\n' > fresh.csv", true), dir, lastRunAt), mappings, ['name']);
    expect(records.map((r) => r.fields)).toEqual([{ sku: '1', name: 'new' }]);
    await expect(readAll(new CsvCollector(refreshed('exit 4', false), dir, lastRunAt), mappings, ['name'])).rejects.toThrow('file fresh.csv: the refresh command failed (exit 4)');
  });

  it('a missing column lists the headers found', async () => {
    writeFileSync(path.join(dir, 'd.csv'), 'sku,title\n1,x\n');
    const mappings = [m('sku', 'sku'), m('name', 'name')];
    await expect(readAll(new CsvCollector(csvSide('d.csv', {}, {}, mappings), dir), mappings, ['name'])).rejects.toThrow('file d.csv: column "name" not found in the header (line 1); found "sku", "title"');
  });
});

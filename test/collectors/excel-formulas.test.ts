// Formulas whose saved result is 0, an empty string, FALSE or an error, in a workbook written the way
// Excel and LibreOffice write one (each formula cell carries its result in <v>). exceljs'
// own writer leaves such results out, so the file is put together here from its XML parts.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { ExcelCollector } from '../../src/systems/excel/collector.js';
import { RecordMapper, type FieldMapping } from '../../src/collectors/mapper.js';
import type { Page } from '../../src/core/record.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

async function workbook(file: string, rows: string[]): Promise<void> {
  const zip = new JSZip();
  zip.file('[Content_Types].xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`);
  zip.file('_rels/.rels', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`);
  zip.file('xl/workbook.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Stock" sheetId="1" r:id="rId1"/></sheets></workbook>`);
  zip.file('xl/_rels/workbook.xml.rels', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`);
  zip.file('xl/worksheets/sheet1.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows.join('')}</sheetData></worksheet>`);
  writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

const text = (ref: string, s: string) => `<c r="${ref}" t="inlineStr"><is><t>${s}</t></is></c>`;
const num = (ref: string, n: number) => `<c r="${ref}"><v>${n}</v></c>`;

describe('formula results that are falsy', () => {
  it('reads 0, an empty string and FALSE as the saved results; an error result makes its row invalid', async () => {
    const file = path.join(dir, 'stock.xlsx');
    await workbook(file, [
      `<row r="1">${text('A1', 'sku')}${text('B1', 'qty')}${text('C1', 'value')}${text('D1', 'note')}${text('E1', 'listed')}</row>`,
      `<row r="2">${text('A2', 'S1')}${num('B2', 0)}<c r="C2"><f>B2*9.5</f><v>0</v></c><c r="D2" t="str"><f>IF(B2&gt;0,"ok","")</f><v></v></c><c r="E2" t="b"><f>B2&gt;0</f><v>0</v></c></row>`,
      `<row r="3">${text('A3', 'S2')}${num('B3', 2)}<c r="C3"><f>B3*9.5</f><v>19</v></c><c r="D3" t="str"><f>IF(B3&gt;0,"ok","")</f><v>ok</v></c><c r="E3" t="b"><f>B3&gt;0</f><v>1</v></c></row>`,
      `<row r="4">${text('A4', 'S3')}${num('B4', 1)}<c r="C4" t="e"><f>B4/0</f><v>#DIV/0!</v></c><c r="D4" t="str"><f>"x"</f><v>x</v></c><c r="E4" t="b"><f>TRUE</f><v>1</v></c></row>`,
    ]);
    // exceljs' streaming reader gives a TRUE/FALSE formula result as 1/0: the bool transform reads it.
    const mappings: FieldMapping[] = ['sku', 'qty', 'value', 'note', 'listed'].map((name) => ({ name, from: name, transforms: name === 'listed' ? parseTransforms('bool') : [] }));
    const collector = new ExcelCollector({ side: { role: 'source', systemName: 'd365', system: { type: 'excel', path: 'stock.xlsx' } as never, config: { system: 'd365', sheet: 'Stock' }, mappings }, baseDir: dir });
    const pages: Page[] = [];
    for await (const page of collector.read({ mapper: new RecordMapper({ keyChains: [['sku']], compareFields: ['value'], mappings }) })) pages.push(page);
    const records = pages.flatMap((p) => p.records);
    const invalid = pages.flatMap((p) => p.invalid);
    expect(records.map((r) => r.fields)).toEqual([
      { sku: 'S1', qty: 0, value: 0, note: '', listed: false },
      { sku: 'S2', qty: 2, value: 19, note: 'ok', listed: true },
    ]);
    expect(invalid).toEqual([{ ref: expect.stringContaining('row 4'), reason: 'cell C4 holds a formula whose saved result is an error' }]);
  });
});

// A workbook saved by LibreOffice itself: a notes sheet first, leading-zero text, formulas whose
// results are 0, "" and FALSE, and dates. Written as a flat ODS by the test, converted with
// `soffice --headless --convert-to xlsx`.
const soffice = ['/usr/bin/soffice', '/usr/bin/libreoffice'].find((p) => existsSync(p));
if (!soffice) process.stderr.write('[libreoffice] not installed: the workbook saved by LibreOffice is not read (apt install libreoffice-calc-nogui)\n');

const FODS = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
<number:date-style style:name="N37"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>
<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N37"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="Notes"><table:table-row><table:table-cell office:value-type="string"><text:p>Exported from D365, do not edit</text:p></table:table-cell></table:table-row></table:table>
<table:table table:name="Stock">
<table:table-row>
<table:table-cell office:value-type="string"><text:p>sku</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>qty</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>price</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>value</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>note</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>listed</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>updated</text:p></table:table-cell>
</table:table-row>
<table:table-row>
<table:table-cell office:value-type="string"><text:p>00123</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="0"/>
<table:table-cell office:value-type="float" office:value="9.5"/>
<table:table-cell table:formula="of:=[.B2]*[.C2]" office:value-type="float" office:value="0"/>
<table:table-cell table:formula="of:=IF([.B2]&gt;0;&quot;ok&quot;;&quot;&quot;)" office:value-type="string" office:string-value=""/>
<table:table-cell table:formula="of:=[.B2]&gt;0" office:value-type="boolean" office:boolean-value="false"/>
<table:table-cell table:style-name="ce1" office:value-type="date" office:date-value="2026-11-20"/>
</table:table-row>
<table:table-row>
<table:table-cell office:value-type="string"><text:p>00456</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="2"/>
<table:table-cell office:value-type="float" office:value="9.5"/>
<table:table-cell table:formula="of:=[.B3]*[.C3]" office:value-type="float" office:value="19"/>
<table:table-cell table:formula="of:=IF([.B3]&gt;0;&quot;ok&quot;;&quot;&quot;)" office:value-type="string" office:string-value="ok"/>
<table:table-cell table:formula="of:=[.B3]&gt;0" office:value-type="boolean" office:boolean-value="true"/>
<table:table-cell table:style-name="ce1" office:value-type="date" office:date-value="2026-11-21"/>
</table:table-row>
</table:table>
</office:spreadsheet></office:body></office:document>
`;

describe.skipIf(!soffice)('[libreoffice] a workbook LibreOffice saved', () => {
  it('reads every row: 0-valued formulas, empty-text and FALSE results, dates and leading-zero text, past a notes sheet', async () => {
    writeFileSync(path.join(dir, 'lo-stock.fods'), FODS);
    const converted = spawnSync(soffice!, [`-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`, '--headless', '--convert-to', 'xlsx', '--outdir', dir, path.join(dir, 'lo-stock.fods')], { encoding: 'utf8', timeout: 120_000 });
    expect(converted.status, converted.stderr).toBe(0);
    const mappings: FieldMapping[] = ['sku', 'qty', 'price', 'value', 'note', 'listed', 'updated'].map((name) => ({ name, from: name, transforms: name === 'listed' ? parseTransforms('bool') : [] }));
    const collector = new ExcelCollector({ side: { role: 'source', systemName: 'calc', system: { type: 'excel', path: 'lo-stock.xlsx' } as never, config: { system: 'calc', sheet: 'Stock' }, mappings }, baseDir: dir });
    const pages: Page[] = [];
    for await (const page of collector.read({ mapper: new RecordMapper({ keyChains: [['sku']], compareFields: ['qty', 'price', 'value', 'note', 'listed', 'updated'], mappings }) })) pages.push(page);
    expect(pages.flatMap((p) => p.invalid)).toEqual([]);
    const rows = pages.flatMap((p) => p.records).map((r) => ({ ...r.fields, updated: r.fields.updated instanceof Date ? r.fields.updated.toISOString().slice(0, 10) : r.fields.updated }));
    expect(rows).toEqual([
      { sku: '00123', qty: 0, price: 9.5, value: 0, note: '', listed: false, updated: '2026-11-20' },
      { sku: '00456', qty: 2, price: 9.5, value: 19, note: 'ok', listed: true, updated: '2026-11-21' },
    ]);
  }, 180_000);
});

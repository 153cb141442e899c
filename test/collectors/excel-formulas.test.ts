// Formulas whose saved result is 0, an empty string, FALSE or an error, in a workbook written the way
// Excel and LibreOffice write one (each formula cell carries its result in <v>). exceljs'
// own writer leaves such results out, so the file is put together here from its XML parts.
import { writeFileSync } from 'node:fs';
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

// Writes xlsx files with exceljs' streaming writer, with every cell shape the reader handles.
import ExcelJS from 'exceljs';

export const HEADERS = ['SKU', ' Name ', 'Price', 'Active', 'Updated', 'Link', 'Total', 'Category'];

/** Row i of the big sheet. Every 1000th row has an error cell in Price; every 997th is blank. */
export function partRow(i: number): unknown[] {
  if (i % 997 === 996) return [];
  const sku = String(i).padStart(7, '0');
  // Rich text rows all say the same: exceljs' writer shares one string for every rich text.
  const name = i % 5 === 0 ? { richText: [{ text: 'Big ' }, { font: { bold: true }, text: 'Bolt' }] } : `Part ${i}`;
  const price = i % 1000 === 999 ? { error: '#N/A' } : Math.round(i * 1.37) / 100;
  // exceljs' writer leaves out a formula result of 0, which reads back as "no saved result": avoid 0.
  const total = { formula: `C${i + 2}*2+1`, result: (Math.round(i * 1.37) / 100) * 2 + 1 };
  return [sku, name, price, i % 3 !== 0, new Date(Date.UTC(2026, 0, 1 + (i % 28))), { text: `site ${i % 10}`, hyperlink: `https://example.com/${i % 10}` }, total, `cat-${i % 7}`];
}

export async function writeParts(file: string, rows: number, options: { sheetName?: string; headerRowAt?: number } = {}): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true, useStyles: true });
  wb.addWorksheet('Notes').addRow(['This sheet is not the data']).commit();
  const ws = wb.addWorksheet(options.sheetName ?? 'Parts');
  for (let i = 1; i < (options.headerRowAt ?? 1); i++) ws.addRow([`export of ${i}`]).commit();
  ws.addRow(HEADERS).commit();
  for (let i = 0; i < rows; i++) {
    const row = ws.addRow(partRow(i));
    row.getCell(5).numFmt = 'yyyy-mm-dd';
    row.commit();
  }
  ws.commit();
  await wb.commit();
}

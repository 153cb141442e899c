// Rows to a CSV file (csv-stringify, with backpressure) or an .xlsx sheet (exceljs' streaming
// writer), picked by the file's extension; written under a temporary name, renamed when whole.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify';
import { ParityError } from '../core/errors.js';

export interface RowWriter {
  write(values: readonly (string | null)[]): Promise<void>;
  close(): Promise<void>;
}

/** A CSV or xlsx writer for `file` (written under a temporary name and renamed when complete). */
export async function rowWriter(file: string, header: readonly string[], sheet = 'records'): Promise<RowWriter & { file: string }> {
  const ext = path.extname(file).toLowerCase();
  const partial = `${file}.partial`;
  if (ext === '.xlsx') {
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: partial, useStyles: false, useSharedStrings: false });
    const ws = workbook.addWorksheet(sheet);
    ws.addRow([...header]).commit();
    let rows = 0;
    return {
      file,
      async write(values) {
        ws.addRow(values.map((v) => v ?? null)).commit();
        // The writer has no backpressure: a turn of the event loop now and then lets the zip
        // stream compress and write what was committed, instead of holding it all in memory.
        if (++rows % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      },
      async close() {
        ws.commit();
        await workbook.commit();
        await rename(partial, file);
      },
    };
  }
  if (ext !== '.csv') throw new ParityError('PARITY_USAGE', `--out ${file}: use a .csv or .xlsx file name`);
  const out = createWriteStream(partial);
  const csv = stringify({ header: true, columns: [...header] });
  csv.pipe(out);
  return {
    file,
    async write(values) {
      if (!csv.write(values)) await once(csv, 'drain');
    },
    async close() {
      csv.end();
      await once(out, 'close');
      await rename(partial, file);
    },
  };
}


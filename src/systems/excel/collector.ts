// Reads an entity side from an xlsx workbook with exceljs' streaming WorkbookReader (never
// the whole workbook in memory): the sheet by name or position, the header row, columns by
// header name or letter. Blank rows are skipped; a row with a bad cell is invalid with its
// row number; the rest of the sheet still reads.
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describeError, isParityError, ParityError } from '../../core/errors.js';
import type { Page } from '../../core/record.js';
import { checkFile, fileError, readHeader, readTable, refreshFile, resolveColumns, wantedColumns, type TableRow } from '../../collectors/file.js';
import type { MetricValue } from '../../collectors/metrics.js';
import type { Collector, ProbeResult, ReadOptions } from '../../collectors/types.js';
import { WatermarkTracker } from '../../collectors/watermark.js';
import { cellValue } from './cells.js';

import type { ExcelSideSpec, ExcelSystemConfig as ExcelSystem } from './schema.js';


export interface ExcelCollectorOptions {
  side: ExcelSideSpec;
  baseDir: string;
  /** When the last completed run started: for refresh.waitNewer. */
  lastRunAt?: Date | null;
}

export class ExcelCollector implements Collector {
  private readonly file: string;
  private readonly shown: string;
  private readonly system: ExcelSystem;
  private tracker: WatermarkTracker | null = null;
  private refreshed = false;

  constructor(private readonly options: ExcelCollectorOptions) {
    const { side } = options;
    this.system = side.system;
    this.file = path.resolve(options.baseDir, side.system.path);
    this.shown = side.system.path;
  }

  private get headerRow(): number {
    return this.options.side.config.headerRow ?? 1;
  }

  /** The rows of the configured sheet, streamed. */
  private async *rows(signal?: AbortSignal, refresh = true): AsyncGenerator<TableRow> {
    if (refresh && this.system.refresh && !this.refreshed) {
      await refreshFile(this.shown, this.file, this.options.baseDir, this.system.refresh, this.options.lastRunAt ?? null, signal);
      this.refreshed = true;
    }
    checkFile(this.shown, this.file);
    const wanted = this.options.side.config.sheet ?? 1;
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(this.file, { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'cache', worksheets: 'emit', entries: 'ignore' });
    const seen: string[] = [];
    try {
      for await (const sheet of reader as unknown as AsyncIterable<ExcelJS.stream.xlsx.WorksheetReader & { name: string }>) {
        const order: string[] = ((reader as unknown as { model?: { sheets?: { name: string }[] } }).model?.sheets ?? []).map((s) => s.name);
        const target = typeof wanted === 'number' ? order[wanted - 1] : wanted;
        seen.push(sheet.name);
        if (target === undefined || sheet.name.trim().toLowerCase() !== String(target).trim().toLowerCase()) {
          await skip(sheet);
          continue;
        }
        for await (const row of sheet as unknown as AsyncIterable<SheetRow>) {
          if (signal?.aborted) throw new ParityError('PARITY_ABORTED', `file ${this.shown}: read aborted`);
          yield { number: row.number, cells: withFormulaResults(row) };
        }
        return;
      }
    } catch (err) {
      if (isParityError(err)) throw err;
      throw fileError(this.shown, `is not a readable xlsx workbook (${describeError(err)})`, err);
    }
    throw fileError(this.shown, `has no sheet ${typeof wanted === 'number' ? `number ${wanted}` : `"${wanted}"`} (sheets: ${seen.map((s) => `"${s}"`).join(', ') || 'none'})`);
  }

  /** `refresh: false` for validate, which checks the file as it is and never runs the command. */
  async columns(refresh = true): Promise<string[] | null> {
    return readHeader(this.rows(undefined, refresh), this.headerRow, cellValue);
  }

  async metrics(): Promise<Map<string, MetricValue>> {
    return new Map();
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  async *read({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    this.tracker = new WatermarkTracker(this.options.side.config.incremental?.field, (row, f) => row[f]);
    yield* readTable({
      file: this.shown,
      unit: 'row',
      headerRow: this.headerRow,
      rows: this.rows(signal),
      valueOf: cellValue,
      mappings: this.options.side.mappings,
      mapper,
      tracker: this.tracker,
      signal,
    });
  }

  async probe(): Promise<ProbeResult[]> {
    const check = `file ${this.shown}`;
    try {
      const headers = await this.columns(false);
      if (!headers) return [{ ok: false, check, detail: `has no header row at row ${this.headerRow}` }];
      resolveColumns(this.shown, this.headerRow, headers, wantedColumns(this.options.side.mappings, headers), 'row');
      return [{ ok: true, check, detail: `sheet ${JSON.stringify(this.options.side.config.sheet ?? 1)} found (${headers.length} columns)` }];
    } catch (err) {
      return [{ ok: false, check, detail: describeError(err).replace(/^file [^:]*: /, '') }];
    }
  }

  async close(): Promise<void> {}
}

interface SheetRow {
  number: number;
  values: unknown[];
  getCell(column: number): { result?: unknown };
}

/**
 * The row's values, with every formula's saved result. exceljs' `value` of a formula cell
 * leaves out a result that is 0, "" or FALSE (it copies only truthy fields), so an out-of-stock
 * row (`=qty*price` = 0) would read as a formula without a result; the cell's `result` keeps it.
 */
function withFormulaResults(row: SheetRow): unknown[] {
  const values = row.values;
  for (let c = 1; c < values.length; c++) {
    const v = values[c];
    if (v === null || typeof v !== 'object' || !('formula' in v || 'sharedFormula' in v) || 'result' in v) continue;
    const result = row.getCell(c).result;
    if (result !== undefined) values[c] = { ...v, result };
  }
  return values;
}

/**
 * Reads a sheet parity does not want to its end. exceljs keeps a sheet stored before the shared
 * strings in a temporary file and deletes it as soon as the reader moves on; a stream on it that
 * has not opened the file by then fails later, uncaught. Reading it to the end first closes that
 * gap. The raw bytes are enough (exceljs' reader keeps them as `iterator`); the rows are the
 * fallback should that ever change.
 */
async function skip(sheet: ExcelJS.stream.xlsx.WorksheetReader): Promise<void> {
  const raw = (sheet as unknown as { iterator?: AsyncIterable<unknown> }).iterator;
  for await (const _ of raw && typeof raw[Symbol.asyncIterator] === 'function' ? raw : (sheet as unknown as AsyncIterable<unknown>)) void _;
}

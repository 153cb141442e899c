// Reads an entity side from an xlsx workbook with exceljs' streaming WorkbookReader (never
// the whole workbook in memory): the sheet by name or position, the header row, columns by
// header name or letter. Blank rows are skipped; a row with a bad cell is invalid with its
// row number; the rest of the sheet still reads.
import { existsSync } from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describeError, isParityError } from '../../core/errors.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import { fileError, refreshFile, resolveColumns } from '../file.js';
import type { MetricValue } from '../metrics.js';
import type { SideSpec } from '../schema.js';
import type { Collector, ProbeResult, ReadOptions } from '../types.js';
import { WatermarkTracker } from '../watermark.js';
import { CellError, cellValue } from './cells.js';

const PAGE = 1000;

type ExcelSystem = Extract<SideSpec['system'], { type: 'excel' }>;

interface SheetRow {
  number: number;
  values: unknown[];
}

export interface ExcelCollectorOptions {
  side: SideSpec;
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
    if (side.system.type !== 'excel') throw new Error(`ExcelCollector given a ${side.system.type} system`);
    this.system = side.system;
    this.file = path.resolve(options.baseDir, side.system.path);
    this.shown = side.system.path;
  }

  private get headerRow(): number {
    return this.options.side.config.headerRow ?? 1;
  }

  /** The rows of the configured sheet, streamed. */
  private async *rows(signal?: AbortSignal, refresh = true): AsyncGenerator<SheetRow> {
    if (refresh && this.system.refresh && !this.refreshed) {
      await refreshFile(this.shown, this.options.baseDir, this.system.refresh, this.options.lastRunAt ?? null, signal);
      this.refreshed = true;
    }
    if (!existsSync(this.file)) throw fileError(this.shown, "does not exist (check the system's path)");
    const wanted = this.options.side.config.sheet ?? 1;
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(this.file, { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'cache', worksheets: 'emit', entries: 'ignore' });
    const seen: string[] = [];
    try {
      for await (const sheet of reader as unknown as AsyncIterable<ExcelJS.stream.xlsx.WorksheetReader & { name: string }>) {
        const order: string[] = ((reader as unknown as { model?: { sheets?: { name: string }[] } }).model?.sheets ?? []).map((s) => s.name);
        const target = typeof wanted === 'number' ? order[wanted - 1] : wanted;
        seen.push(sheet.name);
        if (target === undefined || sheet.name.trim().toLowerCase() !== String(target).trim().toLowerCase()) continue;
        for await (const row of sheet as unknown as AsyncIterable<{ number: number; values: unknown[] }>) {
          if (signal?.aborted) throw new Error('read aborted');
          yield { number: row.number, values: row.values };
        }
        return;
      }
    } catch (err) {
      if (isParityError(err)) throw err;
      throw fileError(this.shown, `is not a readable xlsx workbook (${describeError(err)})`, err);
    }
    throw fileError(this.shown, `has no sheet ${typeof wanted === 'number' ? `number ${wanted}` : `"${wanted}"`} (sheets: ${seen.map((s) => `"${s}"`).join(', ') || 'none'})`);
  }

  private header(values: unknown[], rowNumber: number): (string | null)[] {
    const out: (string | null)[] = [];
    for (let c = 1; c < values.length; c++) {
      let v: unknown;
      try {
        v = cellValue(values[c], rowNumber, c);
      } catch {
        v = null;
      }
      out.push(v === null ? null : String(v).trim());
    }
    return out;
  }

  private wanted(headers: (string | null)[]): string[] {
    const side = this.options.side;
    if (side.mappings) return [...new Set(side.mappings.map((m) => m.from))];
    return headers.filter((h): h is string => h !== null && h !== '');
  }

  /** `refresh: false` for validate, which checks the file as it is and never runs the command. */
  async columns(refresh = true): Promise<string[] | null> {
    for await (const row of this.rows(undefined, refresh)) {
      if (row.number === this.headerRow) return this.header(row.values, row.number).filter((h): h is string => h !== null && h !== '');
    }
    return null;
  }

  async metrics(): Promise<Map<string, MetricValue>> {
    return new Map();
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  async *read({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    this.tracker = new WatermarkTracker(this.options.side.config.incremental?.field, (row, f) => row[f]);
    let columns: Map<string, number> | null = null;
    let records: NormalizedRecord[] = [];
    let invalid: InvalidRecord[] = [];
    for await (const { number, values } of this.rows(signal)) {
      if (number < this.headerRow) continue;
      if (!columns) {
        if (number !== this.headerRow) break;
        const headers = this.header(values, number);
        columns = resolveColumns(this.shown, number, headers, this.wanted(headers));
        continue;
      }
      const ref = `${this.shown} row ${number}`;
      const row: Record<string, unknown> = {};
      let blank = true;
      try {
        for (const [name, index] of columns) {
          const v = cellValue(values[index], number, index);
          if (v !== null && !(typeof v === 'string' && v.trim() === '')) blank = false;
          row[name] = v;
        }
      } catch (err) {
        if (!(err instanceof CellError)) throw err;
        invalid.push({ ref, reason: err.message });
        continue;
      }
      if (blank) continue;
      this.tracker.see(row);
      const result = mapper.map(row, ref);
      if (result.record) records.push(result.record);
      else invalid.push(result.invalid);
      if (records.length + invalid.length >= PAGE) {
        yield { records, invalid };
        records = [];
        invalid = [];
      }
    }
    if (!columns) throw fileError(this.shown, `has no header row at row ${this.headerRow}`);
    if (records.length || invalid.length) yield { records, invalid };
  }

  async probe(): Promise<ProbeResult[]> {
    const check = `file ${this.shown}`;
    try {
      const headers = await this.columns(false);
      if (!headers) return [{ ok: false, check, detail: `has no header row at row ${this.headerRow}` }];
      resolveColumns(this.shown, this.headerRow, headers, this.wanted(headers));
      return [{ ok: true, check, detail: `sheet ${JSON.stringify(this.options.side.config.sheet ?? 1)} found (${headers.length} columns)` }];
    } catch (err) {
      return [{ ok: false, check, detail: describeError(err) }];
    }
  }

  async close(): Promise<void> {}
}

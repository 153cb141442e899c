// Reads an entity side from a CSV file with csv-parse, streaming: delimiter, quote, BOM,
// encoding and header row from the config. Empty cells are null; a row a transform cannot
// read is invalid with its line number; a broken file is an error naming file and line.
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { describeError } from '../../core/errors.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import { fileError, resolveColumns } from '../file.js';
import type { MetricValue } from '../metrics.js';
import type { SideSpec } from '../schema.js';
import type { Collector, ProbeResult, ReadOptions } from '../types.js';
import { WatermarkTracker } from '../watermark.js';

const PAGE = 1000;

export class CsvCollector implements Collector {
  private readonly file: string;
  private readonly shown: string;
  private tracker: WatermarkTracker | null = null;

  constructor(
    private readonly side: SideSpec,
    baseDir: string,
  ) {
    if (side.system.type !== 'csv') throw new Error(`CsvCollector given a ${side.system.type} system`);
    this.file = path.resolve(baseDir, side.system.path);
    this.shown = side.system.path;
  }

  private open() {
    const system = this.side.system as Extract<SideSpec['system'], { type: 'csv' }>;
    if (!existsSync(this.file)) throw fileError(this.shown, 'does not exist (check the system\'s path)');
    const parser = parse({
      delimiter: system.delimiter,
      quote: system.quote,
      encoding: system.encoding,
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      from_line: this.side.config.headerRow ?? 1,
    });
    return createReadStream(this.file).pipe(parser);
  }

  private wrap(err: unknown): Error {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      const what = err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted field is not closed (check the quote character and the file)' : err.message.replace(/^[^:]*: /, '');
      return fileError(this.shown, `${line ? `line ${line}: ` : ''}${what}`, err);
    }
    return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('PARITY_') ? err : fileError(this.shown, describeError(err), err);
  }

  private wanted(headers: (string | null)[]): string[] {
    if (this.side.mappings) return [...new Set(this.side.mappings.map((m) => m.from))];
    return headers.filter((h): h is string => h !== null && h.trim() !== '').map((h) => h.trim());
  }

  async columns(): Promise<string[] | null> {
    const parser = this.open();
    try {
      for await (const { record } of parser as AsyncIterable<{ record: string[] }>) return record.map((h) => h.trim()).filter(Boolean);
    } catch (err) {
      throw this.wrap(err);
    } finally {
      parser.destroy();
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
    this.tracker = new WatermarkTracker(this.side.config.incremental?.field, (row, f) => row[f]);
    const parser = this.open();
    const headerLine = this.side.config.headerRow ?? 1;
    let columns: Map<string, number> | null = null;
    let records: NormalizedRecord[] = [];
    let invalid: InvalidRecord[] = [];
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        if (signal?.aborted) throw new Error('read aborted');
        if (!columns) {
          columns = resolveColumns(this.shown, headerLine, record, this.wanted(record));
          continue;
        }
        const row: Record<string, unknown> = {};
        let blank = true;
        for (const [name, index] of columns) {
          const cell = record[index - 1];
          const value = cell === undefined || cell === '' ? null : cell;
          if (value !== null && value.trim() !== '') blank = false;
          row[name] = value;
        }
        if (blank) continue;
        this.tracker.see(row);
        const result = mapper.map(row, `${this.shown} line ${info.lines}`);
        if (result.record) records.push(result.record);
        else invalid.push(result.invalid);
        if (records.length + invalid.length >= PAGE) {
          yield { records, invalid };
          records = [];
          invalid = [];
        }
      }
    } catch (err) {
      throw this.wrap(err);
    } finally {
      parser.destroy();
    }
    if (!columns) throw fileError(this.shown, `has no header row at line ${headerLine}`);
    if (records.length || invalid.length) yield { records, invalid };
  }

  async probe(): Promise<ProbeResult[]> {
    try {
      const headers = await this.columns();
      if (!headers) return [{ ok: false, check: `file ${this.shown}`, detail: 'is empty' }];
      resolveColumns(this.shown, this.side.config.headerRow ?? 1, headers, this.wanted(headers));
      return [{ ok: true, check: `file ${this.shown}`, detail: `found (${headers.length} columns)` }];
    } catch (err) {
      return [{ ok: false, check: `file ${this.shown}`, detail: describeError(err) }];
    }
  }

  async close(): Promise<void> {}
}

// Reads an entity side from a CSV file with csv-parse, streaming: delimiter, quote, BOM,
// encoding and header row from the config. Empty cells are null; a row a transform cannot
// read is invalid with its line number; a broken file is an error naming file and line.
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { describeError } from '../../core/errors.js';
import type { Page } from '../../core/record.js';
import { fileError, readHeader, readTable, resolveColumns, wantedColumns, type TableRow } from '../../collectors/file.js';
import type { MetricValue } from '../../collectors/metrics.js';
import type { Collector, ProbeResult, ReadOptions } from '../../collectors/types.js';
import { WatermarkTracker } from '../../collectors/watermark.js';
import type { CsvSideSpec } from './schema.js';

/** An empty cell is null. */
const csvValue = (cell: unknown) => (cell === undefined || cell === '' ? null : cell);

export class CsvCollector implements Collector {
  private readonly file: string;
  private readonly shown: string;
  private tracker: WatermarkTracker | null = null;

  constructor(
    private readonly side: CsvSideSpec,
    baseDir: string,
  ) {
    this.file = path.resolve(baseDir, side.system.path);
    this.shown = side.system.path;
  }

  private open() {
    const system = this.side.system;
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

  /** The file's lines as table rows; empty cells are null. */
  private async *rows(): AsyncGenerator<TableRow> {
    const parser = this.open();
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        yield { number: info.lines, cells: [undefined, ...record] };
      }
    } catch (err) {
      throw this.wrap(err);
    } finally {
      parser.destroy();
    }
  }

  private get headerRow(): number {
    return this.side.config.headerRow ?? 1;
  }

  /** csv-parse starts at the configured header line: its first record is the header. */
  async columns(): Promise<string[] | null> {
    return readHeader(this.rows(), 'first', csvValue);
  }

  async metrics(): Promise<Map<string, MetricValue>> {
    return new Map();
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  async *read({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    this.tracker = new WatermarkTracker(this.side.config.incremental?.field, (row, f) => row[f]);
    yield* readTable({
      file: this.shown,
      unit: 'line',
      headerRow: 'first',
      rows: this.rows(),
      valueOf: csvValue,
      mappings: this.side.mappings,
      mapper,
      tracker: this.tracker,
      signal,
    });
  }

  async probe(): Promise<ProbeResult[]> {
    try {
      const headers = await this.columns();
      if (!headers) return [{ ok: false, check: `file ${this.shown}`, detail: 'is empty' }];
      resolveColumns(this.shown, this.headerRow, headers, wantedColumns(this.side.mappings, headers));
      return [{ ok: true, check: `file ${this.shown}`, detail: `found (${headers.length} columns)` }];
    } catch (err) {
      return [{ ok: false, check: `file ${this.shown}`, detail: describeError(err).replace(/^file [^:]*: /, '') }];
    }
  }

  async close(): Promise<void> {}
}

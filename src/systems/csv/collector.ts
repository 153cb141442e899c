// Reads an entity side from a CSV file, streaming: delimiter, quote, BOM, encoding and header
// row from the config. UTF-8 text without quotes is split directly (records.ts); csv-parse
// reads quoted text and other encodings. Empty cells are null; a row a transform cannot
// read is invalid with its line number; a broken file is an error naming file and line.
import { createReadStream, statSync } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import path from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { describeError } from '../../core/errors.js';
import type { Page, Span } from '../../core/record.js';
import { checkFile, fileError, readHeader, refreshFile, readTable, resolveColumns, wantedColumns, type TableRow } from '../../collectors/file.js';
import type { MetricValue } from '../../collectors/metrics.js';
import type { Collector, ProbeResult, ReadOptions } from '../../collectors/types.js';
import { WatermarkTracker } from '../../collectors/watermark.js';
import type { CsvSideSpec } from './schema.js';
import { recordsAt } from './places.js';
import { csvRecords, type CsvBatch } from './records.js';
import { readInWorker, workerFile } from './in-worker.js';
import { pageOf, placedPages, type KeyedPage } from './placed.js';
import type { RecordMapper } from '../../collectors/mapper.js';

/** Files from this size on are read in a worker thread (about 100,000 lines of 40 bytes):
 *  a thread costs about 10 MB and 30 ms to start. */
const WORKER_BYTES = 4 * 1024 * 1024;

/** The file's size; 0 when it cannot be read (the read then says why). */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The pages; the first with two records or more that have places tells about how many
 *  records a file of `size` bytes holds, judged by the bytes from the first to the last of
 *  them (Page.expected). */
async function* withExpected(size: number, pages: AsyncIterable<Page>): AsyncGenerator<Page> {
  let told = false;
  for await (const page of pages) {
    const spans = page.spans;
    if (!told && spans) {
      let first = 0;
      let last = page.records.length - 1;
      while (first < last && spans[2 * first]! < 0) first++;
      while (last > first && spans[2 * last]! < 0) last--;
      const bytes = spans[2 * last]! + spans[2 * last + 1]! - spans[2 * first]!;
      if (last > first && spans[2 * first]! >= 0 && bytes > 0) {
        page.expected = Math.ceil((size / bytes) * (last - first + 1));
        told = true;
      }
    }
    yield page;
  }
}

/** An empty cell is null. */
const csvValue = (cell: unknown) => (cell === undefined || cell === '' ? null : cell);

export class CsvCollector implements Collector {
  private readonly file: string;
  private readonly shown: string;
  private tracker: WatermarkTracker | null = null;

  private refreshed = false;

  constructor(
    private readonly side: CsvSideSpec,
    private readonly baseDir: string,
    /** When the last completed run started: for refresh.waitNewer. */
    private readonly lastRunAt: Date | null = null,
  ) {
    this.file = path.resolve(baseDir, side.system.path);
    this.shown = side.system.path;
  }

  /** The line the last complete record ended on: a record that breaks began after it. */
  private lastLine = 0;

  /** A file in another encoding than UTF-8: csv-parse decodes it (and drops its BOM). */
  private open(): Readable {
    const system = this.side.system;
    const parser = parse({
      delimiter: system.delimiter,
      quote: system.quote,
      encoding: system.encoding,
      bom: true,
      relax_column_count: true,
      // Empty lines come through as [''] and are skipped below, so that every line is counted
      // without an info object per record.
      skip_empty_lines: false,
      from_line: this.headerRow,
    });
    // pipeline, not pipe: an error of the file (a folder, a read failure) reaches the parser's reader.
    return pipeline(createReadStream(this.file), parser, () => undefined);
  }

  /** The file's records in batches; `plain` when each record is one line. `kept`: whether
   *  cells may be kept past their batch (see CsvRecordOptions.kept). */
  private async *records(kept = true): AsyncGenerator<CsvBatch> {
    const system = this.side.system;
    checkFile(this.shown, this.file);
    if (system.encoding === 'utf8') {
      yield* csvRecords({ file: this.file, shown: this.shown, delimiter: system.delimiter, quote: system.quote, fromLine: this.headerRow, kept });
      return;
    }
    const parser = this.open();
    try {
      for await (const records of batches<string[]>(parser)) yield { records, plain: false };
    } finally {
      parser.destroy();
    }
  }

  private wrap(err: unknown): Error {
    if (err instanceof CsvError) {
      if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
        // csv-parse reports the end of the file; the field began in the record after the last good one.
        return fileError(this.shown, `line ${this.lastLine + 1}: a quoted field opened in the record that starts here is never closed (check the quote character and the file)`, err);
      }
      const line = (err as CsvError & { lines?: number }).lines;
      return fileError(this.shown, `${line ? `line ${line}: ` : ''}${err.message.replace(/^[^:]*: /, '')}`, err);
    }
    return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('PARITY_') ? err : fileError(this.shown, describeError(err), err);
  }

  /** The file's lines as table rows; empty cells are null. `refresh: false` for validate. */
  private async *rows(signal?: AbortSignal, refresh = true): AsyncGenerator<TableRow[]> {
    if (refresh) await this.refresh(signal);
    try {
      let line = this.headerRow - 1;
      this.lastLine = line;
      for await (const batch of this.records()) {
        const rows: TableRow[] = [];
        const { spans } = batch;
        for (let k = 0; k < batch.records.length; k++) {
          const record = batch.records[k] as (string | undefined)[];
          // A record ends on the line after the last one, plus the line breaks quoted in its cells.
          line++;
          if (!batch.plain) {
            for (let i = 0; i < record.length; i++) {
              const cell = record[i]!;
              for (let at = cell.indexOf('\n'); at >= 0; at = cell.indexOf('\n', at + 1)) line++;
            }
          }
          this.lastLine = line;
          if (record.length === 1 && record[0] === '') continue;
          // Cells are 1-based, as in a sheet.
          record.unshift(undefined);
          rows.push(spans ? { number: line, cells: record, at: spans[2 * k]!, bytes: spans[2 * k + 1]! } : { number: line, cells: record });
        }
        if (rows.length) yield rows;
      }
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private get headerRow(): number {
    return this.side.config.headerRow ?? 1;
  }

  /** csv-parse starts at the configured header line: its first record is the header. */
  async columns(refresh = true): Promise<string[] | null> {
    return readHeader(this.rows(undefined, refresh), 'first', csvValue);
  }

  async metrics(): Promise<Map<string, MetricValue>> {
    return new Map();
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  async *read(options: ReadOptions): AsyncIterable<Page> {
    const portable = options.placesOnly && this.side.config.incremental === undefined ? options.mapper.portable() : null;
    if (!portable) {
      yield* this.readTable(options);
      return;
    }
    this.tracker = new WatermarkTracker(undefined, (row, f) => row[f]);
    // The refresh command may write the file: its size is known after it.
    await this.refresh(options.signal);
    // Keys, hashes and places only: in a worker thread when this runs compiled and the file is
    // large enough to pay for the thread (its start and its memory), else here.
    const size = sizeOf(this.file);
    const worker = size >= WORKER_BYTES ? workerFile() : null;
    if (!worker) {
      yield* withExpected(size, (async function* (pages: AsyncIterable<KeyedPage>) {
        for await (const page of pages) yield pageOf(page);
      })(this.keyedPages(options.mapper, options.signal, false)));
      return;
    }
    const { role, systemName, system, config } = this.side;
    const side: CsvSideSpec = { role, systemName, system: { ...system, refresh: undefined }, config, mappings: portable.mappings?.map((m) => ({ ...m, transforms: [] })) ?? null };
    yield* withExpected(size, readInWorker(worker, { side, baseDir: this.baseDir, mapper: portable }, (n) => options.mapper.countPlaced(n), options.signal));
  }

  /** The records as readTable makes them, each with its fields. */
  private async *readTable({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    this.tracker = new WatermarkTracker(this.side.config.incremental?.field, (row, f) => row[f]);
    yield* readTable({
      file: this.shown,
      unit: 'line',
      headerRow: 'first',
      rows: this.rows(signal),
      valueOf: csvValue,
      mappings: this.side.mappings,
      mapper,
      tracker: this.tracker,
      signal,
    });
  }

  /** The records as keys, hashes and places (see placed.ts), read in this thread; the mapper
   *  only reads cells. `refresh: false` when the file was refreshed already. */
  async *keyedPages(mapper: RecordMapper, signal?: AbortSignal, refresh = true): AsyncGenerator<KeyedPage> {
    this.tracker ??= new WatermarkTracker(undefined, (row, f) => row[f]);
    if (refresh) await this.refresh(signal);
    this.lastLine = this.headerRow - 1;
    const table = { file: this.shown, unit: 'line' as const, valueOf: csvValue, mappings: this.side.mappings, mapper, tracker: this.tracker };
    try {
      // Cells are not kept past their batch: no copies out of the read chunk.
      yield* placedPages({ table, batches: this.records(false), headerLine: this.headerRow, atLine: (line) => (this.lastLine = line), signal });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Runs the system's refresh command once, before the first read. */
  private async refresh(signal?: AbortSignal): Promise<void> {
    const command = this.side.system.refresh;
    if (command && !this.refreshed) {
      await refreshFile(this.shown, this.file, this.baseDir, command, this.lastRunAt, signal);
      this.refreshed = true;
    }
  }

  /** The records at these places, read again from there alone: each was one line split
   *  without csv-parse (see CsvBatch.spans). The header is read again for the columns. */
  async *readAt({ mapper, signal }: ReadOptions, spans: readonly Span[]): AsyncIterable<Page> {
    const header = this.rows(signal, false);
    const first = await header.next();
    await header.return(undefined);
    if (first.done) return;
    const { delimiter } = this.side.system;
    const file = this.file;
    async function* rows(): AsyncGenerator<TableRow[]> {
      yield [first.value![0]!];
      for (const batch of recordsAt(file, delimiter, spans)) yield batch.map((cells): TableRow => ({ number: 0, cells: [undefined, ...cells] }));
    }
    const tracker = new WatermarkTracker(undefined, (row, f) => row[f]);
    yield* readTable({ file: this.shown, unit: 'line', headerRow: 'first', rows: rows(), valueOf: csvValue, mappings: this.side.mappings, mapper, tracker, signal });
  }

  async probe(): Promise<ProbeResult[]> {
    try {
      const headers = await this.columns(false);
      if (!headers) return [{ ok: false, check: `file ${this.shown}`, detail: 'is empty' }];
      resolveColumns(this.shown, this.headerRow, headers, wantedColumns(this.side.mappings, headers));
      return [{ ok: true, check: `file ${this.shown}`, detail: `found (${headers.length} columns)` }];
    } catch (err) {
      return [{ ok: false, check: `file ${this.shown}`, detail: describeError(err).replace(/^file [^:]*: /, '') }];
    }
  }

  async close(): Promise<void> {}
}

/** What a readable stream holds, a buffer at a time: one await per batch, not per record. */
async function* batches<T>(stream: Readable): AsyncGenerator<T[]> {
  let ended = false;
  let failure: unknown = null;
  stream.once('end', () => (ended = true));
  stream.once('error', (err) => (failure = err));
  for (;;) {
    const batch: T[] = [];
    for (let r = stream.read() as T | null; r !== null; r = stream.read() as T | null) batch.push(r);
    if (batch.length) {
      yield batch;
      continue;
    }
    if (failure) throw failure;
    if (ended || stream.readableEnded) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        stream.off('readable', wake);
        stream.off('end', wake);
        stream.off('error', wake);
        resolve();
      };
      stream.on('readable', wake);
      stream.on('end', wake);
      stream.on('error', wake);
    });
  }
}

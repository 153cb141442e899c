// The records of a UTF-8 CSV file, a batch at a time. Text without the quote character is
// split on the record delimiter and then on the field delimiter: that is exactly what
// csv-parse makes of it, at a fraction of the cost. From the first quote character on,
// csv-parse reads the rest of the file, so quoted fields, and the errors of broken ones, are
// always its own. The record delimiter is found as csv-parse finds it: the first "\r\n", "\n"
// or "\r"; after that, only that one ends a record.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { parse, type Parser } from 'csv-parse';
import { fileError } from '../../collectors/file.js';
import { detached } from '../../core/text.js';
import { startsWithBom } from './places.js';

export interface CsvRecordOptions {
  file: string;
  /** The path as the config gives it, for errors. */
  shown: string;
  delimiter: string;
  quote: string;
  /** The first line to read (the header row); lines before it are skipped. */
  fromLine: number;
  /** Bytes read at a time (32 KiB: the records of a chunk are alive together, and young). */
  chunkBytes?: number;
  /** Whether cells may be kept past their batch (the default): then each long one is copied
   *  out of the read chunk (see detached). */
  kept?: boolean;
}

/** Characters of one record past which csv-parse reads the rest of the file. */
const LONG_RECORD = 1 << 20;

/** A batch of records; `plain` when each of them is one line (no CR or LF in a cell). */
export interface CsvBatch {
  records: string[][];
  plain: boolean;
  /** Where each record is in the file, when the batch was split without csv-parse: record
   *  i's first byte at [2i] and its length in bytes (without the record delimiter) at [2i + 1].
   *  recordsAt() reads such a record again from there alone. */
  spans?: number[];
}

/** Decodes UTF-8 and refuses bytes that are not: a Latin-1 file read as UTF-8 would otherwise
 *  be read with U+FFFD in place of its accented letters, silently. The BOM is dropped. */
class StrictUtf8 {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Bytes decoded before the current chunk. */
  private bytes = 0;
  constructor(
    private readonly file: string,
    private readonly shown: string,
  ) {}

  decode(chunk: Buffer): string {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      this.bytes += chunk.length;
      return text;
    } catch {
      const lenient = new TextDecoder('utf-8').decode(chunk);
      const at = this.lineAt(this.bytes) + (lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD'))).match(/\n/g)?.length ?? 0);
      throw fileError(this.shown, `line ${at}: is not valid UTF-8 (saved as Latin-1 or Windows-1252?): set encoding: latin1 on the system, or save the file as UTF-8`);
    }
  }

  end(): string {
    try {
      return this.decoder.decode();
    } catch {
      throw fileError(this.shown, `line ${this.lineAt(this.bytes)}: ends inside a UTF-8 character (is the file cut short?)`);
    }
  }

  /** The line that byte `offset` is on, counted only when an error needs it: a line feed
   *  byte is never part of another UTF-8 character. */
  private lineAt(offset: number): number {
    const fd = openSync(this.file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(1 << 20);
      let line = 1;
      for (let at = 0; at < offset; ) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, offset - at), at);
        if (n === 0) break;
        for (let i = buffer.indexOf(10); i >= 0 && i < n; i = buffer.indexOf(10, i + 1)) line++;
        at += n;
      }
      return line;
    } finally {
      closeSync(fd);
    }
  }
}

/** The first record delimiter of `text`, as csv-parse picks it; null while it cannot tell yet. */
function delimiterOf(text: string): string | null {
  const n = text.indexOf('\n');
  const r = text.indexOf('\r');
  if (r < 0) return n < 0 ? null : '\n';
  if (n >= 0 && n < r) return '\n';
  if (r === text.length - 1) return null; // "\r" or "\r\n": the next chunk tells
  return text[r + 1] === '\n' ? '\r\n' : '\r';
}

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** csv-parse fed by hand, from where the quote-free text ended. */
class Fallback {
  private readonly parser: Parser;
  private failure: unknown = null;
  private ended = false;

  constructor(
    options: CsvRecordOptions,
    /** The record delimiter, when the text before already showed it. */
    sep: string | null,
    fromLine: number,
    /** Lines read before this parser started: its error line numbers count from there. */
    private readonly linesBefore: number,
  ) {
    this.parser = parse({ delimiter: options.delimiter, quote: options.quote, relax_column_count: true, skip_empty_lines: false, from_line: fromLine, ...(sep ? { record_delimiter: sep } : {}) });
    this.parser.on('error', (err) => (this.failure ??= err));
    this.parser.on('end', () => (this.ended = true));
  }

  private take(): string[][] {
    const out: string[][] = [];
    for (let r = this.parser.read() as string[] | null; r !== null; r = this.parser.read() as string[] | null) out.push(r);
    this.check();
    return out;
  }

  private check(): void {
    if (this.failure === null) return;
    const err = this.failure as { lines?: number; message?: string };
    this.failure = null;
    if (this.linesBefore > 0) {
      if (typeof err.lines === 'number') err.lines += this.linesBefore;
      if (typeof err.message === 'string') err.message = err.message.replace(/\bat line (\d+)/, (_, n: string) => `at line ${Number(n) + this.linesBefore}`);
    }
    throw err;
  }

  write(text: string): string[][] {
    if (text) this.parser.write(text);
    return this.take();
  }

  async end(): Promise<string[][]> {
    this.parser.end();
    const out: string[][] = [];
    while (!this.ended && this.failure === null) {
      out.push(...this.take());
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.parser.off('readable', wake).off('end', wake).off('error', wake);
          resolve();
        };
        this.parser.on('readable', wake).on('end', wake).on('error', wake);
      });
    }
    out.push(...this.take());
    return out;
  }

  destroy(): void {
    this.parser.destroy();
  }
}

/** The file's records in batches of one read chunk. Errors name the file and the line. A
 *  reader that stops (an aborted run) returns from the generator: the file is closed then. */
export async function* csvRecords(options: CsvRecordOptions): AsyncGenerator<CsvBatch> {
  const decoder = new StrictUtf8(options.file, options.shown);
  const { quote, delimiter } = options;
  const kept = options.kept ?? true;
  let sep: string | null = null;
  let carry = '';
  /** Lines passed so far, as csv-parse counts them. */
  let lines = 0;
  let fallback: Fallback | null = null;
  /** Where in the file the text that `consume` gets begins (the carried text first). */
  let textAt = 0;
  /** The records of `text` up to its last record delimiter (all of it when `last`); the
   *  rest waits for the next chunk. */
  const consume = (text: string, last: boolean): CsvBatch => {
    if (fallback) return { records: fallback.write(text), plain: false };
    if (last) sep ??= delimiterOf(`${text}.`) ?? '\n';
    else sep ??= delimiterOf(text);
    const end = sep === null ? -1 : text.lastIndexOf(sep);
    // At the end of the file, text after the last record delimiter is one more record.
    const upTo = last && (end < 0 ? 0 : end + sep!.length) < text.length ? text.length : end;
    if (upTo < 0) {
      // A record longer than this waits for csv-parse: carrying it on and searching it again
      // with every chunk would cost the square of its length.
      if (text.length > LONG_RECORD) {
        carry = '';
        fallback = new Fallback(options, lines > 0 ? sep : null, Math.max(1, options.fromLine - lines), lines);
        return { records: fallback.write(text), plain: false };
      }
      carry = text;
      return { records: [], plain: true };
    }
    const whole = text.slice(0, upTo);
    carry = '';
    const rows = quote && whole.includes(quote) ? null : whole.split(sep!);
    // csv-parse counts a line at each record delimiter and at each CR or LF outside of one.
    const lone = rows === null ? 0 : sep === '\n' ? count(whole, '\r') : sep === '\r' ? count(whole, '\n') : count(whole, '\r') + count(whole, '\n') - 2 * (rows.length - 1);
    const skip = Math.max(0, options.fromLine - 1 - lines);
    // Quotes, or lines to skip that are not one record each: csv-parse reads from here on,
    // with the record delimiter already used, if any (one found inside quotes is not one).
    if (rows === null || (skip > 0 && lone > 0)) {
      fallback = new Fallback(options, lines > 0 ? sep : null, skip + 1, lines);
      return { records: fallback.write(text), plain: false };
    }
    if (upTo === end) carry = text.slice(end + sep!.length);
    lines += rows.length + lone;
    const drop = Math.min(skip, rows.length);
    const records: string[][] = new Array(rows.length - drop);
    const spans: number[] = new Array(2 * (rows.length - drop));
    // Text of one byte a character (ASCII) needs no count per record.
    const ascii = Buffer.byteLength(whole) === whole.length;
    let at = textAt;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const bytes = ascii ? row.length : Buffer.byteLength(row);
      if (i >= drop) {
        const cells = row.split(delimiter);
        if (kept) for (let c = 0; c < cells.length; c++) if (cells[c]!.length >= 13) cells[c] = detached(cells[c]!);
        records[i - drop] = cells;
        spans[2 * (i - drop)] = at;
        spans[2 * (i - drop) + 1] = bytes;
      }
      at += bytes + sep!.length;
    }
    textAt = at;
    return { records, plain: lone === 0, spans };
  };
  const stream = createReadStream(options.file, { highWaterMark: options.chunkBytes ?? 32 * 1024 });
  try {
    // The decoder drops a byte order mark: the text begins after it.
    if (startsWithBom(options.file)) textAt = 3;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const batch = consume(carry + decoder.decode(chunk), false);
      if (batch.records.length) yield batch;
    }
    const batch = consume(carry + decoder.end(), true);
    if (batch.records.length) yield batch;
    const current = fallback as Fallback | null;
    if (current) {
      const rest = await current.end();
      if (rest.length) yield { records: rest, plain: false };
    }
  } finally {
    (fallback as Fallback | null)?.destroy();
    stream.destroy();
  }
}

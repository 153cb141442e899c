// What the Excel and CSV collectors share: reading a table of rows under a header row
// (columns by name, trimmed and case-folded, or by letter), and the refresh command that
// updates an export before it is read.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ParityError } from '../core/errors.js';
import type { InvalidRecord, NormalizedRecord, Page, ProbeResult } from '../core/record.js';
import type { MapResult, RecordMapper } from './mapper.js';
import type { WatermarkTracker } from './watermark.js';

export function fileError(file: string, message: string, cause?: unknown): ParityError {
  return new ParityError('PARITY_FILE_INVALID', `file ${file}: ${message}`, cause === undefined ? undefined : { cause });
}

/** "A" → 1, "AB" → 28. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

export function columnLetters(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

const fold = (s: string) => s.trim().toLowerCase();

/**
 * Where each wanted column is (1-based), from the header cells. A name matches a header
 * after trimming and case-folding; failing that, a name of one to three capital letters is
 * a column letter. A wanted column found nowhere is an error listing the headers found.
 */
export function resolveColumns(file: string, headerLine: number, headers: (string | null)[], wanted: readonly string[], unit: 'row' | 'line' = 'line'): Map<string, number> {
  const byName = new Map<string, number>();
  headers.forEach((h, i) => {
    if (h !== null && h.trim() !== '' && !byName.has(fold(h))) byName.set(fold(h), i + 1);
  });
  const out = new Map<string, number>();
  const missing: string[] = [];
  for (const name of wanted) {
    const found = byName.get(fold(name)) ?? (/^[A-Z]{1,3}$/.test(name) ? columnNumber(name) : undefined);
    if (found === undefined) missing.push(name);
    else out.set(name, found);
  }
  if (missing.length) {
    const present = headers.filter((h): h is string => h !== null && h.trim() !== '').map((h) => `"${h.trim()}"`);
    // One header holding another delimiter ("id;qty"): the file is split by something else.
    const other = [';', '\t', '|', ','].find((d) => present.length === 1 && present[0]!.includes(d));
    const hint = other ? ` (is the delimiter ${other === '\t' ? 'a tab' : `"${other}"`}? set delimiter on the system)` : '';
    throw fileError(file, `column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} not found in the header (${unit} ${headerLine}); found ${present.length ? present.join(', ') : 'no headers'}${hint}`);
  }
  return out;
}

export interface RefreshOptions {
  command: string;
  timeoutS: number;
  waitNewer: boolean;
}

/** Runs the refresh command (the way a D365 or Power Query export is refreshed) in the
 *  config's folder, then, if asked, waits until the file (`at`, absolute: never the working
 *  directory's, which cron and systemd set elsewhere) is newer than the last completed run. */
export async function refreshFile(file: string, at: string, cwd: string, refresh: RefreshOptions, lastRunAt: Date | null, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + refresh.timeoutS * 1000;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(refresh.command, { shell: true, cwd, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-400);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(fileError(file, `the refresh command did not finish within ${refresh.timeoutS} s (refresh.timeoutS)`));
    }, refresh.timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(fileError(file, `the refresh command could not start: ${err.message}`, err));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (sig !== 'SIGKILL') reject(fileError(file, `the refresh command failed (exit ${code ?? sig})${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`));
    });
  });
  if (!refresh.waitNewer || !lastRunAt) return;
  for (;;) {
    const mtime = statSafe(at);
    if (mtime && mtime > lastRunAt.getTime()) return;
    if (Date.now() > deadline) throw fileError(file, `is not newer than the last run (${lastRunAt.toISOString()}) after ${refresh.timeoutS} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function statSafe(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** One row of a sheet or file: its number (1-based) and its cells by column (1-based). */
export interface TableRow {
  number: number;
  cells: readonly unknown[];
  /** Where the row is in its file, when it can be read again from there alone (see Page.spans). */
  at?: number;
  bytes?: number;
}

export interface ReadTableOptions {
  /** As shown in messages and record references. */
  file: string;
  /** "row" (a spreadsheet row) or "line" (a file line). */
  unit: 'row' | 'line';
  /** The header's row number; 'first': the first row given is the header (CSV, where the
   *  parser already starts at the configured line). */
  headerRow: number | 'first';
  /** One row at a time, or a batch of rows (a parser's buffered records, without an await each). */
  rows: AsyncIterable<TableRow | readonly TableRow[]>;
  /** A cell's value; throws CellError for a cell that cannot be read. */
  valueOf: (cell: unknown, row: number, column: number) => unknown;
  /** The mapped columns, or null to take every header. */
  mappings: readonly { from: string }[] | null;
  mapper: RecordMapper;
  tracker: WatermarkTracker;
  signal?: AbortSignal | undefined;
}

export class CellError extends Error {}

/** The headers' names, trimmed; null for an empty header cell. */
function headerNames(row: TableRow, valueOf: ReadTableOptions['valueOf']): (string | null)[] {
  const out: (string | null)[] = [];
  for (let c = 1; c < row.cells.length; c++) {
    let v: unknown;
    try {
      v = valueOf(row.cells[c], row.number, c);
    } catch {
      v = null;
    }
    out.push(v === null || v === undefined ? null : String(v).trim());
  }
  return out;
}

export function wantedColumns(mappings: ReadTableOptions['mappings'], headers: (string | null)[]): string[] {
  if (mappings) return [...new Set(mappings.map((m) => m.from))];
  return headers.filter((h): h is string => h !== null && h !== '');
}

/** The header row's names, or null when the rows end before it. */
export async function readHeader(rows: AsyncIterable<TableRow | readonly TableRow[]>, headerRow: number | 'first', valueOf: ReadTableOptions['valueOf']): Promise<string[] | null> {
  for await (const item of rows) {
    for (const row of Array.isArray(item) ? (item as readonly TableRow[]) : [item as TableRow]) {
      if (headerRow !== 'first' && row.number < headerRow) continue;
      return headerRow === 'first' || row.number === headerRow ? headerNames(row, valueOf).filter((h): h is string => h !== null && h !== '') : null;
    }
  }
  return null;
}

/** The columns the header row names, as the read takes them: the wanted names (the mapped
 *  columns, or every header) and where each is (1-based). */
export function headerColumns(o: Pick<ReadTableOptions, 'file' | 'unit' | 'valueOf' | 'mappings' | 'mapper'>, row: TableRow): TableColumns {
  const headers = headerNames(row, o.valueOf);
  const wanted = wantedColumns(o.mappings, headers);
  // Without a mapping the columns are the fields: a header without any whole key chain has no key to read.
  const named = new Set(headers.filter((h): h is string => h !== null).map(fold));
  if (!o.mappings && !o.mapper.keyChains.some((chain) => chain.every((f) => named.has(fold(f))))) wanted.push(...o.mapper.keyChains[0]!);
  const columns = resolveColumns(o.file, row.number, headers, wanted, o.unit);
  return { names: [...columns.keys()], indices: [...columns.values()], refOf: (line: number) => `${o.file} ${o.unit} ${line}` };
}

export interface TableColumns {
  names: string[];
  indices: number[];
  /** Where a row is, for an invalid record: "file line 12". */
  refOf: (line: number) => string;
}

/** One row below the header: its record, or why it is invalid, or null for a blank row. */
export function rowRecord(o: Pick<ReadTableOptions, 'valueOf' | 'mapper' | 'tracker'>, columns: TableColumns, row: TableRow): MapResult | null {
  const { names, indices, refOf } = columns;
  const fields: Record<string, unknown> = {};
  let blank = true;
  try {
    for (let i = 0; i < names.length; i++) {
      const v = o.valueOf(row.cells[indices[i]!], row.number, indices[i]!);
      if (blank && v !== null && v !== undefined && !(typeof v === 'string' && NOT_BLANK.test(v) === false)) blank = false;
      fields[names[i]!] = v;
    }
  } catch (err) {
    if (!(err instanceof CellError)) throw err;
    return { invalid: { ref: refOf(row.number), reason: err.message } };
  }
  if (blank) return null;
  o.tracker.see(fields);
  return o.mapper.map(fields, refOf, row.number);
}

/**
 * Turns the rows of a sheet or file into pages of records: the header row names the
 * columns; blank rows are skipped; a row with an unreadable cell or one that fails a
 * transform is invalid, with its row or line; the rest still reads.
 */
export async function* readTable(o: ReadTableOptions): AsyncGenerator<Page> {
  let columns: TableColumns | null = null;
  let records: NormalizedRecord[] = [];
  let invalid: InvalidRecord[] = [];
  let spans: number[] = [];
  rows: for await (const item of o.rows) {
    if (o.signal?.aborted) throw new ParityError('PARITY_ABORTED', 'read aborted');
    for (const row of Array.isArray(item) ? (item as readonly TableRow[]) : [item as TableRow]) {
      if (!columns) {
        if (o.headerRow !== 'first') {
          if (row.number < o.headerRow) continue;
          if (row.number !== o.headerRow) break rows;
        }
        columns = headerColumns(o, row);
        continue;
      }
      const result = rowRecord(o, columns, row);
      if (result === null) continue;
      if (result.record) {
        records.push(result.record);
        spans.push(row.at ?? -1, row.bytes ?? 0);
      } else invalid.push(result.invalid);
      if (records.length + invalid.length >= TABLE_PAGE) {
        yield { records, invalid, spans };
        records = [];
        invalid = [];
        spans = [];
      }
    }
  }
  if (!columns) throw fileError(o.file, o.headerRow === 'first' ? 'has no header row' : `has no header row at ${o.unit} ${o.headerRow}`);
  if (records.length || invalid.length) yield { records, invalid, spans };
}

export const TABLE_PAGE = 1000;
/** Text with something other than white space in it. */
export const NOT_BLANK = /\S/;

/** Throws the one-line error a user can act on when `file` (shown as `shown`) is not a readable file. */
export function checkFile(shown: string, file: string): void {
  if (!existsSync(file)) throw fileError(shown, `does not exist (check the system's path; looked for ${file})`);
  if (statSync(file).isDirectory()) throw fileError(shown, `is a folder, not a file (check the system's path: ${file})`);
}

/** For `parity validate`: whether a file system's file is there. */
export function probeFile(file: string, baseDir: string): ProbeResult {
  try {
    checkFile(file, path.resolve(baseDir, file));
    return { ok: true, check: 'connect', detail: `file ${file} exists` };
  } catch (err) {
    return { ok: false, check: 'connect', detail: (err as Error).message.replace(/^file /, 'file ') };
  }
}

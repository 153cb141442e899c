// The CSV records reader splits quote-free text itself and hands the rest of the file to
// csv-parse. Whatever the text and wherever the read chunks end, it must give the records,
// and the errors (code, line, message), that csv-parse gives for the whole file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '../../src/core/record.js';
import { recordsAt } from '../../src/systems/csv/places.js';
import { csvRecords, type CsvRecordOptions } from '../../src/systems/csv/records.js';
import { prng } from '../../examples/demo/data.js';

const dir = mkdtempSync(path.join(tmpdir(), 'parity-csv-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = { records: string[][] } | { error: { code: unknown; lines: unknown; message: string } };

function reference(text: string, o: CsvRecordOptions): Outcome {
  try {
    return { records: parse(Buffer.from(text), { delimiter: o.delimiter, quote: o.quote, bom: true, relax_column_count: true, skip_empty_lines: false, from_line: o.fromLine }) as string[][] };
  } catch (err) {
    const e = err as { code: unknown; lines: unknown; message: string };
    return { error: { code: e.code, lines: e.lines, message: e.message } };
  }
}

/** Records of batches with spans: what the file holds at each span, split, must be the record. */
let placed = 0;

async function ours(file: string, o: CsvRecordOptions): Promise<Outcome & { plain: number }> {
  const records: string[][] = [];
  let plain = 0;
  const bytes = readFileSync(file);
  const spans: Span[] = [];
  const atSpans: string[][] = [];
  try {
    for await (const batch of csvRecords({ ...o, file })) {
      records.push(...batch.records);
      if (batch.plain) plain += batch.records.length;
      if (!batch.spans) continue;
      expect(batch.spans.length).toBe(2 * batch.records.length);
      batch.records.forEach((record, i) => {
        const [at, length] = [batch.spans![2 * i]!, batch.spans![2 * i + 1]!];
        expect(bytes.subarray(at, at + length).toString('utf8').split(o.delimiter), `the record at byte ${at}`).toEqual(record);
        spans.push({ at, bytes: length });
        atSpans.push(record);
        placed++;
      });
    }
    // Read again from their places alone, they are the same records.
    expect([...recordsAt(file, o.delimiter, spans)].flat()).toEqual(atSpans);
    return { records, plain };
  } catch (err) {
    const e = err as { code: unknown; lines: unknown; message: string };
    return { error: { code: e.code, lines: e.lines, message: e.message }, plain };
  }
}

/** Text of cells, delimiters and line ends; quotes only when `quotes`. */
function text(rnd: () => number, quotes: boolean, sep: string): string {
  const pieces = ['a', 'bc', 'é', '€', '𝄞', ' ', '1.5', ',', ',', ';', sep, sep, sep, sep];
  if (rnd() < 0.2) pieces.push('\r', '\n', '\r\n');
  if (quotes) pieces.push('"', '"x"', '"a,\nb"', '""');
  let out = rnd() < 0.1 ? '\uFEFF' : '';
  const n = Math.floor(rnd() * 120);
  for (let i = 0; i < n; i++) out += pieces[Math.floor(rnd() * pieces.length)]!;
  return out;
}

describe('CSV records: the fast split agrees with csv-parse', () => {
  it('on 600 random files, cut into random chunk sizes; each split record is where its span says', async () => {
    let plainSeen = 0;
    let errorsSeen = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const rnd = prng(seed);
      const sep = ['\n', '\r\n', '\r'][seed % 3]!;
      const body = text(rnd, seed % 4 === 0, sep);
      const file = path.join(dir, `s${seed}.csv`);
      writeFileSync(file, body);
      const options: CsvRecordOptions = { file, shown: `s${seed}.csv`, delimiter: seed % 5 === 0 ? ';' : ',', quote: '"', fromLine: 1 + (seed % 7 === 0 ? Math.floor(rnd() * 4) : 0), chunkBytes: 1 + Math.floor(rnd() * 40) };
      const got = await ours(file, options);
      const { plain, ...outcome } = got;
      plainSeen += plain;
      const want = reference(body, options);
      if ('error' in want) errorsSeen++;
      expect(outcome, `seed ${seed}: ${JSON.stringify(body)} in chunks of ${options.chunkBytes}`).toEqual(want);
    }
    // Both paths ran: records split without csv-parse, and csv-parse's errors passed on.
    expect(plainSeen).toBeGreaterThan(1000);
    expect(placed).toBeGreaterThan(1000);
    expect(errorsSeen).toBeGreaterThan(10);
  });

  it('a broken quote far into a file is reported at its line in the whole file', async () => {
    const lines = ['sku,name', ...Array.from({ length: 5000 }, (_, i) => `A${i},plain ${i}`), 'B,ab"c"d', 'C,x'];
    const file = path.join(dir, 'late.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const options: CsvRecordOptions = { file, shown: 'late.csv', delimiter: ',', quote: '"', fromLine: 1, chunkBytes: 4096 };
    const got = await ours(file, options);
    expect('error' in got && got.error).toMatchObject({ code: 'INVALID_OPENING_QUOTE', lines: 5002 });
    expect(got).toMatchObject(reference(`${lines.join('\n')}\n`, options));
    expect(got.plain).toBeGreaterThan(4000);
  });
});

describe('CSV records: a record longer than a megabyte', () => {
  it('is read by csv-parse, with the lines before and after it', async () => {
    const long = 'x'.repeat(3_000_000);
    const body = `sku,note\nA,short\nB,${long}\nC,after\n`;
    const file = path.join(dir, 'long.csv');
    writeFileSync(file, body);
    const options: CsvRecordOptions = { file, shown: 'long.csv', delimiter: ',', quote: '"', fromLine: 1, chunkBytes: 64 * 1024 };
    const got = await ours(file, options);
    expect(got).toEqual({ ...reference(body, options), plain: 2 });
  });
});

describe('CSV records: bytes that are not UTF-8', () => {
  it('are reported at their line, however many chunks came before', async () => {
    const head = `sku,name\n${Array.from({ length: 300 }, (_, i) => `A${i},plain`).join('\n')}\n`;
    const bad = path.join(dir, 'latin1-late.csv');
    writeFileSync(bad, Buffer.concat([Buffer.from(head), Buffer.from('B,Müller\nC,x\n', 'latin1')]));
    const cut = path.join(dir, 'cut-short.csv');
    writeFileSync(cut, Buffer.concat([Buffer.from(head), Buffer.from([0x42, 0x2c, 0xc3])]));
    const options = (file: string): CsvRecordOptions => ({ file, shown: path.basename(file), delimiter: ',', quote: '"', fromLine: 1, chunkBytes: 64 });
    expect(await ours(bad, options(bad))).toMatchObject({ error: { message: expect.stringMatching(/^file latin1-late\.csv: line 302: is not valid UTF-8/) } });
    expect(await ours(cut, options(cut))).toMatchObject({ error: { message: expect.stringMatching(/^file cut-short\.csv: line 302: ends inside a UTF-8 character/) } });
  });
});

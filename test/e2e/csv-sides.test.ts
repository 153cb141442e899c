// A CSV side read as keys, hashes and places: in a worker thread when the CLI runs compiled
// (as here, through the bundle), in the reading thread from the source. Both must give what a
// read of whole records gives: the same keys and hashes, the same invalid rows with their
// lines, and report samples whose fields were read again from their places.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordMapper } from '../../src/collectors/mapper.js';
import type { NormalizedRecord } from '../../src/core/record.js';
import { placeOf } from '../../src/reconcile/stripped.js';
import { CsvCollector } from '../../src/systems/csv/collector.js';
import type { CsvSideSpec } from '../../src/systems/csv/schema.js';
import { runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
// The source: a blank line, an empty key (line 6), a key of white space. The target has a
// quoted cell: csv-parse reads it, and its records keep their fields. Both end in the same
// 120,000 lines, so that they are large enough to be read in a worker thread (4 MiB).
const same = Array.from({ length: 120_000 }, (_, i) => `B-${String(i).padStart(7, '0')},the same product ${i},${i % 1000}.25\n`).join('');
writeFileSync(path.join(dir, 'source.csv'), `sku,name,price\nA-1,alpha,10.50\nA-2,beta,2\n\nA-3,gamma,3.0\n,nokey,1\n ,spacekey,5\nA-4,quoted name,4\nA-5,eps,5\n${same}`);
writeFileSync(path.join(dir, 'target.csv'), `sku,name,price\nA-1,alpha,10.5\nA-2,"BETA",2\nA-4,quoted name,4\nA-6,zeta,6\n${same}`);
// A quote never closed, far down a large file: the worker's error names the file and the line.
writeFileSync(path.join(dir, 'broken.csv'), `sku,name,price\n${same}B-9999999,"never closed,1\n${same}`);
writeFileSync(
  path.join(dir, 'parity.yaml'),
  `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  a: { type: csv, path: source.csv }
  b: { type: csv, path: target.csv }
  broken: { type: csv, path: broken.csv }
entities:
  items:
    key: sku
    source: { system: a }
    target: { system: b }
  unclosed:
    key: sku
    source: { system: broken }
    target: { system: b }
`,
);

describe('a CSV side read as keys, hashes and places', () => {
  it('compares as whole records do, with samples read again from their places (compiled: in a worker thread)', async () => {
    const r = await runCli(['compare', '--config', path.join(dir, 'parity.yaml'), '--entities', 'items']);
    expect(r.code, r.stderr).toBe(0);
    const e = parseReport(readFileSync(path.join(dir, 'reports/latest.json'), 'utf8')).entities[0]!;
    expect(e.diff).toMatchObject({ matched: 120_002, missing: 3, extra: 1, changed: 1, duplicates: 0, invalid: 1 });
    expect(e.samples.missing).toEqual([' ', 'A-3', 'A-5']);
    expect(e.samples.extra).toEqual(['A-6']);
    expect(e.samples.changed).toEqual([{ key: 'A-2', fields: { name: ['beta', 'BETA'] } }]);
    expect(e.samples.invalid).toEqual([{ side: 'source', ref: 'source.csv line 6', reason: 'key field sku is empty' }]);
  });

  it('fails the entity with the file and the line of a quote never closed (compiled: in a worker thread)', async () => {
    const r = await runCli(['compare', '--config', path.join(dir, 'parity.yaml'), '--entities', 'unclosed']);
    expect(r.code).not.toBe(0);
    const e = parseReport(readFileSync(path.join(dir, 'reports/latest.json'), 'utf8')).entities[0]!;
    expect(e.error).toBe('file broken.csv: line 120002: a quoted field opened in the record that starts here is never closed (check the quote character and the file)');
  });

  it.each([
    ['source.csv', [true, true, true, false, true, true]],
    ['target.csv', [false, false, false, false]],
  ])('gives the keys, hashes and invalid rows of a whole-record read, in this thread (%s)', async (file, places) => {
    const side: CsvSideSpec = { role: 'source', systemName: 'a', system: { type: 'csv', path: file, delimiter: ',', quote: '"', encoding: 'utf8' }, config: { system: 'a' }, mappings: null };
    const read = async (placesOnly: boolean) => {
      const mapper = new RecordMapper({ keyChains: [['sku']], compareFields: ['name', 'price'], mappings: null });
      const records: NormalizedRecord[] = [];
      const invalid: unknown[] = [];
      const expected: (number | undefined)[] = [];
      for await (const page of new CsvCollector(side, dir).read({ mapper, placesOnly })) {
        records.push(...page.records);
        invalid.push(...page.invalid);
        expected.push(page.expected);
      }
      return { records, invalid, counted: mapper.chainCounts[0], expected };
    };
    const whole = await read(false);
    const placed = await read(true);
    expect(placed.records.map((r) => [r.key, r.hash])).toEqual(whole.records.map((r) => [r.key, r.hash]));
    expect(placed.invalid).toEqual(whole.invalid);
    expect(placed.counted).toBe(whole.counted);
    // Plain lines are placed; the white-space key, and what csv-parse reads, keep their fields.
    expect(placed.records.slice(0, places.length).map((r) => placeOf(r) !== null)).toEqual(places);
    expect(placed.records.length).toBe(places.length + 120_000);
    expect(whole.records.every((r) => placeOf(r) === null)).toBe(true);
    // One page, the first with lines it placed, tells about how many records the file holds
    // (the join sizes its key table from it), judged by those lines' bytes. In target.csv,
    // csv-parse reads everything from its first quote on: no line has a place, no page tells.
    const told = placed.expected.filter((e) => e !== undefined);
    if (file === 'target.csv') expect(told).toEqual([]);
    else {
      expect(told).toHaveLength(1);
      expect(told[0]).toBeGreaterThan(placed.records.length * 0.9);
      expect(told[0]).toBeLessThan(placed.records.length * 1.1);
    }
  });
});

// After a packed hash join of two CSV files, the records a report or a push needs are read
// again from their places in the files alone; if a file changed in between, whatever is no
// longer where it was is found by reading that side again in full.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgain } from '../../src/agent/read-again.js';
import { RecordMapper, type FieldMapping } from '../../src/collectors/mapper.js';
import type { NormalizedRecord } from '../../src/core/record.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { DiffBuilder, isStripped, placeOf, strippedNeeds, type Side } from '../../src/reconcile/diff.js';
import { CsvCollector } from '../../src/systems/csv/collector.js';
import type { CsvSideSpec } from '../../src/systems/csv/schema.js';
import { prng } from '../../examples/demo/data.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const m = (name: string, from: string, transform = ''): FieldMapping => ({ name, from, transforms: parseTransforms(transform) });
const mappings = [m('sku', 'sku'), m('name', 'name'), m('price', 'price', 'decimal(2)')];
const mapper = () => new RecordMapper({ keyChains: [['sku']], compareFields: ['name', 'price'], mappings });
const side = (file: string): CsvSideSpec => ({ role: 'source', systemName: 'files', system: { type: 'csv', path: file, delimiter: ',', quote: '"', encoding: 'utf8' }, config: { system: 'files' }, mappings });

function shuffled<T>(rows: T[], seed: number): T[] {
  const rnd = prng(seed);
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** 400 products, names with accents and signs outside Latin-1; the target misses every 13th,
 *  has every 17th at another price, and both sides are in different random orders. */
function writeFiles(): void {
  const rows = Array.from({ length: 400 }, (_, i) => ({ sku: `P${String(i).padStart(4, '0')}`, name: i % 3 ? `Produkt ${i} – grün €` : `item ${i}`, price: (i * 1.25).toFixed(2) }));
  const line = (r: (typeof rows)[number]) => `${r.sku},${r.name},${r.price}`;
  writeFileSync(path.join(dir, 'source.csv'), `\uFEFFsku,name,price\r\n${shuffled(rows, 1).map(line).join('\r\n')}\r\n`);
  const target = rows.filter((_, i) => i % 13 !== 5).map((r, i) => (i % 17 === 3 ? { ...r, price: '9999.00' } : r));
  writeFileSync(path.join(dir, 'target.csv'), `sku,name,price\n${shuffled(target, 2).map(line).join('\n')}`);
}

/** Both files read into a diff that packs past 5 waiting records, with the records' places
 *  (a compare: no push or export wants the fields of every unmatched record). */
async function packedDiff() {
  const builder = new DiffBuilder().compactWhenPendingExceeds(5).keepFieldsOfResolved({ source: false, target: false });
  const firstRead: Record<Side, Map<string, NormalizedRecord>> = { source: new Map(), target: new Map() };
  for (const [s, file] of [['source', 'source.csv'], ['target', 'target.csv']] as const) {
    for await (const page of new CsvCollector(side(file), dir).read({ mapper: mapper() })) {
      expect(page.spans).toHaveLength(2 * page.records.length);
      page.records.forEach((r, i) => {
        firstRead[s].set(r.key, r);
        builder.add(s, r, page.spans![2 * i]!, page.spans![2 * i + 1]!);
      });
    }
    builder.sideDone(s);
  }
  const diff = builder.finish();
  const waiting = strippedNeeds(diff, { changedSamples: 20, allChanged: true, allMissing: true, allExtra: true });
  return { diff, waiting, firstRead };
}

describe('reading again what a packed join left in the files', () => {
  it('reads each needed record from its place alone, with the fields the first read gave', async () => {
    writeFiles();
    const { diff, waiting, firstRead } = await packedDiff();
    expect(diff.counts).toMatchObject({ missing: 31, changed: 22, extra: 0 });
    // All but the few that waited before the join packed kept their places, not their fields.
    expect(diff.changed.filter((c) => isStripped(c.source)).length).toBeGreaterThan(15);
    for (const s of ['source', 'target'] as const) {
      const needed = [...waiting[s].values()].flat();
      expect(needed.every((r) => placeOf(r) !== null)).toBe(true);
      const read = await readAgain(waiting[s], { collector: new CsvCollector(side(`${s}.csv`), dir), options: { mapper: mapper() }, through: (pages) => pages });
      expect(read).toEqual({ byPlace: new Set(needed.map((r) => r.key)).size, inFull: 0 });
      expect(waiting[s].size).toBe(0);
      for (const r of needed) expect(r.fields, r.key).toEqual(firstRead[s].get(r.key)!.fields);
    }
  });

  it('finds by a full read what is no longer at its place when the file changed since', async () => {
    writeFiles();
    const { waiting } = await packedDiff();
    const needed = [...waiting.source.values()].flat();
    // The first needed record's line gets a digit more at its end: its old place now holds
    // the start of a line that reads differently, and every record after it moves.
    const file = path.join(dir, 'source.csv');
    const lines = readFileSync(file, 'utf8').split('\r\n');
    const keys = new Set(needed.map((r) => r.key));
    const at = lines.findIndex((l, i) => i > 0 && keys.has(l.split(',')[0]!));
    const [changed, , price] = lines[at]!.split(',') as [string, string, string];
    lines[at] = `${lines[at]}7`;
    writeFileSync(file, lines.join('\r\n'));
    const read = await readAgain(waiting.source, { collector: new CsvCollector(side('source.csv'), dir), options: { mapper: mapper() }, through: (pages) => pages });
    expect(read.inFull).toBeGreaterThan(0);
    expect(read.byPlace + read.inFull).toBe(new Set(needed.map((r) => r.key)).size);
    expect(waiting.source.size).toBe(0);
    // That record gets the fields it has now, as a full read gives them.
    expect(needed.find((x) => x.key === changed)!.fields.price).toBe((Math.round(Number(`${price}7`) * 100) / 100).toFixed(2));
    expect(needed.every((x) => !isStripped(x))).toBe(true);
  });
});

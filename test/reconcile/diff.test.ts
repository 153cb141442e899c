import { describe, expect, it } from 'vitest';
import { RecordMapper } from '../../src/collectors/mapper.js';
import { sortedFields } from '../../src/core/canonical.js';
import { parseTransforms } from '../../src/core/transforms.js';
import type { NormalizedRecord, PageColumns } from '../../src/core/record.js';
import { changedFields, DiffBuilder, placeOf, type Side } from '../../src/reconcile/diff.js';
import { prng } from '../../examples/demo/data.js';

type Row = Record<string, unknown>;

const compare = sortedFields(['name', 'price']);

function mapperFor(keyFields: string[]): RecordMapper {
  return new RecordMapper({
    keyChains: [keyFields],
    compareFields: compare,
    mappings: [
      ...keyFields.map((k) => ({ name: k, from: k, transforms: [] })),
      { name: 'name', from: 'name', transforms: [] },
      { name: 'price', from: 'price', transforms: parseTransforms('decimal(2)') },
      { name: 'row', from: 'row', transforms: [] },
    ],
  });
}

/** A page's keys and hashes as PageColumns. */
function columnsOf(records: readonly NormalizedRecord[], whole: (i: number) => boolean): PageColumns {
  const ends = (texts: string[]) => {
    let end = 0;
    return Uint32Array.from(texts, (t) => (end += t.length));
  };
  return {
    keyText: records.map((r) => r.key).join(''),
    keyEnds: ends(records.map((r) => r.key)),
    hashText: records.map((r) => r.hash).join(''),
    hashEnds: ends(records.map((r) => r.hash)),
    whole: records.map((_, i) => i).filter(whole),
  };
}

/** Records read again from their places (see `placed` in diffOf). */
let readFromPlaces = 0;

/** With `placed`, each record comes with a place in its side's "file", as a CSV side gives
 *  them: a packed record keeps its place instead of its fields, which are put back from there
 *  afterwards, as the run reads them again. */
function diffOf(keyFields: string[], source: Row[], target: Row[], interleave: () => number = () => 0, tolerance?: number, packAbove?: number, placed = false, paged = false) {
  const mapper = mapperFor(keyFields);
  const builder = new DiffBuilder(Number.POSITIVE_INFINITY, tolerance === undefined ? undefined : { fields: compare, tolerances: { price: tolerance } });
  if (packAbove !== undefined) builder.compactWhenPendingExceeds(packAbove);
  // Places are kept only where not every unmatched record's fields are wanted (no push, no
  // export). No side is marked done here, so every unmatched record still waits to the end.
  if (placed) builder.keepFieldsOfResolved({ source: false, target: false });
  const queues: Record<Side, Row[]> = { source: [...source], target: [...target] };
  const files: Record<Side, NormalizedRecord[]> = { source: [], target: [] };
  // Paged: runs of one side's records go in through addPage, as the run gives them.
  const page: { side: Side; records: NormalizedRecord[]; spans: number[] } = { side: 'source', records: [], spans: [] };
  const flush = () => {
    // Placed, a page also comes as text columns, as a CSV side's does; every fifth record kept
    // its fields (a quoted row) and is taken from Page.records.
    if (page.records.length) builder.addPage(page.side, { records: page.records, invalid: [], ...(placed ? { columns: columnsOf(page.records, (i) => i % 5 === 2) } : {}) }, placed ? page.spans : undefined);
    page.records = [];
    page.spans = [];
  };
  while (queues.source.length || queues.target.length) {
    const side: Side = !queues.target.length ? 'source' : !queues.source.length ? 'target' : interleave() < 0.5 ? 'source' : 'target';
    const row = queues[side].shift()!;
    const result = mapper.map(row, `row ${String(row.row)}`);
    if (paged && (side !== page.side || !result.record)) flush();
    page.side = side;
    if (result.record && paged) {
      page.records.push(result.record);
      page.spans.push(placed ? 10 * files[side].push(result.record) : -1, placed ? 7 : 0);
    } else if (result.record && placed) builder.add(side, result.record, 10 * files[side].push(result.record), 7);
    else if (result.record) builder.add(side, result.record);
    else builder.addInvalid(side, result.invalid);
  }
  flush();
  const diff = builder.finish();
  const fromPlace = (side: Side, r: NormalizedRecord) => {
    const place = placeOf(r);
    if (!place) return;
    const original = files[side][place.at / 10 - 1]!;
    expect(place.bytes).toBe(7);
    expect([r.key, r.hash]).toEqual([original.key, original.hash]);
    r.fields = original.fields;
    readFromPlaces++;
  };
  for (const r of diff.missing) fromPlace('source', r);
  for (const r of diff.extra) fromPlace('target', r);
  for (const c of diff.changed) {
    fromPlace('source', c.source);
    fromPlace('target', c.target);
  }
  return diff;
}

// ---- A plain reference: nested loops and direct comparisons, no hashing, no key strings ----

function refScalar(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? String(v) : String(v);
}
function refPrice(v: unknown): string | null {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return null;
  return (Math.round(Number(String(v).trim()) * 100) / 100).toFixed(2);
}
function refKeyValid(row: Row, keyFields: string[]): boolean {
  return keyFields.every((k) => refScalar(row[k]) !== null && refScalar(row[k]) !== '');
}
function refSameKey(a: Row, b: Row, keyFields: string[]): boolean {
  return keyFields.every((k) => refScalar(a[k]) === refScalar(b[k]));
}
function refSameContent(a: Row, b: Row, tolerance?: number): boolean {
  if (refScalar(a.name) !== refScalar(b.name)) return false;
  const pa = refPrice(a.price);
  const pb = refPrice(b.price);
  if (pa === pb) return true;
  // Prices carry two decimals: compare them in cents, as integers, so no float noise.
  return tolerance !== undefined && pa !== null && pb !== null && Math.abs(Math.round(Number(pa) * 100) - Math.round(Number(pb) * 100)) <= Math.round(tolerance * 100);
}

function reference(keyFields: string[], source: Row[], target: Row[], tolerance?: number) {
  const firsts = (rows: Row[]) => {
    const valid = rows.filter((r) => refKeyValid(r, keyFields));
    const first: Row[] = [];
    let duplicates = 0;
    const dupKeys = new Set<Row>();
    for (let i = 0; i < valid.length; i++) {
      let earlier: Row | undefined;
      for (let j = 0; j < i; j++) if (refSameKey(valid[i]!, valid[j]!, keyFields)) { earlier = valid[j]; break; }
      if (earlier) {
        duplicates++;
        dupKeys.add(earlier);
      } else first.push(valid[i]!);
    }
    return { first, duplicates, dupKeys: dupKeys.size, invalid: rows.length - valid.length };
  };
  const s = firsts(source);
  const t = firsts(target);
  const missing: unknown[] = [];
  const changed: unknown[] = [];
  let matched = 0;
  for (const a of s.first) {
    let b: Row | undefined;
    for (const candidate of t.first) if (refSameKey(a, candidate, keyFields)) { b = candidate; break; }
    if (!b) missing.push(a.row);
    else if (refSameContent(a, b, tolerance)) matched++;
    else changed.push(a.row);
  }
  const extra: unknown[] = [];
  for (const b of t.first) {
    let found = false;
    for (const a of s.first) if (refSameKey(a, b, keyFields)) { found = true; break; }
    if (!found) extra.push(b.row);
  }
  return { matched, missing, extra, changed, duplicates: s.duplicates + t.duplicates, dupKeys: s.dupKeys + t.dupKeys, invalid: s.invalid + t.invalid };
}

// ---- Random data with the traps: duplicates, nulls, numeric formatting, key collisions ----

const KEY_PARTS: unknown[] = ['a', 'b', 'a|b', 'b|', '|b', 'x"y', 'a,b', 1, '1', 2, '02', 10, null, ''];
const NAMES: unknown[] = ['widget', 'Widget', '', null, undefined, 'gadget'];
const PRICES: unknown[] = [1.5, '1.50', '1.5', ' 1.5', 1.55, '1.55', 2, '2.00', '2', null, ''];

function randomRows(rnd: () => number, count: number, composite: boolean, side: string): Row[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  return Array.from({ length: count }, (_, i) => {
    const row: Row = { row: `${side}${i}`, k1: pick(KEY_PARTS), name: pick(NAMES), price: pick(PRICES) };
    if (composite) row.k2 = pick(KEY_PARTS);
    return row;
  });
}

describe('DiffBuilder against a nested-loop reference', () => {
  it('agrees on every count and key over 400 random data sets, in step or not, packed or not (with places or fields), with and without a tolerance', () => {
    let compared = 0;
    const strategies = new Set<string>();
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = prng(seed);
      const composite = seed % 2 === 0;
      const keyFields = composite ? ['k1', 'k2'] : ['k1'];
      let source = randomRows(rnd, Math.floor(rnd() * 40), composite, 's');
      let target = randomRows(rnd, Math.floor(rnd() * 40), composite, 't');
      // Every third seed both sides arrive sorted by key and strictly alternate (a merge);
      // the others arrive in any order, interleaved at random (a hash join).
      const inStep = seed % 3 === 0;
      if (inStep) {
        const order = (rows: Row[]) => [...rows].sort((a, b) => (JSON.stringify([a.k1, a.k2]) < JSON.stringify([b.k1, b.k2]) ? -1 : 1));
        source = order(source);
        target = order(target);
      }
      let turn = 0;
      const tolerance = seed % 4 === 1 ? 0.05 : undefined;
      // Every fifth seed without a tolerance packs the waiting records once more than 3 wait.
      const packAbove = tolerance === undefined && seed % 5 === 2 ? 3 : undefined;
      // Most of those come with places in their files, as CSV sides give them (composite keys
      // and single ones).
      // Half of all seeds give the records in pages (runs of one side), as a run does.
      const engine = diffOf(keyFields, source, target, inStep ? () => (turn++ % 2 === 0 ? 0 : 1) : rnd, tolerance, packAbove, seed % 10 === 2 || seed % 20 === 7, seed % 4 >= 2);
      strategies.add(engine.join.maxPending <= 2 ? 'merge' : 'hash');
      const ref = reference(keyFields, source, target, tolerance);
      const rows = (records: { fields: Row }[]) => records.map((r) => r.fields.row).sort();
      const context = `seed ${seed}`;
      expect(engine.counts, context).toEqual({
        matched: ref.matched,
        missing: ref.missing.length,
        extra: ref.extra.length,
        changed: ref.changed.length,
        duplicates: ref.duplicates,
        invalid: ref.invalid,
      });
      expect(rows(engine.missing), context).toEqual([...ref.missing].sort());
      expect(rows(engine.extra), context).toEqual([...ref.extra].sort());
      expect(engine.changed.map((c) => c.source.fields.row).sort(), context).toEqual([...ref.changed].sort());
      expect(engine.duplicateKeys.length, context).toBe(ref.dupKeys);
      compared += source.length + target.length;
    }
    expect(compared).toBeGreaterThan(10_000);
    expect([...strategies].sort()).toEqual(['hash', 'merge']);
    expect(readFromPlaces).toBeGreaterThan(100);
  });

  it('agrees when both sides come in key order: in step or far apart, a key out of order late, packed, a side done early', () => {
    const modes = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(10_000 + seed);
      const composite = seed % 2 === 0;
      const keyFields = composite ? ['k1', 'k2'] : ['k1'];
      const mapper = mapperFor(keyFields);
      // Each side sorted by the key the diff sees, as keyset pages give it.
      const byKey = (rows: Row[]) => {
        const keyOf = (r: Row) => mapper.map(r, 'row').record?.key ?? '';
        return [...rows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
      };
      const source = byKey(randomRows(rnd, Math.floor(rnd() * 60), composite, 's'));
      const target = byKey(randomRows(rnd, Math.floor(rnd() * 60), composite, 't'));
      // One seed in four: two records of the target swap places late, so the order breaks.
      if (seed % 4 === 0 && target.length > 4) {
        const i = target.length - 2 - Math.floor(rnd() * 2);
        [target[i], target[i - 2]] = [target[i - 2]!, target[i]!];
      }
      const builder = new DiffBuilder();
      if (seed % 5 === 0) builder.compactWhenPendingExceeds(3);
      const keep = seed % 3 !== 0;
      builder.keepFieldsOfResolved({ source: keep, target: keep });
      // Strict turns, or long runs of one side (one side far ahead of the other).
      const ahead = seed % 2 === 1;
      const queues: Record<Side, Row[]> = { source: [...source], target: [...target] };
      let turn = 0;
      while (queues.source.length || queues.target.length) {
        const pick: Side = ahead ? (rnd() < 0.9 ? 'source' : 'target') : turn++ % 2 === 0 ? 'source' : 'target';
        const side: Side = queues[pick].length ? pick : pick === 'source' ? 'target' : 'source';
        const row = queues[side].shift()!;
        const result = mapper.map(row, `row ${String(row.row)}`);
        if (result.record) builder.add(side, result.record);
        else builder.addInvalid(side, result.invalid);
        if (!queues[side].length) builder.sideDone(side);
      }
      const engine = builder.finish();
      modes.add(`${engine.join.maxPending > 2 ? 'apart' : 'in step'}`);
      const ref = reference(keyFields, source, target);
      const context = `seed ${seed}`;
      expect(engine.counts, context).toEqual({ matched: ref.matched, missing: ref.missing.length, extra: ref.extra.length, changed: ref.changed.length, duplicates: ref.duplicates, invalid: ref.invalid });
      expect(engine.changed.map((c) => c.source.fields.row).sort(), context).toEqual([...ref.changed].sort());
      if (keep) {
        const rows = (records: { fields: Row }[]) => records.map((r) => r.fields.row).sort();
        expect(rows(engine.missing), context).toEqual([...ref.missing].sort());
        expect(rows(engine.extra), context).toEqual([...ref.extra].sort());
      }
    }
    expect([...modes].sort()).toEqual(['apart', 'in step']);
  });

  it('keeps places only on a side whose unmatched records will not all want their fields', () => {
    const mapper = mapperFor(['k1']);
    const builder = new DiffBuilder().compactWhenPendingExceeds(1).keepFieldsOfResolved({ source: true, target: false });
    for (let i = 0; i < 10; i++) {
      builder.add('source', mapper.map({ k1: `s${i}`, name: 'a', price: '1', row: i }, 'row').record!, 100 * i, 9);
      builder.add('target', mapper.map({ k1: `t${i}`, name: 'b', price: '2', row: i }, 'row').record!, 100 * i, 9);
    }
    const diff = builder.finish();
    expect([diff.missing.length, diff.extra.length]).toEqual([10, 10]);
    // Missing records go to a push: they kept their fields. Extra ones kept their places.
    expect(diff.missing.every((r) => placeOf(r) === null && r.fields.name === 'a')).toBe(true);
    expect(diff.extra.map((r) => placeOf(r)).sort((a, b) => a!.at - b!.at)).toEqual(Array.from({ length: 10 }, (_, i) => ({ at: 100 * i, bytes: 9 })));
  });

  it('gives the same result whatever order the two sides arrive in', () => {
    const rnd = prng(99);
    const source = randomRows(rnd, 60, true, 's');
    const target = randomRows(rnd, 60, true, 't');
    const sourceFirst = diffOf(['k1', 'k2'], source, target, () => 0);
    const targetFirst = diffOf(['k1', 'k2'], source, target, () => 1);
    const mixed = diffOf(['k1', 'k2'], source, target, prng(5));
    expect(targetFirst.counts).toEqual(sourceFirst.counts);
    expect(mixed.counts).toEqual(sourceFirst.counts);
    expect(mixed.missing.map((r) => r.key)).toEqual(sourceFirst.missing.map((r) => r.key));
  });
});

describe('DiffBuilder', () => {
  it('classifies matched, missing, extra and changed, with sorted keys', () => {
    const source = [
      { row: 's1', k1: 'B', name: 'b', price: '2' },
      { row: 's2', k1: 'A', name: 'a', price: 1.5 },
      { row: 's3', k1: 'C', name: 'c', price: 3 },
      { row: 's4', k1: 'D', name: 'd', price: 4 },
    ];
    const target = [
      { row: 't1', k1: 'A', name: 'a', price: '1.50' },
      { row: 't2', k1: 'C', name: 'c', price: '3.10' },
      { row: 't3', k1: 'E', name: 'e', price: 5 },
    ];
    const diff = diffOf(['k1'], source, target);
    expect(diff.counts).toEqual({ matched: 1, missing: 2, extra: 1, changed: 1, duplicates: 0, invalid: 0 });
    expect(diff.missing.map((r) => r.key)).toEqual(['B', 'D']);
    expect(diff.extra.map((r) => r.key)).toEqual(['E']);
    expect(changedFields(diff.changed[0]!, compare)).toEqual({ key: 'C', fields: { price: ['3.00', '3.10'] } });
    expect(diff.read).toEqual({ source: 4, target: 3 });
  });

  it('reports duplicate keys with their side and count instead of collapsing them', () => {
    const source = [
      { row: 's1', k1: 'A', name: 'a', price: 1 },
      { row: 's2', k1: 'A', name: 'other', price: 9 },
      { row: 's3', k1: 'A', name: 'third', price: 9 },
    ];
    const target = [{ row: 't1', k1: 'A', name: 'a', price: 1 }];
    const diff = diffOf(['k1'], source, target);
    expect(diff.counts.duplicates).toBe(2);
    expect(diff.counts.matched).toBe(1);
    expect(diff.duplicateKeys).toEqual([{ key: 'A', side: 'source', occurrences: 3 }]);
  });

  it('counts records with an empty key or a failed transform as invalid, with the reason', () => {
    const diff = diffOf(['k1'], [{ row: 's1', k1: null, name: 'x', price: 1 }, { row: 's2', k1: 'B', name: 'x', price: 'abc' }], []);
    expect(diff.counts.invalid).toBe(2);
    expect(diff.invalid.map((i) => i.reason)).toEqual(['key field k1 is empty', 'field price: decimal(2): "abc" is not a number']);
    expect(diff.invalid[1]!.ref).toBe('row s2 (key B)');
  });
});

// A first full load: every source record is missing from a new, empty target. Past the compact
// limit the waiting records are packed into one string each, or keep only key and hash when a
// value (a Date) cannot be packed; those fields are put back by one map lookup per record read
// again (the old scan of the whole list per record took hours at this size). Sorting the
// result gives the event loop turns.
import { describe, expect, it } from 'vitest';
import type { NormalizedRecord } from '../../src/core/record.js';
import { DiffBuilder, isStripped, refill, strippedNeeds } from '../../src/reconcile/diff.js';
import { sortInTurns } from '../../src/core/yield.js';
import { prng } from '../../examples/demo/data.js';

const N = 200_000;
const record = (i: number): NormalizedRecord => ({ key: `K${String(i).padStart(7, '0')}`, hash: `h${i}`, fields: { sku: `K${i}`, qty: i } });
/** With a Date, which JSON would turn into text: such a record keeps only key and hash. */
const dated = (i: number): NormalizedRecord => ({ ...record(i), fields: { ...record(i).fields, at: new Date(Date.UTC(2026, 0, 1) + i) } });

describe('a first full load', () => {
  it('keeps keys only while waiting, then refills every record a push needs, in linear time', async () => {
    const rnd = prng(3);
    const order = Array.from({ length: N }, (_, i) => i).sort(() => rnd() - 0.5);
    const builder = new DiffBuilder(100).compactWhenPendingExceeds(1000);
    for (const i of order) builder.add('source', dated(i));
    builder.sideDone('source');
    builder.sideDone('target');
    const diff = await builder.finishInTurns();
    expect(diff.counts.missing).toBe(N);
    expect(diff.missing[0]!.key).toBe('K0000000');
    expect(diff.missing.at(-1)!.key).toBe(`K${String(N - 1).padStart(7, '0')}`);
    expect(diff.missing.filter(isStripped).length).toBeGreaterThan(N - 1001);

    const waiting = strippedNeeds(diff, { changedSamples: 20, allChanged: true, allMissing: true });
    expect(waiting.source.size).toBeGreaterThan(N - 1001);
    expect(waiting.target.size).toBe(0);
    for (const i of order) refill(waiting.source, dated(i));
    expect(waiting.source.size).toBe(0);
    expect(diff.missing.filter(isStripped)).toEqual([]);
    expect(diff.missing[12_345]!.fields).toEqual(dated(12_345).fields);
  }, 60_000);

  it('records that JSON carries exactly are packed while waiting and come back whole, with no second read', async () => {
    const rnd = prng(4);
    const order = Array.from({ length: 50_000 }, (_, i) => i).sort(() => rnd() - 0.5);
    const builder = new DiffBuilder(100).compactWhenPendingExceeds(1000);
    for (const i of order) builder.add('source', record(i));
    // Half of them meet a changed counterpart after the packing.
    for (const i of order.slice(0, 25_000)) builder.add('target', { ...record(i), hash: `other${i}`, fields: { sku: `K${i}`, qty: -i } });
    const diff = await builder.finishInTurns();
    expect(diff.counts).toMatchObject({ missing: 25_000, changed: 25_000 });
    expect(diff.missing.filter(isStripped)).toEqual([]);
    expect(diff.changed.filter((c) => isStripped(c.source))).toEqual([]);
    const first = order[0]!;
    const c = diff.changed.find((x) => x.key === record(first).key)!;
    expect(c.source).toEqual(record(first));
    expect(c.target.fields).toEqual({ sku: `K${first}`, qty: -first });
    const waiting = strippedNeeds(diff, { changedSamples: 20, allChanged: true, allMissing: true });
    expect(waiting.source.size + waiting.target.size).toBe(0);
  });

  it('a record resolved as missing once the target has ended keeps its fields only when a push needs them', () => {
    for (const keep of [true, false]) {
      const builder = new DiffBuilder().keepFieldsOfResolved({ source: keep, target: false });
      builder.add('source', record(1));
      builder.sideDone('target');
      builder.add('source', record(2));
      const diff = builder.finish();
      expect(diff.missing.map(isStripped)).toEqual([false, !keep]);
    }
  });

  it('sorts in slices as Array.sort would, and lets timers run meanwhile', async () => {
    const rnd = prng(9);
    const items = Array.from({ length: 300_000 }, () => Math.floor(rnd() * 1e9));
    const expected = [...items].sort((a, b) => a - b);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const sorted = await sortInTurns(items, (a, b) => a - b, 4096);
    clearInterval(ticker);
    expect(sorted).toEqual(expected);
    expect(ticks).toBeGreaterThan(0);
  });
});

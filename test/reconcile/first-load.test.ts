// A first full load: every source record is missing from a new, empty target. Past the compact
// limit the waiting records keep only key and hash; the fields a push needs are put back by one
// map lookup per record read again (the old scan of the whole list per record took hours at this
// size). Sorting the result gives the event loop turns.
import { describe, expect, it } from 'vitest';
import type { NormalizedRecord } from '../../src/core/record.js';
import { DiffBuilder, isStripped, refill, strippedNeeds } from '../../src/reconcile/diff.js';
import { sortInTurns } from '../../src/core/yield.js';
import { prng } from '../../examples/demo/data.js';

const N = 200_000;
const record = (i: number): NormalizedRecord => ({ key: `K${String(i).padStart(7, '0')}`, hash: `h${i}`, fields: { sku: `K${i}`, qty: i } });

describe('a first full load', () => {
  it('keeps keys only while waiting, then refills every record a push needs, in linear time', async () => {
    const rnd = prng(3);
    const order = Array.from({ length: N }, (_, i) => i).sort(() => rnd() - 0.5);
    const builder = new DiffBuilder(100).compactWhenPendingExceeds(1000);
    for (const i of order) builder.add('source', record(i));
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
    for (const i of order) refill(waiting.source, record(i));
    expect(waiting.source.size).toBe(0);
    expect(diff.missing.filter(isStripped)).toEqual([]);
    expect(diff.missing[12_345]!.fields).toEqual({ sku: 'K12345', qty: 12_345 });
  }, 60_000);

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

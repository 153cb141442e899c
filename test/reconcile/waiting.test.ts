// The off-heap table of waiting records against a plain Map: random adds and takes, through
// growth, tombstones and arena compaction, with unicode keys and payloads and entries whose
// fields were not kept.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SAME_HASH, WaitingTable, type WaitingEntry } from '../../src/reconcile/waiting.js';

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
import { prng } from '../../examples/demo/data.js';

describe('WaitingTable', () => {
  it.each([
    ['in the arena', false],
    ['in a spill file', true],
  ])('behaves as a map from key to (hash, payload) under random adds and takes, payloads %s', (_where, spill) => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const table = new WaitingTable(4, 64, spill);
      const reference = new Map<string, WaitingEntry>();
      let next = 0;
      for (let step = 0; step < 60_000; step++) {
        if (rnd() < 0.55 || reference.size === 0) {
          const key = rnd() < 0.1 ? `ключ-${next}-ü€` : `K${next}`;
          const unicodeHash = rnd() < 0.05;
          next++;
          const entry = { key, hash: unicodeHash ? `hé${Math.floor(rnd() * 1e6)}` : `h${Math.floor(rnd() * 1e6)}`, payload: rnd() < 0.2 ? null : JSON.stringify({ name: `naïve ${next}`, qty: next }) };
          table.set(entry.key, entry.hash, entry.payload);
          reference.set(key, entry);
        } else {
          // Half the takes ask for a key that is there, half for one that is not.
          let key = `absent-${step}`;
          if (rnd() < 0.5) {
            let skip = Math.floor(rnd() * Math.min(reference.size, 50));
            for (const k of reference.keys()) {
              if (skip-- > 0) continue;
              key = k;
              break;
            }
          }
          const held = reference.get(key);
          const way = rnd();
          if (way < 0.4) expect(table.take(key)).toEqual(held);
          else {
            // Asked with the same hash: SAME_HASH; with another (one unit more, one less, or unicode): the entry.
            const hash = held && way < 0.7 ? held.hash : pick(rnd, [`h${Math.floor(rnd() * 1e6)}`, `${held?.hash ?? 'h'}0`, (held?.hash ?? 'hh').slice(0, -1), `hé${step}`]);
            expect(table.takeUnlessSame(key, hash)).toEqual(held === undefined ? undefined : held.hash === hash ? SAME_HASH : held);
          }
          reference.delete(key);
        }
        expect(table.size).toBe(reference.size);
      }
      const file = table.spillFile;
      expect(file !== null).toBe(spill);
      const rest = [...table.drain()].sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(rest).toEqual([...reference.values()].sort((a, b) => (a.key < b.key ? -1 : 1)));
      expect(table.size).toBe(0);
      // Drained: the spill file is gone.
      if (file) expect(existsSync(file)).toBe(false);
      expect(table.take('K1')).toBeUndefined();
    }
  });

  it('reads spilled payloads back across flushes of the file buffer', () => {
    const table = new WaitingTable(undefined, undefined, true);
    const payload = (i: number) => JSON.stringify({ i, text: `${'é'.repeat(i % 300)}${i}` });
    for (let i = 0; i < 20_000; i++) table.set(`k${i}`, `h${i}`, payload(i));
    // Taken in another order than written: some from the file, the last ones from the buffer.
    for (let i = 19_999; i >= 0; i -= 7) expect(table.take(`k${i}`)?.payload).toBe(payload(i));
    const rest = [...table.drain()];
    expect(rest.length).toBe(20_000 - Math.ceil(20_000 / 7));
    for (const e of rest) expect(e.payload).toBe(payload(Number(e.key.slice(1))));
  });

  it('reclaims the arena once most of it held matched entries', () => {
    const table = new WaitingTable();
    const payload = 'x'.repeat(200);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10_000; i++) table.set(`r${round}-${i}`, 'h', payload);
      for (let i = 0; i < 10_000; i++) expect(table.take(`r${round}-${i}`)?.payload).toBe(payload);
    }
    // 20 rounds wrote 40 MB of entries; what stays allocated is one round's worth, or about.
    expect(table.bytes).toBeLessThan(12 * 1024 * 1024);
  });
});

// The off-heap table of waiting records against a plain Map: random adds and takes, through
// growth, tombstones and arena compaction, with unicode keys and payloads and entries whose
// fields were not kept.
import { describe, expect, it } from 'vitest';
import { WaitingTable, type WaitingEntry } from '../../src/reconcile/waiting.js';
import { prng } from '../../examples/demo/data.js';

describe('WaitingTable', () => {
  it('behaves as a map from key to (hash, payload) under random adds and takes', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const table = new WaitingTable(4, 64);
      const reference = new Map<string, WaitingEntry>();
      let next = 0;
      for (let step = 0; step < 60_000; step++) {
        if (rnd() < 0.55 || reference.size === 0) {
          const key = rnd() < 0.1 ? `ключ-${next}-ü€` : `K${next}`;
          next++;
          const entry = { key, hash: `h${Math.floor(rnd() * 1e6)}`, payload: rnd() < 0.2 ? null : JSON.stringify({ name: `naïve ${next}`, qty: next }) };
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
          expect(table.take(key)).toEqual(reference.get(key));
          reference.delete(key);
        }
        expect(table.size).toBe(reference.size);
      }
      const rest = [...table.drain()].sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(rest).toEqual([...reference.values()].sort((a, b) => (a.key < b.key ? -1 : 1)));
      expect(table.size).toBe(0);
      expect(table.take('K1')).toBeUndefined();
    }
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

import { describe, expect, it } from 'vitest';
import { FingerprintSet, fingerprint, fingerprintLo, KeyTable } from '../../src/reconcile/keyset.js';
import { DiffBuilder } from '../../src/reconcile/diff.js';
import { prng } from '../../examples/demo/data.js';

describe('FingerprintSet', () => {
  it('agrees with a Set on 200,000 random keys with repeats, through several growths', () => {
    const rnd = prng(3);
    const set = new FingerprintSet(16);
    const plain = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const key = rnd() < 0.1 ? `SKU-${Math.floor(rnd() * 1000)}` : `${Math.floor(rnd() * 1e9).toString(36)}|${i % 7}`;
      expect(set.add(key)).toBe(!plain.has(key));
      plain.add(key);
    }
    expect(set.size).toBe(plain.size);
  });

  it('agrees with a Set when keys come in order, repeat, and then come out of order', () => {
    const rnd = prng(5);
    for (const breakAt of [0, 1, 17, 5000, 40_000]) {
      const set = new FingerprintSet(16);
      const plain = new Set<string>();
      const keys: string[] = [];
      // Ascending keys with some repeated at once (an in-order duplicate) ...
      for (let i = 0; i < breakAt; i++) {
        keys.push(`K${String(i).padStart(6, '0')}`);
        if (rnd() < 0.05) keys.push(keys.at(-1)!);
      }
      // ... then any order: earlier keys again, new keys, keys below and above the last.
      for (let i = 0; i < 20_000; i++) keys.push(rnd() < 0.3 && breakAt > 0 ? keys[Math.floor(rnd() * keys.length)]! : `K${String(Math.floor(rnd() * 2 * (breakAt + 1000))).padStart(6, '0')}`);
      for (const key of keys) {
        expect(set.add(key)).toBe(!plain.has(key));
        plain.add(key);
      }
      expect(set.size).toBe(plain.size);
    }
  });

  it('two sides sharing one table each agree with their own Set, whenever each side leaves its order', () => {
    const rnd = prng(11);
    for (const [breakSource, breakTarget] of [[0, 0], [3000, 0], [0, 7000], [2500, 9000], [Infinity, 4000]] as const) {
      const table = new KeyTable(16);
      const sides = [new FingerprintSet(16, table, 1), new FingerprintSet(16, table, 2)] as const;
      const plain = [new Set<string>(), new Set<string>()] as const;
      const counters = [0, 0];
      for (let step = 0; step < 40_000; step++) {
        const s = rnd() < 0.5 ? 0 : 1;
        const ordered = counters[s]! < (s === 0 ? breakSource : breakTarget);
        // In order: ascending keys, now and then the last one again. Out of order: keys either
        // side has shown, or new ones.
        const n = counters[s]!++;
        const key = ordered ? `K${String(n >> 1).padStart(6, '0')}` : rnd() < 0.4 ? `K${String(Math.floor(rnd() * 12_000)).padStart(6, '0')}` : `N${Math.floor(rnd() * 30_000)}`;
        expect(sides[s].add(key), `side ${s} step ${step} key ${key}`).toBe(!plain[s].has(key));
        plain[s].add(key);
      }
      expect([sides[0].size, sides[1].size]).toEqual([plain[0].size, plain[1].size]);
    }
  });

  it('tells apart keys that differ in one character or only in length', () => {
    const set = new FingerprintSet();
    for (const k of ['a', 'b', 'ab', 'ba', '', ' ', 'a ', '["a","b"]', '["a|b"]']) expect(set.add(k)).toBe(true);
    expect(set.add('ab')).toBe(false);
  });
});

describe('KeyTable', () => {
  it('grows once to the room reserve() asked for, and keeps every key through later growth', () => {
    const table = new KeyTable(16);
    table.reserve(100_000);
    const print = (i: number) => [fingerprint(`K${i}`), fingerprintLo] as const;
    expect(table.claim(...print(0), 1)).toBeGreaterThanOrEqual(0);
    // Room for 100,000 keys at most two thirds full: 2¹⁸ slots at once, not 16 doubled 14 times.
    expect(table.slotCount).toBe(1 << 18);
    for (let i = 1; i < 300_000; i++) expect(table.claim(...print(i), 1)).toBeGreaterThanOrEqual(0);
    expect(table.slotCount).toBe(1 << 19);
    for (let i = 0; i < 300_000; i += 997) expect(table.claim(...print(i), 1)).toBe(-1);
    // reserve() only makes room: asking for less later changes nothing.
    table.reserve(10);
    expect(table.slotCount).toBe(1 << 19);
  });
});

describe('join strategy', () => {
  const rec = (key: string) => ({ key, hash: 'h', fields: {} });
  it('is a merge when both sides arrive in step, and a hash join when they do not', () => {
    const aligned = new DiffBuilder(4);
    for (let i = 0; i < 100; i++) {
      aligned.add('source', rec(`k${i}`));
      aligned.add('target', rec(`k${i}`));
    }
    expect(aligned.finish().join).toEqual({ strategy: 'merge', maxPending: 1 });
    const reversed = new DiffBuilder(4);
    for (let i = 0; i < 100; i++) reversed.add('source', rec(`k${i}`));
    for (let i = 99; i >= 0; i--) reversed.add('target', rec(`k${i}`));
    const result = reversed.finish();
    expect(result.join).toEqual({ strategy: 'hash', maxPending: 100 });
    expect(result.counts.matched).toBe(100);
  });
});

/** The reference: murmur3's 32-bit hash of the code units with one seed, as the fingerprints
 *  stored before were made (two calls, one per half). */
function hash32(s: string, seed: number): number {
  let h = seed ^ s.length;
  for (let i = 0; i < s.length; i++) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe('fingerprint', () => {
  it('is the pair of hash32 with the two seeds, computed in one pass', () => {
    for (const key of ['', 'a', 'SKU-00000001', 'ключ-ü€', 'x'.repeat(300), '["a","b|c"]']) {
      const hi = fingerprint(key);
      expect([hi, fingerprintLo]).toEqual([hash32(key, 0x9747b28c), hash32(key, 0x5bd1e995)]);
    }
  });
});

// The packed store of waiting records against a plain Map: random puts and takes from both
// sides, through growth of the key table and of the store, with unicode keys and fields,
// hashes that are not hex, records whose fields were not kept, and records whose fields were
// left at their place in a file.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintLo, KeyTable } from '../../src/reconcile/keyset.js';
import { fieldsOf, payloadOf } from '../../src/reconcile/stripped.js';
import { PayloadSpill } from '../../src/reconcile/spill.js';
import { SAME_HASH, WaitingRecords, type WaitingEntry } from '../../src/reconcile/waiting.js';
import { prng } from '../../examples/demo/data.js';

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const hex = (rnd: () => number) => Array.from({ length: 16 }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');

describe('WaitingRecords', () => {
  it('behaves as a map from key to (side, hash, fields) under random puts and takes', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const keys = new KeyTable(16);
      const store = new WaitingRecords(keys);
      const reference = new Map<string, WaitingEntry & { bit: number }>();
      let next = 0;
      let sames = 0;
      for (let step = 0; step < 60_000; step++) {
        // A key not seen yet (it waits), or the other side's record for one that waits.
        if (rnd() < 0.55 || reference.size === 0) {
          const key = rnd() < 0.1 ? `ключ-${next}-ü€` : `K${next}`;
          next++;
          const bit = rnd() < 0.5 ? 1 : 2;
          const hash = rnd() < 0.05 ? `hé${Math.floor(rnd() * 1e6)}` : hex(rnd);
          // One record in five without fields, one in five with its place in a file instead.
          const kind = rnd();
          const place = kind >= 0.8 ? { at: Math.floor(rnd() * 2 ** 40), bytes: Math.floor(rnd() * 5000) } : undefined;
          const entry: WaitingEntry & { bit: number } = { key, hash, payload: kind < 0.2 || place ? null : JSON.stringify({ name: `naïve ${next}`, qty: next }), bit, ...(place ? { place } : {}) };
          const slot = keys.claim(fingerprint(key), fingerprintLo, bit);
          expect(store.takeUnlessSame(slot, bit, key, hash)).toBeUndefined();
          store.put(slot, bit, key, hash, entry.payload, place?.at, place?.bytes);
          reference.set(key, entry);
        } else {
          let skip = Math.floor(rnd() * Math.min(reference.size, 50));
          let held: (WaitingEntry & { bit: number }) | undefined;
          for (const e of reference.values()) if (skip-- <= 0) { held = e; break; }
          const slot = keys.claim(fingerprint(held!.key), fingerprintLo, 3 - held!.bit);
          // Asked with the same hash: SAME_HASH; with another (one digit off, shorter, unicode): the record.
          const hash = rnd() < 0.5 ? held!.hash : pick(rnd, [hex(rnd), `${held!.hash.slice(0, 15)}${held!.hash.endsWith('0') ? '1' : '0'}`, held!.hash.slice(0, -1), `hé${step}`]);
          const got = store.takeUnlessSame(slot, 3 - held!.bit, held!.key, hash);
          if (hash === held!.hash) {
            expect(got).toBe(SAME_HASH);
            sames++;
          } else {
            expect(got).not.toBe(SAME_HASH);
            const entry = got as WaitingEntry;
            expect({ key: entry.key, hash: entry.hash, payload: entry.payload, place: entry.place }).toEqual({ key: held!.key, hash: held!.hash, payload: held!.payload, place: held!.place });
          }
          reference.delete(held!.key);
          // Nothing waits under that key any more.
          expect(store.takeUnlessSame(slot, 3 - held!.bit, held!.key, hash)).toBeUndefined();
        }
        const waiting = (bit: number) => [...reference.values()].filter((e) => e.bit === bit).length;
        if (step % 5000 === 0) expect([store.size(1), store.size(2)]).toEqual([waiting(1), waiting(2)]);
      }
      expect(sames).toBeGreaterThan(1000);
      const file = store.spillFile;
      expect(file).not.toBeNull();
      for (const bit of [1, 2]) {
        const rest = [...store.drain(bit)].sort((a, b) => (a.key < b.key ? -1 : 1));
        const expected = [...reference.values()].filter((e) => e.bit === bit).map(({ bit: _, ...e }) => e);
        expect(rest).toEqual(expected.sort((a, b) => (a.key < b.key ? -1 : 1)));
        expect(store.size(bit)).toBe(0);
      }
      // Both sides drained: the spill file is gone.
      expect(existsSync(file!)).toBe(false);
    }
  });

  it('reads spilled fields back across flushes of the file buffer, and numbers of taken records are used again', () => {
    const keys = new KeyTable(16);
    const store = new WaitingRecords(keys);
    const payload = (i: number) => JSON.stringify({ i, text: `${'é'.repeat(i % 300)}${i}` });
    const slot = (i: number, bit: number) => keys.claim(fingerprint(`k${i}`), fingerprintLo, bit);
    for (let i = 0; i < 20_000; i++) store.put(slot(i, 1), 1, `k${i}`, `h${i}`, payload(i));
    const held = store.bytesHeld;
    // Taken in another order than written: some from the file, the last ones from the buffer.
    for (let i = 19_999; i >= 0; i -= 7) {
      const got = store.takeUnlessSame(slot(i, 2), 2, `k${i}`, 'other') as WaitingEntry;
      expect(got.payload).toBe(payload(i));
    }
    // As many new records as were taken: the store does not grow.
    for (let i = 20_000; i < 20_000 + Math.ceil(20_000 / 7); i++) store.put(slot(i, 2), 2, `k${i}`, `h${i}`, payload(i));
    expect(store.bytesHeld).toBe(held);
    const rest = [...store.drain(1)];
    expect(rest.length).toBe(20_000 - Math.ceil(20_000 / 7));
    for (const e of rest) expect(e.payload).toBe(payload(Number(e.key.slice(1))));
    expect([...store.drain(2)].length).toBe(Math.ceil(20_000 / 7));
    expect(store.spillFile).toBeNull();
  });
});

describe('PayloadSpill', () => {
  it('gives back every text where append said, short or long, ASCII or not, across flushes of its buffer', () => {
    const rnd = prng(7);
    const spill = new PayloadSpill();
    const texts: string[] = [];
    const places: { at: number; bytes: number }[] = [];
    let total = 0;
    // About 8 MB: the 1 MB buffer is written out several times on the way.
    while (total < 8_000_000) {
      const kind = rnd();
      // Once, a text larger than the file buffer and than one read back.
      const huge = texts.length === 1000 ? `${'y'.repeat(5_000_000)}ü` : null;
      const text = huge ?? (kind < 0.6 ? `K${Math.floor(rnd() * 1e9)}` : kind < 0.8 ? `ключ-${Math.floor(rnd() * 1e6)}-€` : 'x'.repeat(60 + Math.floor(rnd() * 200)) + (rnd() < 0.5 ? 'é' : ''));
      texts.push(text);
      const at = spill.append(text);
      expect(at).toBe(total);
      places.push({ at, bytes: spill.appended });
      total += spill.appended;
    }
    texts.forEach((text, i) => expect(spill.read(places[i]!.at, places[i]!.bytes)).toBe(text));
    expect([...spill.readSorted(places)]).toEqual(texts);
    spill.close();
  });
});

describe('payloadOf', () => {
  it('gives back what JSON would, flat or as JSON, and nothing for values JSON would change', () => {
    const rnd = prng(7);
    const values: unknown[] = ['', 'plain', 'naïve €', 'a\u0000b', '\u0001x', 'ends with NUL\u0000', 0, -0, 1.5, -2e-7, 1e21, true, false, null, undefined, { nested: [1, 'x'] }, ['a', null]];
    const names = ['sku', 'name', '', 'with space', 'nul\u0000name', 'ü'];
    let flat = 0;
    for (let i = 0; i < 2000; i++) {
      const fields: Record<string, unknown> = {};
      const count = Math.floor(rnd() * 5);
      for (let f = 0; f < count; f++) fields[pick(rnd, names)] = pick(rnd, values);
      const payload = payloadOf({ key: 'k', hash: 'h', fields });
      expect(payload).not.toBeNull();
      if (payload!.startsWith('\u0001')) flat++;
      expect(fieldsOf(payload!), JSON.stringify(fields)).toEqual(JSON.parse(JSON.stringify(fields)));
      expect(Object.keys(fieldsOf(payload!))).toEqual(Object.keys(JSON.parse(JSON.stringify(fields)) as object));
    }
    expect(flat).toBeGreaterThan(200);
    expect(payloadOf({ key: 'k', hash: 'h', fields: { at: new Date(0) } })).toBeNull();
    expect(payloadOf({ key: 'k', hash: 'h', fields: { blob: new Uint8Array(2), name: 'x' } })).toBeNull();
  });
});

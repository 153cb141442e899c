// A compact set of key fingerprints: 64 bits per key in typed arrays, instead of a Set of
// strings (about 100 bytes per key in V8). The diff uses it to see whether a key came
// before on the same side. Two different keys share a fingerprint with a probability of
// about n²/2⁶⁵ (3·10⁻⁸ for a million keys); such a pair, once the side's keys have come
// out of order, would be counted as a duplicate.

/** The second half of the last fingerprint(): set as a side effect, so no pair is allocated. */
export let fingerprintLo = 0;

/**
 * A key's 64-bit fingerprint: murmur3's 32-bit mix over the string's code units with two seeds
 * (0x9747b28c, 0x5bd1e995), in one pass. Returns the high half; the low half is in
 * fingerprintLo until the next call.
 */
export function fingerprint(s: string): number {
  return fingerprintOf(s, 0, s.length);
}

/** fingerprint() of text[start, end), without cutting it out. */
export function fingerprintOf(text: string, start: number, end: number): number {
  const length = end - start;
  let h = 0x9747b28c ^ length;
  let g = 0x5bd1e995 ^ length;
  for (let i = start; i < end; i++) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    g ^= k;
    g = (g << 13) | (g >>> 19);
    g = (Math.imul(g, 5) + 0xe6546b64) | 0;
  }
  fingerprintLo = fmix(g);
  return fmix(h);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Keys reserve() makes room for at most: 2²² slots, 48 MB. */
const MOST_RESERVED = 2_796_202;

/**
 * The table behind the sets of both sides of a join once their keys come out of order: one
 * slot per fingerprint, and two bits per slot saying which sides showed it. Most keys are on
 * both sides, so they cost one slot, not one in each side's table. Each slot also holds the
 * number of the record waiting under that key in a packed hash join (see WaitingRecords), so
 * the probe that tells a key new also finds its counterpart: 12 bytes a slot in all.
 */
export class KeyTable {
  /** Three numbers a slot, side by side so a probe touches one cache line: the fingerprint's
   *  halves (hi, lo), with (0, 0) a free slot, and a word whose two low bits say which sides
   *  showed the key and whose other bits hold `waiting` (see WaitingRecords). */
  private slots = new Uint32Array(0);
  private size = 0;
  private used = 0;
  /** Slots the next growth goes to at least (see reserve). */
  private reserved = 0;

  constructor(private readonly minSlots = 1 << 16) {}

  /** Keys the table is expected to hold: its next growth (the first, if it is still empty)
   *  goes straight to room for them, instead of doubling its way there and moving every key
   *  at each step. Room for more than MOST_RESERVED keys is left to growth as it comes. */
  reserve(keys: number): void {
    let slots = this.minSlots;
    while (slots * 2 < Math.min(keys, MOST_RESERVED) * 3) slots *= 2;
    this.reserved = Math.max(this.reserved, slots);
  }

  /** Marks the fingerprint as shown by the side `bit` (1 or 2); false when it was already. */
  add(hi: number, lo: number, bit: number): boolean {
    return this.claim(hi, lo, bit) >= 0;
  }

  /** Marks the fingerprint as shown by the side `bit` (1 or 2) and returns its slot, or -1 when
   *  that side showed it already. The slot holds until the next claim. */
  claim(hi: number, lo: number, bit: number): number {
    // Up to two thirds full: linear probing stays short.
    if ((this.used + 1) * 3 > this.size * 2) this.grow();
    // (0, 0) marks a free slot: the one fingerprint that is all zeros is stored as (0, 1).
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.slots;
    const mask = this.size - 1;
    for (let i = (hi ^ Math.imul(lo, 0x27d4eb2d)) & mask; ; i = (i + 1) & mask) {
      const at = i * 3;
      const h = slots[at]!;
      const l = slots[at + 1]!;
      if (h === 0 && l === 0) {
        slots[at] = hi;
        slots[at + 1] = lo;
        slots[at + 2] = bit;
        this.used++;
        return i;
      }
      if (h === hi && l === lo) {
        const word = slots[at + 2]!;
        if (word & bit) return -1;
        slots[at + 2] = word | bit;
        return i;
      }
    }
  }

  /**
   * Reads the home slot of each of the `count` fingerprints in `prints` (hi, lo pairs), and
   * for one that is there with a record waiting, that record's first word in `rows` (rows of
   * `rowWords` numbers; see WaitingRecords). Loads that do not depend on each other overlap in
   * the processor, so a page's cache misses cost about as much as a few: the claims that
   * follow find their slots and rows in the cache. Returns a number only so that the loads are
   * not left out.
   */
  touch(prints: Uint32Array, count: number, rows: Uint32Array, rowWords: number): number {
    if (this.size === 0) return 0;
    const slots = this.slots;
    const mask = this.size - 1;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const hi = prints[2 * i]!;
      const lo = prints[2 * i + 1]!;
      sum += slots[((hi ^ Math.imul(lo, 0x27d4eb2d)) & mask) * 3]!;
    }
    for (let i = 0; i < count; i++) {
      const hi = prints[2 * i]!;
      const lo = prints[2 * i + 1]!;
      const at = ((hi ^ Math.imul(lo, 0x27d4eb2d)) & mask) * 3;
      if (slots[at] === hi && slots[at + 1] === lo) {
        // waiting(): the record's number plus one, shifted left by one (see WaitingRecords).
        const number = (slots[at + 2]! >>> 3) - 1;
        if (number >= 0) sum += rows[number * rowWords] ?? 0;
      }
    }
    return sum;
  }

  /** The slot of a fingerprint in the table (it must be there). */
  slotOf(hi: number, lo: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    const mask = this.size - 1;
    let i = (hi ^ Math.imul(lo, 0x27d4eb2d)) & mask;
    while (this.slots[i * 3] !== hi || this.slots[i * 3 + 1] !== lo) i = (i + 1) & mask;
    return i;
  }

  /** Slots in the table; a slot number is below it. */
  get slotCount(): number {
    return this.size;
  }

  /** Which sides showed the key of this slot (bit 1 source, bit 2 target). */
  sides(slot: number): number {
    return this.slots[slot * 3 + 2]! & 3;
  }

  /** What WaitingRecords keeps in the slot (0: nothing; below 2³⁰). */
  waiting(slot: number): number {
    return this.slots[slot * 3 + 2]! >>> 2;
  }

  setWaiting(slot: number, value: number): void {
    const at = slot * 3 + 2;
    this.slots[at] = (this.slots[at]! & 3) | (value << 2);
  }

  private grow(): void {
    const old = this.slots;
    const oldSize = this.size;
    const size = Math.max(oldSize * 2, this.minSlots, this.reserved);
    const slots = new Uint32Array(size * 3);
    const mask = size - 1;
    for (let s = 0; s < oldSize * 3; s += 3) {
      const hi = old[s]!;
      const lo = old[s + 1]!;
      if (hi === 0 && lo === 0) continue;
      let i = ((hi ^ Math.imul(lo, 0x27d4eb2d)) & mask) * 3;
      while (slots[i] !== 0 || slots[i + 1] !== 0) i = i + 3 === size * 3 ? 0 : i + 3;
      slots[i] = hi;
      slots[i + 1] = lo;
      slots[i + 2] = old[s + 2]!;
    }
    this.slots = slots;
    this.size = size;
  }
}

/** The keys one side has shown: add() tells whether a key is new. */
export class FingerprintSet {
  /** While keys arrive in ascending order (as keyset pages and most APIs give them), none can
   *  repeat an earlier one but the last: their fingerprints are only appended here, in order,
   *  and go to the table when the first key out of order arrives. */
  private run: Uint32Array | null;
  private last: string | null = null;
  private count = 0;

  constructor(
    capacity = 1 << 16,
    /** Shared with the other side's set (see KeyTable), with this side's bit. */
    private readonly table = new KeyTable(capacity),
    private readonly bit = 1,
  ) {
    this.run = new Uint32Array(capacity * 2);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key; false when it (or a key with the same fingerprint) was there already. */
  add(key: string): boolean {
    if (this.run) {
      const last = this.last;
      if (last !== null && key === last) return false;
      if (last === null || key > last) {
        this.last = key;
        this.append(fingerprint(key), fingerprintLo);
        return true;
      }
      this.unorder();
    }
    const added = this.table.add(fingerprint(key), fingerprintLo, this.bit);
    if (added) this.count++;
    return added;
  }

  /** Adds the key to the shared table (leaving the ordered mode for good) and returns its
   *  slot there, or -1 when it (or a key with the same fingerprint) was there already. */
  claim(key: string, hi = -1, lo = 0): number {
    if (this.run) this.unorder();
    if (hi < 0) {
      hi = fingerprint(key);
      lo = fingerprintLo;
    }
    const slot = this.table.claim(hi, lo, this.bit);
    if (slot >= 0) this.count++;
    return slot;
  }

  /** The key's slot in the shared table; the key must have been added. */
  slotOf(key: string): number {
    if (this.run) this.unorder();
    return this.table.slotOf(fingerprint(key), fingerprintLo);
  }

  private append(hi: number, lo: number): void {
    let run = this.run!;
    const at = this.count * 2;
    if (at === run.length) {
      const longer = new Uint32Array(run.length * 2);
      longer.set(run);
      this.run = run = longer;
    }
    run[at] = hi;
    run[at + 1] = lo;
    this.count++;
  }

  /** A key came out of order: from now on every key goes through the table. */
  private unorder(): void {
    const run = this.run!;
    this.run = null;
    this.last = null;
    for (let at = 0; at < this.count * 2; at += 2) this.table.add(run[at]!, run[at + 1]!, this.bit);
  }
}

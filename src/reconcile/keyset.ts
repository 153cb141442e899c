// A compact set of key fingerprints: 64 bits per key in typed arrays, instead of a Set of
// strings (about 100 bytes per key in V8). The diff uses it to see whether a key came
// before on the same side. Two different keys share a fingerprint with a probability of
// about n²/2⁶⁵ (3·10⁻⁸ for a million keys); such a pair would be counted as a duplicate.

/** The second half of the last fingerprint(): set as a side effect, so no pair is allocated. */
export let fingerprintLo = 0;

/**
 * A key's 64-bit fingerprint: murmur3's 32-bit mix over the string's code units with two seeds
 * (0x9747b28c, 0x5bd1e995), in one pass. Returns the high half; the low half is in
 * fingerprintLo until the next call.
 */
export function fingerprint(s: string): number {
  let h = 0x9747b28c ^ s.length;
  let g = 0x5bd1e995 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    let k = s.charCodeAt(i);
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

export class FingerprintSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  private count = 0;

  constructor(capacity = 1 << 16) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key; false when it (or a key with the same fingerprint) was there already. */
  add(key: string): boolean {
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    const hi = fingerprint(key);
    return this.insert(hi, fingerprintLo);
  }

  private insert(hi: number, lo: number): boolean {
    const mask = this.used.length - 1;
    let i = (hi ^ Math.imul(lo, 0x27d4eb2d)) & mask;
    while (this.used[i]) {
      if (this.hi[i] === hi && this.lo[i] === lo) return false;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.count++;
    return true;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    this.hi = new Uint32Array(used.length * 2);
    this.lo = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.count = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.insert(hi[i]!, lo[i]!);
  }
}

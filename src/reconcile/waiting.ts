// Records waiting for their counterpart in a hash join, kept outside the JavaScript heap: each
// entry (key, hash, and the fields as JSON, or none) is appended to a growing byte arena, and
// an open-addressing table of 64-bit key fingerprints points into it. Half a million waiting
// records then cost their bytes and 12 bytes of table, not a few hundred bytes of objects each
// that the garbage collector would carry into old space and sweep long after they are matched.
// With `spill`, the fields go to a temporary file instead (spill.ts): they are read back only
// for the records that turn out changed, or wait to the end; memory holds keys and hashes.
import { fingerprint, fingerprintLo } from './keyset.js';
import { PayloadSpill } from './spill.js';

/** Slot marks: offsets are below them (an arena never reaches 4 GiB). */
const EMPTY = 0xffffffff;
const DELETED = 0xfffffffe;
/** Entry header: key length (DEAD added once the entry is taken), hash length, payload
 *  length (NO_PAYLOAD when none), in bytes, then where the payload is in the spill file (a
 *  double; -1 when it is in the arena), then the key's fingerprint (two 32-bit halves): the
 *  table is rebuilt from the arena alone. */
const HEADER = 28;
const NO_PAYLOAD = 0xffffffff;
const DEAD = 0x80000000;

/** Where a probed key is encoded to compare it with the arena's bytes. */
let scratch = Buffer.allocUnsafe(256);

/** What takeUnlessSame() returns when the waiting entry has the same hash. */
export const SAME_HASH = Symbol('same hash');

const spills = new FinalizationRegistry<PayloadSpill>((spill) => spill.close());

export interface WaitingEntry {
  key: string;
  hash: string;
  /** The fields as JSON, or null when they were not kept. */
  payload: string | null;
}

export class WaitingTable {
  private fpHi: Uint32Array;
  private fpLo: Uint32Array;
  /** Byte offset of each slot's entry in the arena, or EMPTY / DELETED. */
  private at: Uint32Array;
  private arena: Buffer;
  private end = 0;
  private live = 0;
  private tombstones = 0;
  private deadBytes = 0;
  private spill: PayloadSpill | null = null;

  constructor(
    capacity = 1 << 12,
    arenaBytes = 1 << 20,
    /** Payloads go to a temporary file, not the arena. */
    private readonly spills = false,
  ) {
    this.fpHi = new Uint32Array(capacity);
    this.fpLo = new Uint32Array(capacity);
    this.at = new Uint32Array(capacity).fill(EMPTY);
    this.arena = Buffer.allocUnsafe(arenaBytes);
  }

  get size(): number {
    return this.live;
  }

  /** The spill file, while there is one (for tests). */
  get spillFile(): string | null {
    return this.spill?.file ?? null;
  }

  /** Bytes held outside the JavaScript heap (arena and table). */
  get bytes(): number {
    return this.arena.length + this.at.length * 12;
  }

  /** Adds an entry; the key must not be in the table (the diff sees each key once per side). */
  set(key: string, hash: string, payload: string | null): void {
    if ((this.live + this.tombstones + 1) * 2 > this.at.length) this.rehash(this.live * 4 > this.at.length ? this.at.length * 2 : this.at.length);
    const hi = fingerprint(key);
    const lo = fingerprintLo;
    const offset = this.append(key, hash, payload, hi, lo);
    const mask = this.at.length - 1;
    let i = slotOf(hi, lo, mask);
    while (this.at[i]! < DELETED) i = (i + 1) & mask;
    if (this.at[i] === DELETED) this.tombstones--;
    this.fpHi[i] = hi;
    this.fpLo[i] = lo;
    this.at[i] = offset;
    this.live++;
  }

  /** Removes and returns the entry of this key, if any. */
  take(key: string): WaitingEntry | undefined {
    const i = this.find(key);
    if (i < 0) return undefined;
    const entry = this.read(this.at[i]!, key);
    this.remove(i);
    return entry;
  }

  /** Removes the entry of this key, if any: SAME_HASH when its hash is `hash` (compared in
   *  place, so a match makes no string and no object), else the entry. */
  takeUnlessSame(key: string, hash: string): WaitingEntry | typeof SAME_HASH | undefined {
    const i = this.find(key);
    if (i < 0) return undefined;
    const offset = this.at[i]!;
    const a = this.arena;
    const keyBytes = a.readUInt32LE(offset);
    const hashBytes = a.readUInt32LE(offset + 4);
    // find() left the key's bytes at the start of scratch; the hash goes after them.
    if (keyBytes + hash.length * 3 > scratch.length) {
      const longer = Buffer.allocUnsafe(keyBytes + hash.length * 3);
      scratch.copy(longer, 0, 0, keyBytes);
      scratch = longer;
    }
    const at = offset + HEADER + keyBytes;
    const same = scratch.write(hash, keyBytes, 'utf8') === hashBytes && a.compare(scratch, keyBytes, keyBytes + hashBytes, at, at + hashBytes) === 0;
    const entry = same ? SAME_HASH : this.read(offset, key);
    this.remove(i);
    return entry;
  }

  /** The slot of this key's entry, or -1; the key's UTF-8 bytes are left at the start of scratch. */
  private find(key: string): number {
    if (this.live === 0) return -1;
    const hi = fingerprint(key);
    const lo = fingerprintLo;
    const mask = this.at.length - 1;
    let written = -1;
    for (let i = slotOf(hi, lo, mask); this.at[i] !== EMPTY; i = (i + 1) & mask) {
      const offset = this.at[i]!;
      if (offset === DELETED || this.fpHi[i] !== hi || this.fpLo[i] !== lo) continue;
      // The key's bytes compared in place: no string is made for the key the caller holds.
      const keyBytes = this.arena.readUInt32LE(offset);
      if (written < 0) {
        // Room for the whole key (3 bytes per UTF-16 unit at most): a write is never cut short.
        if (key.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(key.length * 3);
        written = scratch.write(key, 0, 'utf8');
      }
      if (written === keyBytes && this.arena.compare(scratch, 0, keyBytes, offset + HEADER, offset + HEADER + keyBytes) === 0) return i;
    }
    return -1;
  }

  private remove(i: number): void {
    const offset = this.at[i]!;
    this.at[i] = DELETED;
    this.tombstones++;
    this.live--;
    this.deadBytes += this.entryBytes(offset);
    this.arena.writeUInt32LE(this.arena.readUInt32LE(offset) + DEAD, offset);
    // Reclaim the arena once most of it holds matched entries.
    if (this.deadBytes > (1 << 20) && this.deadBytes * 2 > this.end) this.rehash(this.at.length);
  }

  /** Every entry still waiting, then the table is empty (and its spill file gone). */
  *drain(): Generator<WaitingEntry> {
    if (this.spill) {
      // In the file's order, read in large pieces: what is left at the end may be everything.
      const offsets: number[] = [];
      for (let i = 0; i < this.at.length; i++) if (this.at[i]! < DELETED) offsets.push(this.at[i]!);
      const spilled = offsets.filter((o) => this.arena.readDoubleLE(o + 12) >= 0).sort((a, b) => this.arena.readDoubleLE(a + 12) - this.arena.readDoubleLE(b + 12));
      for (const o of offsets) if (this.arena.readDoubleLE(o + 12) < 0) yield this.read(o);
      const texts = this.spill.readSorted(spilled.map((o) => ({ at: this.arena.readDoubleLE(o + 12), bytes: this.arena.readUInt32LE(o + 8) })));
      for (const o of spilled) yield { ...this.keyAndHash(o), payload: texts.next().value as string };
      this.spill.close();
      spills.unregister(this);
      this.spill = null;
    } else {
      for (let i = 0; i < this.at.length; i++) {
        const offset = this.at[i]!;
        if (offset < DELETED) yield this.read(offset);
      }
    }
    this.at.fill(EMPTY);
    this.live = 0;
    this.tombstones = 0;
    this.end = 0;
    this.deadBytes = 0;
  }

  private append(key: string, hash: string, payload: string | null, hi: number, lo: number): number {
    const keyBytes = Buffer.byteLength(key);
    const hashBytes = Buffer.byteLength(hash);
    let spilled: { at: number; bytes: number } | null = null;
    if (payload !== null && this.spills) {
      if (!this.spill) {
        this.spill = new PayloadSpill();
        spills.register(this, this.spill, this);
      }
      spilled = this.spill.append(payload);
    }
    const payloadBytes = payload === null || spilled ? 0 : Buffer.byteLength(payload);
    const need = HEADER + keyBytes + hashBytes + payloadBytes;
    // Full: taken entries are reclaimed in place first, if they are a quarter of it.
    if (this.end + need > this.arena.length && this.deadBytes * 8 > this.end) this.rehash(this.at.length);
    if (this.end + need > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(Math.ceil(this.arena.length * 1.5), this.end + need));
      this.arena.copy(grown, 0, 0, this.end);
      this.arena = grown;
    }
    const offset = this.end;
    const a = this.arena;
    a.writeUInt32LE(keyBytes, offset);
    a.writeUInt32LE(hashBytes, offset + 4);
    a.writeUInt32LE(payload === null ? NO_PAYLOAD : spilled ? spilled.bytes : payloadBytes, offset + 8);
    a.writeDoubleLE(spilled ? spilled.at : -1, offset + 12);
    a.writeUInt32LE(hi, offset + 20);
    a.writeUInt32LE(lo, offset + 24);
    let p = offset + HEADER;
    p += a.write(key, p, 'utf8');
    p += a.write(hash, p, 'utf8');
    if (payload !== null && !spilled) p += a.write(payload, p, 'utf8');
    this.end = p;
    return offset;
  }

  private entryBytes(offset: number): number {
    return HEADER + this.arena.readUInt32LE(offset) + this.arena.readUInt32LE(offset + 4) + payloadLength(this.arena, offset);
  }

  private keyAndHash(offset: number): { key: string; hash: string } {
    const a = this.arena;
    const keyBytes = a.readUInt32LE(offset);
    const hashBytes = a.readUInt32LE(offset + 4);
    let p = offset + HEADER;
    const key = a.toString('utf8', p, (p += keyBytes));
    return { key, hash: a.toString('utf8', p, p + hashBytes) };
  }

  /** `knownKey`: the entry's key, when the caller has it already. */
  private read(offset: number, knownKey?: string): WaitingEntry {
    const a = this.arena;
    const key = knownKey ?? this.keyAndHash(offset).key;
    const keyBytes = a.readUInt32LE(offset);
    const hash = a.toString('utf8', offset + HEADER + keyBytes, offset + HEADER + keyBytes + a.readUInt32LE(offset + 4));
    const payloadBytes = a.readUInt32LE(offset + 8);
    if (payloadBytes === NO_PAYLOAD) return { key, hash, payload: null };
    const at = a.readDoubleLE(offset + 12);
    if (at >= 0) {
      // Read from the file only if the entry's fields are asked for (most matched ones never are).
      const spill = this.spill!;
      return {
        key,
        hash,
        get payload() {
          return spill.read(at, payloadBytes);
        },
      };
    }
    const p = offset + HEADER + a.readUInt32LE(offset) + a.readUInt32LE(offset + 4);
    return { key, hash, payload: a.toString('utf8', p, p + payloadBytes) };
  }

  /** Rebuilds the table at `capacity` slots from the arena, whose live entries move down over
   *  the taken ones in place: no second arena, new table arrays only when the size changes. */
  private rehash(capacity: number): void {
    if (capacity !== this.at.length) {
      this.fpHi = new Uint32Array(capacity);
      this.fpLo = new Uint32Array(capacity);
      this.at = new Uint32Array(capacity);
    }
    this.at.fill(EMPTY);
    const a = this.arena;
    const mask = capacity - 1;
    let write = 0;
    for (let read = 0; read < this.end; ) {
      const keyBytes = a.readUInt32LE(read);
      const dead = keyBytes >= DEAD;
      const length = HEADER + (dead ? keyBytes - DEAD : keyBytes) + a.readUInt32LE(read + 4) + payloadLength(a, read);
      if (!dead) {
        if (write !== read) a.copyWithin(write, read, read + length);
        const hi = a.readUInt32LE(write + 20);
        const lo = a.readUInt32LE(write + 24);
        let i = slotOf(hi, lo, mask);
        while (this.at[i] !== EMPTY) i = (i + 1) & mask;
        this.fpHi[i] = hi;
        this.fpLo[i] = lo;
        this.at[i] = write;
        write += length;
      }
      read += length;
    }
    this.end = write;
    this.deadBytes = 0;
    this.tombstones = 0;
  }
}

/** The payload's bytes in the arena (none when it is absent or in the spill file). */
function payloadLength(arena: Buffer, offset: number): number {
  const n = arena.readUInt32LE(offset + 8);
  return n === NO_PAYLOAD || arena.readDoubleLE(offset + 12) >= 0 ? 0 : n;
}

function slotOf(hi: number, lo: number, mask: number): number {
  return (hi ^ Math.imul(lo, 0x27d4eb2d)) & mask;
}

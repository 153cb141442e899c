// Records waiting for their counterpart in a hash join, kept outside the JavaScript heap: each
// entry (key, hash, and the fields as JSON, or none) is appended to a growing byte arena, and
// an open-addressing table of 64-bit key fingerprints points into it. Half a million waiting
// records then cost their bytes and 16 bytes of table, not a few hundred bytes of objects each
// that the garbage collector would carry into old space and sweep long after they are matched.
import { hash32 } from './keyset.js';

const EMPTY = -1;
const DELETED = -2;
/** Entry header: key length, hash length, payload length (NO_PAYLOAD when none), in bytes. */
const HEADER = 12;
const NO_PAYLOAD = 0xffffffff;

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
  private at: Float64Array;
  private arena: Buffer;
  private end = 0;
  private live = 0;
  private tombstones = 0;
  private deadBytes = 0;

  constructor(capacity = 1 << 12, arenaBytes = 1 << 20) {
    this.fpHi = new Uint32Array(capacity);
    this.fpLo = new Uint32Array(capacity);
    this.at = new Float64Array(capacity).fill(EMPTY);
    this.arena = Buffer.allocUnsafe(arenaBytes);
  }

  get size(): number {
    return this.live;
  }

  /** Bytes held outside the JavaScript heap (arena and table). */
  get bytes(): number {
    return this.arena.length + this.at.length * 16;
  }

  /** Adds an entry; the key must not be in the table (the diff sees each key once per side). */
  set(key: string, hash: string, payload: string | null): void {
    if ((this.live + this.tombstones + 1) * 2 > this.at.length) this.rehash(this.live * 4 > this.at.length ? this.at.length * 2 : this.at.length);
    const offset = this.append(key, hash, payload);
    const hi = hash32(key, 0x9747b28c);
    const lo = hash32(key, 0x5bd1e995);
    const mask = this.at.length - 1;
    let i = slotOf(hi, lo, mask);
    while (this.at[i]! >= 0) i = (i + 1) & mask;
    if (this.at[i] === DELETED) this.tombstones--;
    this.fpHi[i] = hi;
    this.fpLo[i] = lo;
    this.at[i] = offset;
    this.live++;
  }

  /** Removes and returns the entry of this key, if any. */
  take(key: string): WaitingEntry | undefined {
    if (this.live === 0) return undefined;
    const hi = hash32(key, 0x9747b28c);
    const lo = hash32(key, 0x5bd1e995);
    const mask = this.at.length - 1;
    for (let i = slotOf(hi, lo, mask); this.at[i] !== EMPTY; i = (i + 1) & mask) {
      const offset = this.at[i]!;
      if (offset < 0 || this.fpHi[i] !== hi || this.fpLo[i] !== lo) continue;
      const entry = this.read(offset);
      if (entry.key !== key) continue;
      this.at[i] = DELETED;
      this.tombstones++;
      this.live--;
      this.deadBytes += this.entryBytes(offset);
      // Reclaim the arena once most of it holds matched entries.
      if (this.deadBytes > (1 << 20) && this.deadBytes * 2 > this.end) this.rehash(this.at.length);
      return entry;
    }
    return undefined;
  }

  /** Every entry still waiting, then the table is empty. */
  *drain(): Generator<WaitingEntry> {
    for (let i = 0; i < this.at.length; i++) {
      const offset = this.at[i]!;
      if (offset >= 0) yield this.read(offset);
    }
    this.at.fill(EMPTY);
    this.live = 0;
    this.tombstones = 0;
    this.end = 0;
    this.deadBytes = 0;
  }

  private append(key: string, hash: string, payload: string | null): number {
    const keyBytes = Buffer.byteLength(key);
    const hashBytes = Buffer.byteLength(hash);
    const payloadBytes = payload === null ? 0 : Buffer.byteLength(payload);
    const need = HEADER + keyBytes + hashBytes + payloadBytes;
    if (this.end + need > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.end + need));
      this.arena.copy(grown, 0, 0, this.end);
      this.arena = grown;
    }
    const offset = this.end;
    const a = this.arena;
    a.writeUInt32LE(keyBytes, offset);
    a.writeUInt32LE(hashBytes, offset + 4);
    a.writeUInt32LE(payload === null ? NO_PAYLOAD : payloadBytes, offset + 8);
    let p = offset + HEADER;
    p += a.write(key, p, 'utf8');
    p += a.write(hash, p, 'utf8');
    if (payload !== null) p += a.write(payload, p, 'utf8');
    this.end = p;
    return offset;
  }

  private entryBytes(offset: number): number {
    const payload = this.arena.readUInt32LE(offset + 8);
    return HEADER + this.arena.readUInt32LE(offset) + this.arena.readUInt32LE(offset + 4) + (payload === NO_PAYLOAD ? 0 : payload);
  }

  private read(offset: number): WaitingEntry {
    const a = this.arena;
    const keyBytes = a.readUInt32LE(offset);
    const hashBytes = a.readUInt32LE(offset + 4);
    const payloadBytes = a.readUInt32LE(offset + 8);
    let p = offset + HEADER;
    const key = a.toString('utf8', p, (p += keyBytes));
    const hash = a.toString('utf8', p, (p += hashBytes));
    const payload = payloadBytes === NO_PAYLOAD ? null : a.toString('utf8', p, p + payloadBytes);
    return { key, hash, payload };
  }

  /** Rebuilds the table at `capacity` slots and the arena with the live entries only. */
  private rehash(capacity: number): void {
    const old = { hi: this.fpHi, lo: this.fpLo, at: this.at, arena: this.arena };
    this.fpHi = new Uint32Array(capacity);
    this.fpLo = new Uint32Array(capacity);
    this.at = new Float64Array(capacity).fill(EMPTY);
    this.arena = Buffer.allocUnsafe(Math.max(1 << 20, (this.end - this.deadBytes) * 2));
    this.end = 0;
    this.deadBytes = 0;
    this.tombstones = 0;
    const mask = capacity - 1;
    for (let s = 0; s < old.at.length; s++) {
      const offset = old.at[s]!;
      if (offset < 0) continue;
      const length = HEADER + old.arena.readUInt32LE(offset) + old.arena.readUInt32LE(offset + 4) + payloadLength(old.arena, offset);
      old.arena.copy(this.arena, this.end, offset, offset + length);
      let i = slotOf(old.hi[s]!, old.lo[s]!, mask);
      while (this.at[i] !== EMPTY) i = (i + 1) & mask;
      this.fpHi[i] = old.hi[s]!;
      this.fpLo[i] = old.lo[s]!;
      this.at[i] = this.end;
      this.end += length;
    }
  }
}

function payloadLength(arena: Buffer, offset: number): number {
  const n = arena.readUInt32LE(offset + 8);
  return n === NO_PAYLOAD ? 0 : n;
}

function slotOf(hi: number, lo: number, mask: number): number {
  return (hi ^ Math.imul(lo, 0x27d4eb2d)) & mask;
}

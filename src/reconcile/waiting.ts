// Records waiting for their counterpart in a packed hash join. The key table that tells the
// diff whether a key is new (see KeyTable) holds, in the key's slot, the number of the record
// waiting under it; that number is a row of eight 32-bit numbers (the record's hash, and where
// its key and fields as text are in a temporary file, see spill.ts, or, for a record of a CSV
// side, its key there and its fields at their place in its file). So the probe that sees a
// key also finds its counterpart, and one more read tells whether their hashes agree: no
// second table to probe, rebuild or compact, and a waiting record costs 32 bytes of memory,
// however far apart the two sides' orders are. Its key and fields are read back only for the
// records that turn out changed, or wait to the end. Numbers of matched records are used
// again: the rows grow to the most records that waited at once.
import type { Span } from '../core/record.js';
import type { KeyTable } from './keyset.js';
import { PayloadSpill } from './spill.js';

/** What takeUnlessSame() returns when the waiting record has the same hash. */
export const SAME_HASH = Symbol('same hash');

/** What a slot keeps (KeyTable.waiting): the record's number plus one, shifted left by one,
 *  with ODD_HASH when the hash is not 16 lowercase hex digits and is kept as text. */
const ODD_HASH = 1;
/** Numbers of records waiting at once stay below this (the slot's word has 30 bits). */
const MOST_WAITING = 2 ** 29 - 1;
/** In a row's key length: the record came without fields. */
const NO_FIELDS = 0x80000000;
/** In a row's key length: the record's side can read it again from its place in its file. */
const PLACED = 0x40000000;
const KEY_LENGTH_BITS = 0x3fffffff;

const spills = new FinalizationRegistry<PayloadSpill>((spill) => spill.close());

export interface WaitingEntry {
  key: string;
  hash: string;
  /** The fields as payloadOf() wrote them, or null when they were not kept. */
  payload: string | null;
  /** Where the record is in its side's file, when its fields were left there (see put). */
  place?: Span;
}

/** Each UTF-16 code unit's value as a lowercase hex digit, or -1. */
const HEX = new Int8Array(65536).fill(-1);
for (let d = 0; d < 16; d++) HEX['0123456789abcdef'.charCodeAt(d)] = d;

/** The two 32-bit halves of a hash of 16 lowercase hex digits, text[start, end); false for
 *  any other text. */
let hashHi = 0;
let hashLo = 0;
function parseHash(text: string, start: number, end: number): boolean {
  if (end - start !== 16) return false;
  let hi = 0;
  let lo = 0;
  // Any digit that is not one makes `bad` negative.
  let bad = 0;
  for (let i = start; i < start + 8; i++) {
    const digit = HEX[text.charCodeAt(i)]!;
    bad |= digit;
    hi = (hi << 4) | digit;
  }
  for (let i = start + 8; i < end; i++) {
    const digit = HEX[text.charCodeAt(i)]!;
    bad |= digit;
    lo = (lo << 4) | digit;
  }
  if (bad < 0) return false;
  hashHi = hi >>> 0;
  hashLo = lo >>> 0;
  return true;
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/** A waiting record's row: its hash's two halves; where its key and fields are in the spill
 *  file and how many bytes; its key's length (with NO_FIELDS, PLACED); and for a placed
 *  record, where it is in its side's file and how many bytes. The high halves of both
 *  positions share a word (16 bits each: files up to 256 TB). Eight 32-bit numbers, aligned:
 *  a put or a match touches one cache line. */
const ROW = 8;
const HASH_HI = 0;
const HASH_LO = 1;
const AT_LO = 2;
const AT_HIS = 3;
const BYTES = 4;
const KEY_LENGTH = 5;
const PLACE_LO = 6;
const PLACE_BYTES = 7;
const TWO_32 = 0x100000000;

export class WaitingRecords {
  private rows = new Uint32Array(0);
  private readonly oddHashes = new Map<number, string>();
  /** Numbers given out and taken back, to give out again. */
  private readonly free: number[] = [];
  private next = 0;
  private readonly live = [0, 0, 0];
  private spill: PayloadSpill | null = null;

  constructor(private readonly keys: KeyTable) {}

  /** Records of the side (bit 1 or 2) waiting. */
  size(bit: number): number {
    return this.live[bit]!;
  }

  /** The spill file, while there is one (for tests). */
  get spillFile(): string | null {
    return this.spill?.file ?? null;
  }

  /** The rows, and the numbers in a row: for KeyTable.touch(). */
  get rowArray(): Uint32Array {
    return this.rows;
  }

  readonly rowWords = ROW;

  /** Bytes held in memory beside the key table (the rows). */
  get bytesHeld(): number {
    return this.rows.byteLength;
  }

  /** Puts a record of side `bit` (1 or 2) to wait in the key table's `slot`, which that side
   *  has just claimed (no claim since). With `at` (not -1), the record is `bytes` long from
   *  byte `at` of its side's file: its fields stay there, and only its key is written. */
  put(slot: number, bit: number, key: string, hash: string, payload: string | null, at = -1, bytes = 0): void {
    this.putFrom(slot, bit, key, 0, key.length, hash, 0, hash.length, payload, at, bytes);
  }

  /** put() of the key keyText[keyStart, keyEnd) and the hash hashText[hashStart, hashEnd), each
   *  read where it is (see PageColumns): no string is made for them. */
  putFrom(slot: number, bit: number, keyText: string, keyStart: number, keyEnd: number, hashText: string, hashStart: number, hashEnd: number, payload: string | null, at = -1, bytes = 0): void {
    const n = this.free.length ? this.free.pop()! : this.next++;
    if (n >= MOST_WAITING) throw new Error(`more than ${MOST_WAITING} records wait for their counterpart at once: sort both sides by the key`);
    if ((n + 1) * ROW > this.rows.length) this.grow();
    const rows = this.rows;
    const row = n * ROW;
    if (parseHash(hashText, hashStart, hashEnd)) {
      rows[row + HASH_HI] = hashHi;
      rows[row + HASH_LO] = hashLo;
      this.keys.setWaiting(slot, (n + 1) << 1);
    } else {
      this.oddHashes.set(n, hashText.slice(hashStart, hashEnd));
      this.keys.setWaiting(slot, ((n + 1) << 1) | ODD_HASH);
    }
    if (!this.spill) {
      this.spill = new PayloadSpill();
      spills.register(this, this.spill, this);
    }
    const spill = this.spill;
    // Key and fields follow each other in the file: one read gives both back.
    const spilled = spill.append(keyText, keyStart, keyEnd);
    let spilledBytes = spill.appended;
    if (payload !== null) {
      spill.append(payload);
      spilledBytes += spill.appended;
    }
    const placeHi = at >= 0 ? Math.floor(at / TWO_32) : 0;
    if (placeHi > 0xffff || spilled >= 2 ** 48) throw new Error('a file of more than 256 TB cannot be compared in any order: sort both sides by the key');
    // `>>> 0` keeps the low 32 bits of a whole number below 2⁵³, as `% 2³²` would, without a division.
    rows[row + AT_LO] = spilled >>> 0;
    rows[row + AT_HIS] = Math.floor(spilled / TWO_32) | (placeHi << 16);
    rows[row + BYTES] = spilledBytes;
    const keyLength = keyEnd - keyStart;
    rows[row + KEY_LENGTH] = at >= 0 ? keyLength | NO_FIELDS | PLACED : payload === null ? keyLength | NO_FIELDS : keyLength;
    if (at >= 0) {
      rows[row + PLACE_LO] = at >>> 0;
      rows[row + PLACE_BYTES] = bytes;
    }
    this.live[bit]!++;
  }

  /**
   * Takes the other side's record waiting in the key table's `slot`, which side `bit` has just
   * claimed: undefined when none waits; SAME_HASH when its hash is `hash` (nothing is read
   * back); else the record, its fields read back only when asked for. A record waits under its
   * key's fingerprint: two keys with the same 64-bit fingerprint are taken as one, as the key
   * table does (about 3·10⁻⁸ for a million keys).
   */
  takeUnlessSame(slot: number, bit: number, key: string, hash: string): WaitingEntry | typeof SAME_HASH | undefined {
    const waiting = this.take(slot, bit);
    if (waiting === 0) return undefined;
    if (this.sameAs(waiting, hash, 0, hash.length)) return SAME_HASH;
    return this.entryOf(waiting, key);
  }

  /** takeUnlessSame() in three steps, for a caller that has its key and hash only as parts of
   *  longer texts (see PageColumns). First: takes what waits in `slot` (0: nothing waits). */
  take(slot: number, bit: number): number {
    const waiting = this.keys.waiting(slot);
    if (waiting === 0) return 0;
    this.keys.setWaiting(slot, 0);
    this.live[3 - bit]!--;
    return waiting;
  }

  /** Then: whether the record take() gave has the hash text[start, end); if so, it is gone. */
  sameAs(waiting: number, text: string, start: number, end: number): boolean {
    const n = (waiting >>> 1) - 1;
    const odd = (waiting & ODD_HASH) !== 0;
    const row = n * ROW;
    if (odd ? this.oddHashes.get(n) === text.slice(start, end) : parseHash(text, start, end) && hashHi === this.rows[row + HASH_HI] && hashLo === this.rows[row + HASH_LO]) {
      this.release(n, odd);
      return true;
    }
    return false;
  }

  /** Else: the record take() gave, under its `key`, its fields read back only when asked for. */
  entryOf(waiting: number, key: string): WaitingEntry {
    const n = (waiting >>> 1) - 1;
    const odd = (waiting & ODD_HASH) !== 0;
    const entry = this.entry(n, key, this.hashOf(n, odd));
    this.release(n, odd);
    return entry;
  }

  /** Every record of the side (bit 1 or 2) still waiting, in the file's order. The diff adds
   *  nothing after a drain; once both sides are drained, the file is gone. */
  *drain(bit: number): Generator<WaitingEntry> {
    const keys = this.keys;
    const found: { n: number; hash: string; at: number }[] = [];
    for (let slot = 0; slot < keys.slotCount; slot++) {
      const waiting = keys.waiting(slot);
      if (waiting === 0 || keys.sides(slot) !== bit) continue;
      keys.setWaiting(slot, 0);
      const n = (waiting >>> 1) - 1;
      const odd = (waiting & ODD_HASH) !== 0;
      found.push({ n, hash: this.hashOf(n, odd), at: this.at(n) });
      if (odd) this.oddHashes.delete(n);
    }
    found.sort((a, b) => a.at - b.at);
    this.live[bit] = 0;
    if (found.length) {
      const texts = this.spill!.readSorted(found.map(({ n, at }) => ({ at, bytes: this.rows[n * ROW + BYTES]! })));
      for (const { n, hash } of found) {
        const text = texts.next().value as string;
        const length = this.rows[n * ROW + KEY_LENGTH]!;
        const key = text.slice(0, length & KEY_LENGTH_BITS);
        yield length & PLACED ? this.placed(n, key, hash) : length & NO_FIELDS ? { key, hash, payload: null } : { key, hash, payload: text.slice(length) };
      }
    }
    if (this.live[1] === 0 && this.live[2] === 0) this.close();
  }

  /** Removes the spill file. */
  close(): void {
    if (!this.spill) return;
    this.spill.close();
    spills.unregister(this);
    this.spill = null;
  }

  private at(n: number): number {
    return (this.rows[n * ROW + AT_HIS]! & 0xffff) * TWO_32 + this.rows[n * ROW + AT_LO]!;
  }

  private hashOf(n: number, odd: boolean): string {
    return odd ? this.oddHashes.get(n)! : hex8(this.rows[n * ROW + HASH_HI]!) + hex8(this.rows[n * ROW + HASH_LO]!);
  }

  private entry(n: number, key: string, hash: string): WaitingEntry {
    const length = this.rows[n * ROW + KEY_LENGTH]!;
    if (length & PLACED) return this.placed(n, key, hash);
    if (length & NO_FIELDS) return { key, hash, payload: null };
    const spill = this.spill!;
    const at = this.at(n);
    const bytes = this.rows[n * ROW + BYTES]!;
    // Read from the file only if the record's fields are asked for.
    return {
      key,
      hash,
      get payload() {
        return spill.read(at, bytes).slice(length);
      },
    };
  }

  private placed(n: number, key: string, hash: string): WaitingEntry {
    const row = n * ROW;
    return { key, hash, payload: null, place: { at: (this.rows[row + AT_HIS]! >>> 16) * TWO_32 + this.rows[row + PLACE_LO]!, bytes: this.rows[row + PLACE_BYTES]! } };
  }

  private release(n: number, odd: boolean): void {
    if (odd) this.oddHashes.delete(n);
    this.free.push(n);
  }

  private grow(): void {
    const rows = new Uint32Array(Math.max(ROW << 12, this.rows.length * 2));
    rows.set(this.rows);
    this.rows = rows;
  }
}

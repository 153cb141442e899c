// Compares two streams of normalized records by key and content hash. Pure: no I/O.
// The streams may arrive interleaved in any order (a symmetric hash join): only records
// not yet matched by the other side are held, plus a fingerprint of every key seen per
// side. When both sides arrive in the same key order and neither runs far ahead (the run
// keeps them in step), the unmatched records stay few: a merge in bounded memory.
import type { NormalizedRecord, Page } from '../core/record.js';
import { detached } from '../core/text.js';
import { changedFields } from './fields.js';
import { BIT, JoinState } from './join-state.js';
import { fingerprint, fingerprintLo, fingerprintOf } from './keyset.js';
import { longLived, payloadOf, placedRecord, unpacked } from './stripped.js';
import type { Side } from './types.js';
import { SAME_HASH, WaitingRecords, type WaitingEntry } from './waiting.js';

export type * from './types.js';
export { changedFields } from './fields.js';
export { isStripped, placeOf, refill, strippedNeeds, type FieldNeeds } from './stripped.js';

/** Semantics, which the reference test restates: per side, the first record with a key takes
 *  part in the comparison; each later record with the same key counts once in `duplicates`
 *  and is otherwise ignored. A record with an invalid key never enters (see `invalid`). */
export class DiffBuilder extends JoinState {
  /** `at` and `bytes`: where the record is in its file, when its side can read it again from
   *  there alone (-1: it cannot). A packed record then keeps that in place of its fields,
   *  unless all this side's unmatched records will want theirs (a push, an export): reading
   *  most of a file again by places costs more than keeping them. `hi`, `lo`: the key's
   *  fingerprint, when the caller has it (see addPage); -1: it is computed here. */
  add(side: Side, record: NormalizedRecord, at = -1, bytes = 0, hi = -1, lo = 0): void {
    this.read[side]++;
    if (this.keepResolved[side]) at = -1;
    // Packed: the key's slot in the key table, which also tells where its counterpart waits.
    const slot = this.packed ? this.seen[side].claim(record.key, hi, lo) : this.seen[side].add(record.key) ? 0 : -1;
    if (slot < 0) return this.repeat(side, record.key);
    const other: Side = side === 'source' ? 'target' : 'source';
    let counterpart: NormalizedRecord | WaitingEntry | typeof SAME_HASH | undefined;
    if (this.packed) counterpart = this.packed.takeUnlessSame(slot, BIT[side], record.key, record.hash);
    else {
      if (this.inOrder.ordered) counterpart = this.inOrder.take(side, other, record.key);
      // A key out of order ends the ordered mode: then the counterpart is looked for in the Maps.
      if (!this.inOrder.ordered) {
        counterpart = this.pending[other].get(record.key);
        if (counterpart) this.pending[other].delete(record.key);
      }
    }
    if (counterpart === SAME_HASH) {
      this.matched++;
      this.index?.push([record.key, record.hash, record.hash]);
      return;
    }
    if (counterpart === undefined) {
      if (this.done[other] && !this.keepResolved[side]) {
        // Missing or extra for certain: nothing will look it up, so no map entry, no object.
        this.resolve(side, record.key, record.hash);
        return;
      }
      // Packed, every waiting record is in the packed store.
      const waiting = (this.packed ? this.packed.size(1) + this.packed.size(2) : this.pendingCount('source') + this.pendingCount('target')) + 1;
      if (this.packed) this.packed.put(slot, BIT[side], record.key, record.hash, at < 0 ? payloadOf(record) : null, at, bytes);
      else if (waiting > this.compactAbove) {
        this.packAll();
        this.packed!.put(this.seen[side].slotOf(record.key), BIT[side], record.key, record.hash, at < 0 ? payloadOf(record) : null, at, bytes);
      } else if (this.inOrder.ordered) this.inOrder.push(side, record);
      else this.pending[side].set(record.key, longLived(record));
      if (waiting > this.maxPending) this.maxPending = waiting;
      return;
    }
    this.meet(side, record, counterpart);
  }

  /** The record has met its counterpart (the other side's record with its key). */
  private meet(side: Side, record: NormalizedRecord, counterpart: NormalizedRecord | WaitingEntry): void {
    if (counterpart.hash === record.hash) {
      this.matched++;
      this.index?.push([record.key, record.hash, record.hash]);
      return;
    }
    if (!('fields' in counterpart)) counterpart = unpacked(counterpart);
    const [source, target] = side === 'source' ? [record, counterpart] : [counterpart, record];
    if (this.tolerance && Object.keys(changedFields({ key: record.key, source, target }, this.tolerance.fields, this.tolerance.tolerances).fields).length === 0) {
      this.matched++;
      this.tolerated++;
      // Equal within tolerance: the index records them as equal, so later runs agree.
      this.index?.push([record.key, source.hash, source.hash]);
      return;
    }
    this.index?.push([record.key, source.hash, target.hash]);
    // Kept to the end: from text columns, copies, which keep no page's text alive (see longLived).
    if (this.columned) this.changed.push({ key: detached(record.key), source: longLived(source), target: longLived(target) });
    else this.changed.push({ key: record.key, source, target });
  }

  /** The fingerprints of a page's keys (hi, lo pairs), while addPage() works through it. */
  private prints = new Uint32Array(0);
  /** What the last KeyTable.touch() read: kept, so that its loads are not left out. */
  private touched = 0;
  /**
   * add() of each record of a page, with Page.spans. Once the join is packed (the sides came
   * in different orders), the keys' fingerprints are computed first and their slots in the
   * key table, and the rows of the records waiting there, read in one pass (KeyTable.touch):
   * the page's cache misses then overlap instead of coming one record at a time (two
   * shuffled 1,000,000-row CSVs: about 7% faster, bench/README). A page with text columns
   * (Page.columns) then gives most records without a string or an object made for them: a key
   * is read where it is in the page's text, written to the spill file from there if its
   * record waits, and cut out only if it turns out changed, repeated or missing.
   */
  addPage(side: Side, page: Page, spans?: readonly number[]): void {
    const columns = page.columns;
    if (columns) this.columned = true;
    if (this.packed === null) {
      const records = page.records;
      for (let i = 0; i < records.length; i++) this.add(side, records[i]!, spans ? spans[2 * i]! : -1, spans ? spans[2 * i + 1]! : 0);
      return;
    }
    const n = columns ? columns.keyEnds.length : page.records.length;
    if (this.prints.length < 2 * n) this.prints = new Uint32Array(2 * n);
    const prints = this.prints;
    for (let i = 0; i < n; i++) {
      prints[2 * i] = columns ? fingerprintOf(columns.keyText, i ? columns.keyEnds[i - 1]! : 0, columns.keyEnds[i]!) : fingerprint(page.records[i]!.key);
      prints[2 * i + 1] = fingerprintLo;
    }
    this.touched ^= this.keys.touch(prints, n, this.packed.rowArray, this.packed.rowWords);
    if (!columns) {
      const records = page.records;
      for (let i = 0; i < n; i++) this.add(side, records[i]!, spans ? spans[2 * i]! : -1, spans ? spans[2 * i + 1]! : 0, prints[2 * i]!, prints[2 * i + 1]!);
      return;
    }
    const { keyText, keyEnds, hashText, hashEnds, whole } = columns;
    const packed = this.packed;
    const bit = BIT[side];
    const other: Side = side === 'source' ? 'target' : 'source';
    for (let i = 0, w = 0; i < n; i++) {
      const at = spans ? spans[2 * i]! : -1;
      const bytes = spans ? spans[2 * i + 1]! : 0;
      // A record that kept its fields goes the way of every record.
      if (whole[w] === i) {
        w++;
        this.add(side, page.records[i]!, at, bytes, prints[2 * i]!, prints[2 * i + 1]!);
        continue;
      }
      this.read[side]++;
      const keyStart = i ? keyEnds[i - 1]! : 0;
      const hashStart = i ? hashEnds[i - 1]! : 0;
      const slot = this.seen[side].claim('', prints[2 * i]!, prints[2 * i + 1]!);
      if (slot < 0) {
        this.repeat(side, keyText.slice(keyStart, keyEnds[i]));
        continue;
      }
      const waiting = packed.take(slot, bit);
      if (waiting !== 0) {
        if (packed.sameAs(waiting, hashText, hashStart, hashEnds[i]!)) {
          this.matched++;
          if (this.index) {
            const hash = hashText.slice(hashStart, hashEnds[i]);
            this.index.push([keyText.slice(keyStart, keyEnds[i]), hash, hash]);
          }
          continue;
        }
        const key = keyText.slice(keyStart, keyEnds[i]);
        this.meet(side, placedRecord(key, hashText.slice(hashStart, hashEnds[i]), at, bytes), packed.entryOf(waiting, key));
        continue;
      }
      if (this.done[other] && !this.keepResolved[side]) {
        this.resolve(side, keyText.slice(keyStart, keyEnds[i]), hashText.slice(hashStart, hashEnds[i]));
        continue;
      }
      // A placed record keeps its place, not its fields (see add).
      packed.putFrom(slot, bit, keyText, keyStart, keyEnds[i]!, hashText, hashStart, hashEnds[i]!, null, this.keepResolved[side] ? -1 : at, bytes);
      const count = packed.size(1) + packed.size(2);
      if (count > this.maxPending) this.maxPending = count;
    }
  }

  /** Moves every waiting record into the packed store; from now on new ones go there too. */
  private packAll(): void {
    this.inOrder.leave();
    const packed = new WaitingRecords(this.keys);
    for (const side of ['source', 'target'] as const) {
      // The waiting records' keys and fields go to a temporary file: memory keeps hashes.
      for (const r of this.pending[side].values()) packed.put(this.seen[side].slotOf(r.key), BIT[side], r.key, r.hash, payloadOf(r));
      this.pending[side].clear();
    }
    this.packed = packed;
  }

}

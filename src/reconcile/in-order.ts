// The waiting records of a join while each side's keys arrive in ascending order (as keyset
// pages and most APIs give them): they queue in arrival order instead of entering a Map. A
// record meets its counterpart at the head of the other side's queue, and heads the other side
// has passed (it will not show those keys while it stays in order) move to that side's Map.
// The first key out of order on either side moves every queued record to the Maps, for good.
import type { NormalizedRecord } from '../core/record.js';
import { longLived } from './stripped.js';
import type { Side } from './types.js';

export class InOrderQueues {
  /** False once a key came out of order: the Maps hold every waiting record from then on. */
  ordered = true;
  private readonly lastKey: Record<Side, string | null> = { source: null, target: null };
  private readonly queue: Record<Side, (NormalizedRecord | undefined)[]> = { source: [], target: [] };
  private readonly head: Record<Side, number> = { source: 0, target: 0 };

  /** The Maps of the records waiting out of order, by side. */
  constructor(private readonly pending: Record<Side, Map<string, NormalizedRecord>>) {}

  /** Records of the side queued. */
  count(side: Side): number {
    return this.queue[side].length - this.head[side];
  }

  /** Queues a record of the side that found no counterpart. */
  push(side: Side, record: NormalizedRecord): void {
    this.queue[side].push(record);
  }

  /** The other side's queued record with this key, if any. A key out of order ends the
   *  ordered mode (and the caller looks in the Maps). */
  take(side: Side, other: Side, key: string): NormalizedRecord | undefined {
    const last = this.lastKey[side];
    if (last !== null && !(key > last)) {
      this.leave();
      return undefined;
    }
    this.lastKey[side] = key;
    const queue = this.queue[other];
    let head = this.head[other];
    let found: NormalizedRecord | undefined;
    for (; head < queue.length; head++) {
      const r = queue[head]!;
      if (r.key > key) break;
      queue[head] = undefined;
      if (r.key === key) {
        found = r;
        head++;
        break;
      }
      this.pending[other].set(r.key, longLived(r));
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.head[other] = head;
    return found;
  }

  /** Leaves the ordered mode: every queued record moves to its side's Map. */
  leave(): void {
    this.ordered = false;
    for (const side of ['source', 'target'] as const) {
      const queue = this.queue[side];
      for (let i = this.head[side]; i < queue.length; i++) this.pending[side].set(queue[i]!.key, longLived(queue[i]!));
      this.queue[side] = [];
      this.head[side] = 0;
    }
  }

  /** The side's queued records, taken out of the queue. */
  *drain(side: Side): Generator<NormalizedRecord> {
    const queue = this.queue[side];
    for (let i = this.head[side]; i < queue.length; i++) yield queue[i]!;
    this.queue[side] = [];
    this.head[side] = 0;
  }
}

// The second read of an entity's side: for the fields of the records that waited as key and
// hash only, but that a report sample or a push needs. Records whose side can read them from
// their place in its file (a CSV line) are read from there alone; the rest, if any are left,
// by reading the side again until the last one is found.
import type { Collector, ReadOptions } from '../collectors/index.js';
import type { NormalizedRecord, Page, Span } from '../core/record.js';
import { eventLoopTurns } from '../core/yield.js';
import { placeOf, refill } from '../reconcile/diff.js';

export interface SideToReadAgain {
  collector: Collector;
  options: ReadOptions;
  /** What the pages of a full read pass through before they are used (attachments). */
  through: (pages: AsyncIterable<Page>) => AsyncIterable<Page>;
}

/** Puts back the fields of the records in `waiting` (by key; each found is removed). Returns
 *  how many were read from their places and how many by reading the side in full. */
export async function readAgain(waiting: Map<string, NormalizedRecord[]>, side: SideToReadAgain): Promise<{ byPlace: number; inFull: number }> {
  const turn = eventLoopTurns();
  const count = waiting.size;
  const spans: Span[] = [];
  for (const list of waiting.values()) {
    const place = placeOf(list[0]!);
    if (place) spans.push(place);
  }
  if (spans.length && side.collector.readAt) {
    spans.sort((a, b) => a.at - b.at);
    for await (const page of side.collector.readAt(side.options, spans)) {
      for (const record of page.records) {
        // Only the record the first read saw: if the file changed since, the full read finds it.
        if (waiting.get(record.key)?.[0]!.hash === record.hash) refill(waiting, record);
      }
      await turn();
    }
  }
  const byPlace = count - waiting.size;
  if (waiting.size === 0) return { byPlace, inFull: 0 };
  for await (const page of side.through(side.collector.read(side.options))) {
    for (const record of page.records) refill(waiting, record);
    if (waiting.size === 0) break;
    await turn();
  }
  return { byPlace, inFull: count - byPlace - waiting.size };
}

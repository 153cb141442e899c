// The closed loop after a push: the target read again, each delivered key checked. An
// upserted record must show the pushed content (within the entity's tolerances); a deleted
// one must be gone from what the target lists.
import type { NormalizedRecord, Page } from '../core/record.js';
import { changedFields } from './diff.js';

export interface Delivery {
  /** Each key the target should now hold: the hash it should show, or null (deleted). */
  delivered: ReadonlyMap<string, string | null>;
  /** The records sent, by key, to compare field by field when the hash differs (tolerances). */
  sent: ReadonlyMap<string, NormalizedRecord>;
  compareFields: string[];
  tolerances: Record<string, number>;
}

export interface Verification {
  verified: number;
  /** Keys whose target still differs from what was pushed, sorted. */
  stillDiffer: string[];
}

export async function verifyDelivery(pages: AsyncIterable<Page>, d: Delivery, afterPage?: () => Promise<void> | undefined): Promise<Verification> {
  const differ: string[] = [];
  const seen = new Set<string>();
  let verified = 0;
  for await (const page of pages) {
    for (const record of page.records) {
      if (!d.delivered.has(record.key) || seen.has(record.key)) continue;
      seen.add(record.key);
      const hash = d.delivered.get(record.key)!;
      const sent = d.sent.get(record.key);
      const same =
        hash !== null &&
        (record.hash === hash || (sent !== undefined && Object.keys(changedFields({ key: record.key, source: sent, target: record }, d.compareFields, d.tolerances).fields).length === 0));
      if (same) verified++;
      else differ.push(record.key);
    }
    await afterPage?.();
  }
  for (const [key, hash] of d.delivered) {
    if (seen.has(key)) continue;
    if (hash === null) verified++;
    else differ.push(key);
  }
  return { verified, stillDiffer: differ.sort() };
}

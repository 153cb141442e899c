// Builds the batches of a push: stable order, a key made from their content, so the same
// batch always carries the same Idempotency-Key and the same local IDs.
import { createHash, randomUUID } from 'node:crypto';
import type { OutboxBatch, PushRecord } from './types.js';

/**
 * hex SHA-256 of the entity, the batch's ID and its (localId, op, hash) list. The key is frozen
 * with the batch in the outbox, so every re-send of the batch carries it. The batch ID is part
 * of it so that the same content pushed again by a later run (the target was edited back in
 * between) is a new request the receiver applies, not a replay it answers from memory.
 */
export function idempotencyKey(entity: string, batchId: string, records: readonly PushRecord[]): string {
  const parts = records.map((r) => [r.localId, r.op, r.hash ?? null]);
  return createHash('sha256').update(JSON.stringify([entity, batchId, parts])).digest('hex');
}

export function makeBatches(entity: string, system: string, records: readonly PushRecord[], batchSize: number): OutboxBatch[] {
  const sorted = [...records].sort((a, b) => (a.localId < b.localId ? -1 : a.localId > b.localId ? 1 : a.op < b.op ? -1 : 1));
  const batches: OutboxBatch[] = [];
  for (let i = 0; i < sorted.length; i += batchSize) {
    const chunk = sorted.slice(i, i + batchSize);
    const batchId = randomUUID();
    batches.push({
      batchId,
      entity,
      system,
      idempotencyKey: idempotencyKey(entity, batchId, chunk),
      payload: JSON.stringify({ entity, batchId, records: chunk }),
      records: chunk.length,
      attempts: 0,
      notBefore: null,
    });
  }
  return batches;
}

/** Puts a record's fields under the target's names (dotted names become nested objects). */
export function targetData(fields: Record<string, unknown>, mapping: readonly { name: string; from: string }[] | null, omit: readonly string[] = []): Record<string, unknown> {
  if (!mapping) {
    const out = { ...fields };
    // Attachments go as files (the uploader), not in the record; nor does what was read for them.
    for (const name of Object.keys(out)) if (omit.includes(name) || name.includes('\u0000')) delete out[name];
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const m of mapping) {
    if (omit.includes(m.name)) continue;
    const value = fields[m.name] instanceof Date ? (fields[m.name] as Date).toISOString() : fields[m.name];
    const parts = m.from.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return out;
}

// Watermarks: where an incremental read of each entity's side starts.
import { upsert, type StateDb } from './db.js';

/** The watermark an incremental read of this side starts after, or null. */
export async function getWatermark(db: StateDb, entity: string, side: 'source' | 'target'): Promise<string | null> {
  const [row] = await db.all<{ value: string }>('SELECT "value" FROM "parity_watermarks" WHERE "entity" = ? AND "side" = ?', [entity, side]);
  return row ? row.value : null;
}

/** Stores the watermarks of a completed run, all or none. */
export async function saveWatermarks(db: StateDb, runId: string, entries: { entity: string; side: 'source' | 'target'; value: string }[]): Promise<void> {
  if (entries.length === 0) return;
  const now = new Date();
  await db.transaction((tx) =>
    upsert(tx, 'parity_watermarks', ['entity', 'side', 'value', 'run_id', 'updated_at'], ['entity', 'side'], ['value', 'run_id', 'updated_at'], entries.map((e) => [e.entity, e.side, e.value, runId, now])),
  );
}

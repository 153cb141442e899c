// Watermarks: where an incremental read of each entity's side starts.
import type { StoreModels } from './models.js';

/** The watermark an incremental read of this side starts after, or null. */
export async function getWatermark(m: StoreModels, entity: string, side: 'source' | 'target'): Promise<string | null> {
  const row = await m.watermarks.findOne({ where: { entity, side } });
  return row ? (row.get('value') as string) : null;
}

/** Stores the watermarks of a completed run, all or none. */
export async function saveWatermarks(m: StoreModels, runId: string, entries: { entity: string; side: 'source' | 'target'; value: string }[]): Promise<void> {
  if (entries.length === 0) return;
  const now = new Date();
  await m.sequelize.transaction(async (transaction) => {
    await m.watermarks.bulkCreate(
      entries.map((e) => ({ entity: e.entity, side: e.side, value: e.value, run_id: runId, updated_at: now })),
      { updateOnDuplicate: ['value', 'run_id', 'updated_at'], transaction },
    );
  });
}

// The key index: each key's last seen hash per side and the counts they make, so that an
// incremental run reports the whole entity.
import { QueryTypes } from 'sequelize';
import type { StoreModels } from './models.js';

/** [key, source hash, target hash]; null where the key is absent on that side. */
export type IndexRow = [string, string | null, string | null];

/** Rows per INSERT: 5 columns each, well below SQLite's variable limit. */
export const INDEX_CHUNK = 2000;

type State = 0 | 1 | 2 | 3;
interface IndexCounts {
  matched: number;
  missing: number;
  extra: number;
  changed: number;
}
const STATE_NAMES = ['matched', 'missing', 'extra', 'changed'] as const;

/** 0 matched, 1 missing in the target, 2 extra in the target, 3 changed. */
function stateOf(source: string | null, target: string | null): State {
  if (target === null) return 1;
  if (source === null) return 2;
  return source === target ? 0 : 3;
}

export async function hasKeyIndex(m: StoreModels, entity: string): Promise<boolean> {
  return (await m.keyCounts.findByPk(entity)) !== null;
}

/** Replaces an entity's index (after a full run), in chunks inside one transaction. */
export async function replaceKeyIndex(m: StoreModels, entity: string, rows: readonly IndexRow[]): Promise<void> {
  const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
  await m.sequelize.transaction(async (transaction) => {
    await m.keyIndex.destroy({ where: { entity }, transaction });
    // Plain multi-row INSERTs: no model instances for a million rows.
    const qi = m.sequelize.getQueryInterface();
    for (let i = 0; i < rows.length; i += INDEX_CHUNK) {
      const chunk = rows.slice(i, i + INDEX_CHUNK).map(([key, s, t]) => {
        const state = stateOf(s, t);
        counts[STATE_NAMES[state]]++;
        return { entity, key, source_hash: s, target_hash: t, state };
      });
      await qi.bulkInsert('parity_key_index', chunk, { transaction });
    }
    await m.keyCounts.upsert({ entity, ...counts }, { transaction });
  });
}

/**
 * Records what an incremental run read: each side's keys and hashes. A side read since its
 * watermark updates its keys, and the counts change by the difference (the work grows with
 * the changes, not with the entity). A side read in full (`complete`) replaces its keys, so
 * a key it no longer shows is gone from it; the counts are then taken anew.
 */
export async function applyToKeyIndex(m: StoreModels, entity: string, read: Record<'source' | 'target', ReadonlyMap<string, string>>, complete: Record<'source' | 'target', boolean>): Promise<void> {
  await m.sequelize.transaction(async (transaction) => {
    if (complete.source || complete.target) {
      for (const side of ['source', 'target'] as const) {
        const column = side === 'source' ? 'source_hash' : 'target_hash';
        if (complete[side]) await m.keyIndex.update({ [column]: null }, { where: { entity }, transaction });
        const entries = [...read[side]];
        for (let i = 0; i < entries.length; i += INDEX_CHUNK) {
          const chunk = entries.slice(i, i + INDEX_CHUNK).map(([key, hash]) => ({ entity, key, [column]: hash, state: 0 }));
          await m.keyIndex.bulkCreate(chunk, { updateOnDuplicate: [column], transaction });
        }
      }
      await m.keyIndex.destroy({ where: { entity, source_hash: null, target_hash: null }, transaction });
      await m.sequelize.query(
        `UPDATE parity_key_index SET state = CASE
           WHEN target_hash IS NULL THEN 1 WHEN source_hash IS NULL THEN 2 WHEN source_hash = target_hash THEN 0 ELSE 3 END
         WHERE entity = ?`,
        { replacements: [entity], transaction },
      );
      const rows = (await m.sequelize.query('SELECT state, COUNT(*) AS n FROM parity_key_index WHERE entity = ? GROUP BY state', {
        replacements: [entity],
        type: QueryTypes.SELECT,
        transaction,
      })) as { state: number | string; n: number | string }[];
      const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
      for (const r of rows) counts[STATE_NAMES[Number(r.state) as State]] = Number(r.n);
      await m.keyCounts.upsert({ entity, ...counts }, { transaction });
      return;
    }
    const touched = [...new Set([...read.source.keys(), ...read.target.keys()])];
    const counts = (await m.keyCounts.findByPk(entity, { transaction }))?.get({ plain: true }) as IndexCounts | undefined;
    const delta: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
    for (let i = 0; i < touched.length; i += INDEX_CHUNK) {
      const keys = touched.slice(i, i + INDEX_CHUNK);
      const old = new Map(
        (await m.keyIndex.findAll({ where: { entity, key: keys }, attributes: ['key', 'source_hash', 'target_hash', 'state'], transaction })).map((r) => [
          r.get('key') as string,
          { s: r.get('source_hash') as string | null, t: r.get('target_hash') as string | null, state: Number(r.get('state')) as State },
        ]),
      );
      const rows = keys.map((key) => {
        const before = old.get(key);
        const s = read.source.get(key) ?? before?.s ?? null;
        const t = read.target.get(key) ?? before?.t ?? null;
        const state = stateOf(s, t);
        if (before) delta[STATE_NAMES[before.state]]--;
        delta[STATE_NAMES[state]]++;
        return { entity, key, source_hash: s, target_hash: t, state };
      });
      await m.keyIndex.bulkCreate(rows, { updateOnDuplicate: ['source_hash', 'target_hash', 'state'], transaction });
    }
    const base = { matched: Number(counts?.matched ?? 0), missing: Number(counts?.missing ?? 0), extra: Number(counts?.extra ?? 0), changed: Number(counts?.changed ?? 0) };
    await m.keyCounts.upsert(
      { entity, matched: base.matched + delta.matched, missing: base.missing + delta.missing, extra: base.extra + delta.extra, changed: base.changed + delta.changed },
      { transaction },
    );
  });
}

/** The entity's counts from the index: what a full comparison would find now. */
export async function keyIndexCounts(m: StoreModels, entity: string): Promise<{ matched: number; missing: number; extra: number; changed: number; source: number; target: number }> {
  const row = (await m.keyCounts.findByPk(entity))?.get({ plain: true }) as IndexCounts | undefined;
  const c = { matched: Number(row?.matched ?? 0), missing: Number(row?.missing ?? 0), extra: Number(row?.extra ?? 0), changed: Number(row?.changed ?? 0) };
  return { ...c, source: c.matched + c.missing + c.changed, target: c.matched + c.extra + c.changed };
}

/** The first keys, in key order, of one kind of difference. */
export async function keyIndexSample(m: StoreModels, entity: string, kind: 'missing' | 'extra' | 'changed', limit: number): Promise<string[]> {
  const state = kind === 'missing' ? 1 : kind === 'extra' ? 2 : 3;
  const rows = await m.keyIndex.findAll({ where: { entity, state }, attributes: ['key'], order: [['key', 'ASC']], limit });
  return rows.map((r) => r.get('key') as string);
}

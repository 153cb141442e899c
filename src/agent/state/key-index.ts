// The key index: each key's last seen hash per side and the counts they make, so that an
// incremental run reports the whole entity.
import { insert, marks, upsert, type StateDb } from './db.js';

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

const COUNT_COLUMNS = ['entity', 'matched', 'missing', 'extra', 'changed'];
const INDEX_COLUMNS = ['entity', 'key', 'source_hash', 'target_hash', 'state'];

function saveCounts(db: StateDb, entity: string, c: IndexCounts): Promise<number> {
  return upsert(db, 'parity_key_counts', COUNT_COLUMNS, ['entity'], COUNT_COLUMNS.slice(1), [[entity, c.matched, c.missing, c.extra, c.changed]]);
}

async function loadCounts(db: StateDb, entity: string): Promise<IndexCounts | null> {
  const [row] = await db.all<Record<keyof IndexCounts, number | string>>('SELECT "matched", "missing", "extra", "changed" FROM "parity_key_counts" WHERE "entity" = ?', [entity]);
  return row ? { matched: Number(row.matched ?? 0), missing: Number(row.missing ?? 0), extra: Number(row.extra ?? 0), changed: Number(row.changed ?? 0) } : null;
}

export async function hasKeyIndex(db: StateDb, entity: string): Promise<boolean> {
  return (await db.all('SELECT "entity" FROM "parity_key_counts" WHERE "entity" = ?', [entity])).length > 0;
}

/** Replaces an entity's index (after a full run), in chunks inside one transaction. */
export async function replaceKeyIndex(db: StateDb, entity: string, rows: readonly IndexRow[]): Promise<void> {
  const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
  await db.transaction(async (tx) => {
    await tx.run('DELETE FROM "parity_key_index" WHERE "entity" = ?', [entity]);
    for (let i = 0; i < rows.length; i += INDEX_CHUNK) {
      const chunk = rows.slice(i, i + INDEX_CHUNK).map(([key, s, t]) => {
        const state = stateOf(s, t);
        counts[STATE_NAMES[state]]++;
        return [entity, key, s, t, state];
      });
      await insert(tx, 'parity_key_index', INDEX_COLUMNS, chunk);
    }
    await saveCounts(tx, entity, counts);
  });
}

/**
 * Records what an incremental run read: each side's keys and hashes. A side read since its
 * watermark updates its keys, and the counts change by the difference (the work grows with
 * the changes, not with the entity). A side read in full (`complete`) replaces its keys, so
 * a key it no longer shows is gone from it; the counts are then taken anew.
 */
export async function applyToKeyIndex(db: StateDb, entity: string, read: Record<'source' | 'target', ReadonlyMap<string, string>>, complete: Record<'source' | 'target', boolean>): Promise<void> {
  await db.transaction(async (tx) => {
    if (complete.source || complete.target) {
      for (const side of ['source', 'target'] as const) {
        const column = side === 'source' ? 'source_hash' : 'target_hash';
        if (complete[side]) await tx.run(`UPDATE "parity_key_index" SET "${column}" = NULL WHERE "entity" = ?`, [entity]);
        const entries = [...read[side]];
        for (let i = 0; i < entries.length; i += INDEX_CHUNK) {
          const chunk = entries.slice(i, i + INDEX_CHUNK).map(([key, hash]) => [entity, key, hash, 0]);
          await upsert(tx, 'parity_key_index', ['entity', 'key', column, 'state'], ['entity', 'key'], [column], chunk);
        }
      }
      await tx.run('DELETE FROM "parity_key_index" WHERE "entity" = ? AND "source_hash" IS NULL AND "target_hash" IS NULL', [entity]);
      await tx.run(
        `UPDATE "parity_key_index" SET "state" = CASE
           WHEN "target_hash" IS NULL THEN 1 WHEN "source_hash" IS NULL THEN 2 WHEN "source_hash" = "target_hash" THEN 0 ELSE 3 END
         WHERE "entity" = ?`,
        [entity],
      );
      const rows = await tx.all<{ state: number | string; n: number | string }>('SELECT "state", COUNT(*) AS "n" FROM "parity_key_index" WHERE "entity" = ? GROUP BY "state"', [entity]);
      const counts: IndexCounts = { matched: 0, missing: 0, extra: 0, changed: 0 };
      for (const r of rows) counts[STATE_NAMES[Number(r.state) as State]] = Number(r.n);
      await saveCounts(tx, entity, counts);
      return;
    }
    const touched = [...new Set([...read.source.keys(), ...read.target.keys()])];
    const base = (await loadCounts(tx, entity)) ?? { matched: 0, missing: 0, extra: 0, changed: 0 };
    for (let i = 0; i < touched.length; i += INDEX_CHUNK) {
      const keys = touched.slice(i, i + INDEX_CHUNK);
      const found = await tx.all<{ key: string; source_hash: string | null; target_hash: string | null; state: number | string }>(
        `SELECT "key", "source_hash", "target_hash", "state" FROM "parity_key_index" WHERE "entity" = ? AND "key" IN (${marks(keys.length)})`,
        [entity, ...keys],
      );
      const old = new Map(found.map((r) => [r.key, { s: r.source_hash, t: r.target_hash, state: Number(r.state) as State }]));
      const rows = keys.map((key) => {
        const before = old.get(key);
        const s = read.source.get(key) ?? before?.s ?? null;
        const t = read.target.get(key) ?? before?.t ?? null;
        const state = stateOf(s, t);
        if (before) base[STATE_NAMES[before.state]]--;
        base[STATE_NAMES[state]]++;
        return [entity, key, s, t, state];
      });
      await upsert(tx, 'parity_key_index', INDEX_COLUMNS, ['entity', 'key'], ['source_hash', 'target_hash', 'state'], rows);
    }
    await saveCounts(tx, entity, base);
  });
}

/** The entity's counts from the index: what a full comparison would find now. */
export async function keyIndexCounts(db: StateDb, entity: string): Promise<{ matched: number; missing: number; extra: number; changed: number; source: number; target: number }> {
  const c = (await loadCounts(db, entity)) ?? { matched: 0, missing: 0, extra: 0, changed: 0 };
  return { ...c, source: c.matched + c.missing + c.changed, target: c.matched + c.extra + c.changed };
}

/** The first keys, in key order, of one kind of difference. */
export async function keyIndexSample(db: StateDb, entity: string, kind: 'missing' | 'extra' | 'changed', limit: number): Promise<string[]> {
  const state = kind === 'missing' ? 1 : kind === 'extra' ? 2 : 3;
  const rows = await db.all<{ key: string }>('SELECT "key" FROM "parity_key_index" WHERE "entity" = ? AND "state" = ? ORDER BY "key" ASC LIMIT ?', [entity, state, limit]);
  return rows.map((r) => r.key);
}

// Leases in the state store: who runs an entity, until when.
import { toDate, upsert, type StateDb } from './db.js';

/**
 * Takes the lease `name` for `holder` until now + ttlMs: when nobody holds it, when the
 * holder already does, or when the last holder's lease expired (it died). One statement
 * decides, so two agents racing for it cannot both win.
 */
export async function acquireLease(db: StateDb, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  const expires = new Date(now.getTime() + ttlMs);
  const updated = await db.run('UPDATE "parity_leases" SET "holder" = ?, "expires_at" = ? WHERE "name" = ? AND ("holder" = ? OR "expires_at" < ?)', [holder, expires, name, holder, now]);
  if (updated > 0) return true;
  // Nobody holds it yet: the first insert wins, and the loser changes no row.
  return (await upsert(db, 'parity_leases', ['name', 'holder', 'expires_at'], ['name'], [], [[name, holder, expires]])) > 0;
}

/** Takes a lease from a holder known to be dead (its process is gone), before it expires. */
export async function takeLeaseFrom(db: StateDb, name: string, dead: string, holder: string, ttlMs: number): Promise<boolean> {
  return (await db.run('UPDATE "parity_leases" SET "holder" = ?, "expires_at" = ? WHERE "name" = ? AND "holder" = ?', [holder, new Date(Date.now() + ttlMs), name, dead])) > 0;
}

/** Extends a lease the holder still has; false when it was lost (expired and taken). */
export async function renewLease(db: StateDb, name: string, holder: string, ttlMs: number): Promise<boolean> {
  return (await db.run('UPDATE "parity_leases" SET "expires_at" = ? WHERE "name" = ? AND "holder" = ?', [new Date(Date.now() + ttlMs), name, holder])) > 0;
}

export async function releaseLease(db: StateDb, name: string, holder: string): Promise<void> {
  await db.run('DELETE FROM "parity_leases" WHERE "name" = ? AND "holder" = ?', [name, holder]);
}

export async function leaseHolder(db: StateDb, name: string): Promise<string | null> {
  const [row] = await db.all<{ holder: string; expires_at: unknown }>('SELECT "holder", "expires_at" FROM "parity_leases" WHERE "name" = ?', [name]);
  return row && toDate(row.expires_at)!.getTime() >= Date.now() ? row.holder : null;
}

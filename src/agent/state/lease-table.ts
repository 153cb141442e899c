// Leases in the state store: who runs an entity, until when.
import { Op, UniqueConstraintError } from 'sequelize';
import type { StoreModels } from './models.js';

/**
 * Takes the lease `name` for `holder` until now + ttlMs: when nobody holds it, when the
 * holder already does, or when the last holder's lease expired (it died). One statement
 * decides, so two agents racing for it cannot both win.
 */
export async function acquireLease(m: StoreModels, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  const expires = new Date(now.getTime() + ttlMs);
  const [updated] = await m.leases.update({ holder, expires_at: expires }, { where: { name, [Op.or]: [{ holder }, { expires_at: { [Op.lt]: now } }] } });
  if (updated > 0) return true;
  try {
    await m.leases.create({ name, holder, expires_at: expires });
    return true;
  } catch (err) {
    if (err instanceof UniqueConstraintError) return false;
    throw err;
  }
}

/** Takes a lease from a holder known to be dead (its process is gone), before it expires. */
export async function takeLeaseFrom(m: StoreModels, name: string, dead: string, holder: string, ttlMs: number): Promise<boolean> {
  const [count] = await m.leases.update({ holder, expires_at: new Date(Date.now() + ttlMs) }, { where: { name, holder: dead } });
  return count > 0;
}

/** Extends a lease the holder still has; false when it was lost (expired and taken). */
export async function renewLease(m: StoreModels, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const [count] = await m.leases.update({ expires_at: new Date(Date.now() + ttlMs) }, { where: { name, holder } });
  return count > 0;
}

export async function releaseLease(m: StoreModels, name: string, holder: string): Promise<void> {
  await m.leases.destroy({ where: { name, holder } });
}

export async function leaseHolder(m: StoreModels, name: string): Promise<string | null> {
  const row = await m.leases.findByPk(name);
  return row && new Date(row.get('expires_at') as Date).getTime() >= Date.now() ? (row.get('holder') as string) : null;
}

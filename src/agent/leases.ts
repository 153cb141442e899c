// An entity's lease for the length of its part of a run: taken (or taken over from a dead
// local holder), renewed every third of its TTL while the entity runs, released after. A
// lease found lost (it expired and another agent took it) aborts the entity's work.
import { describeError, ParityError } from '../core/errors.js';
import { holderIsDead } from './holder.js';
import type { Logger } from './logger.js';
import type { StateStore } from './state/store.js';

export type EntityLease = { release: () => Promise<void>; lost: AbortSignal } | { busy: string };

export async function takeEntityLease(store: StateStore, entity: string, holder: string, ttlMs: number, log: Logger): Promise<EntityLease> {
  const name = `entity:${entity}`;
  if (!(await store.acquireLease(name, holder, ttlMs))) {
    const other = await store.leaseHolder(name);
    // A holder on this machine whose process is gone (killed) need not be waited for.
    if (!other || !holderIsDead(other) || !(await store.takeLeaseFrom(name, other, holder, ttlMs))) {
      return { busy: `busy: another agent (${other ?? 'unknown'}) is running this entity` };
    }
    log.warn({ entity, previous: other }, 'took over the lease of an agent that is no longer running');
  }
  const lost = new AbortController();
  const renew = setInterval(() => {
    store.renewLease(name, holder, ttlMs).then(
      (held) => {
        if (held || lost.signal.aborted) return;
        log.error({ entity }, 'lost the lease on this entity (it expired and another agent took it): stopping it');
        clearInterval(renew);
        lost.abort(new ParityError('PARITY_ABORTED', `entity "${entity}": lost its lease (it expired and another agent took it): stopped, so that two agents never write it at once`));
      },
      (err: unknown) => log.warn({ entity, err: describeError(err) }, 'could not renew the lease'),
    );
  }, Math.max(250, Math.floor(ttlMs / 3)));
  renew.unref();
  return {
    lost: lost.signal,
    release: async () => {
      clearInterval(renew);
      await store.releaseLease(name, holder).catch(() => undefined);
    },
  };
}

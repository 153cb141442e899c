// This process, as the holder of entity leases in the state store.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export const PROCESS_HOLDER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** Whether a holder was a process on this machine that no longer runs (its lease can be taken at once). */
export function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

// An agent that finds a bisected entity's lease held by another agent on a shared store joins
// that agent's job: it takes free parts until none is left, then stays until the entity is
// done, ready to take the leader's place if the leader dies (its lease expires, or its process
// is gone). The leader writes the entity's report; this agent's run lists the entity as busy.
import type { Collector } from '../collectors/types.js';
import type { Side } from '../reconcile/types.js';
import { createCollector } from '../systems/registry.js';
import { bisects, entityBlocker, segmentSources } from './bisection.js';
import type { LoadedConfig, ResolvedEntity } from './config/load.js';
import { resolveCompareFields } from './entity.js';
import { takeEntityLease, type EntityLease } from './leases.js';
import type { Logger } from './logger.js';
import type { SystemRuntimes } from './runtimes.js';
import { pause, segmentFingerprint, workSegments, type SegmentShare } from './shared-segments.js';
import type { SegmentJob } from './state/segment-table.js';

/** lease: the leader died and this agent holds the entity now (it runs it, taking up the
 *  job); did/of: the parts this agent did of the job's, the leader finished the entity;
 *  null: no shared job to join. */
export type Help = { lease: Exclude<EntityLease, { busy: string }> } | { did: number; of: number } | null;

/** How long an agent waits for the leader to post the entity's parts (it is counting and cutting). */
const JOIN_WAIT_MS = 10_000;

export async function helpWithSegments(
  loaded: LoadedConfig,
  entity: ResolvedEntity,
  share: SegmentShare,
  runtimes: SystemRuntimes,
  lastRunAt: Date | null,
  log: Logger,
  signal?: AbortSignal,
): Promise<Help> {
  if (!bisects(entity)) return null;
  const context = (side: Side) => ({ keyChains: entity.keyChains, baseDir: loaded.baseDir, lastRunAt, runtime: runtimes.get(entity[side].systemName) });
  const collectors: Record<Side, Collector> = { source: createCollector(entity.source, context('source')), target: createCollector(entity.target, context('target')) };
  const { store } = share;
  try {
    const compareFields = await resolveCompareFields(entity, collectors.source, collectors.target);
    // What the config alone says about bisection: no waiting for a job the leader never posts.
    const incremental = [entity.source, entity.target].some((side) => side.config.incremental !== undefined);
    if (entityBlocker(entity, compareFields, { keyIndex: incremental, partial: entity.config.window !== undefined, attachments: false })) return null;
    const fingerprint = segmentFingerprint(entity, compareFields);
    const until = Date.now() + Math.min(JOIN_WAIT_MS, share.ttlMs);
    // Two SQLite sides are joined in one database by the leader: nothing to share.
    const sources = await segmentSources(entity, collectors, compareFields);
    if (typeof sources === 'string' || (!sources.source.inDatabase && !sources.target.inDatabase)) return null;
    let job: SegmentJob | null;
    while (!(job = await store.openSegmentJob(entity.name, fingerprint, 2 * share.ttlMs))) {
      if (Date.now() > until || signal?.aborted) return null;
      await pause(signal);
    }
    const settings = { factor: entity.config.bisectionFactor, threshold: entity.config.bisectionThreshold };
    log.info({ job: job.id, segments: job.parts }, "joined another agent's segments");
    let did = 0;
    for (;;) {
      did += await workSegments(share, job, sources, settings, log, signal);
      if ((await store.segmentJobStatus(job.id)) !== 'open' || signal?.aborted) return { did, of: job.parts };
      // Free only when the leader is gone: this agent takes its place and its job.
      const lease = await takeEntityLease(store, entity.name, share.holder, share.ttlMs, log);
      if (!('busy' in lease)) {
        if ((await store.segmentJobStatus(job.id)) === 'open') return { lease };
        await lease.release();
        return { did, of: job.parts };
      }
      await pause(signal);
    }
  } finally {
    await Promise.all([collectors.source.close(), collectors.target.close()]).catch(() => undefined);
  }
}

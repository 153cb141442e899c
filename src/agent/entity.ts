// One entity's part of a run: read both sides at once, kept in step, into the diff; read again
// what a sample or a push needs; update the key index; build the entity's report and what a
// push would send.
import type { Collector } from '../collectors/index.js';
import { MetricAccumulator, type MetricValue } from '../collectors/metrics.js';
import { canonicalValue, sortedFields } from '../core/canonical.js';
import { describeError, ParityError } from '../core/errors.js';
import { recordCount, type NormalizedRecord, type Page } from '../core/record.js';
import { attachmentResolver } from './attachments.js';
import { joinReport, planBisection } from './bisection.js';
import { eventLoopTurns } from '../core/yield.js';
import { DiffBuilder, isStripped, strippedNeeds, type Side } from '../reconcile/diff.js';
import { readAgain } from './read-again.js';
import { compareEntityReport, compareMetrics, decideConflicts, failedEntityReport, newestWinsField, type EntityReport } from '../reconcile/report.js';
import type { LoadedConfig, ResolvedEntity, ResolvedSide } from './config/load.js';
import type { Logger } from './logger.js';
import type { RunRecord } from './state/run-records.js';
import { mapperFor } from './mappers.js';
import { Pacer } from './pacer.js';
import { timeOf } from './selection.js';
import type { RunProgress } from './progress.js';
import type { IndexRow, StateStore } from './state/store.js';
import type { Candidates } from './sync.js';
import type { SystemRuntimes } from './runtimes.js';
import { createCollector, systemType } from '../systems/registry.js';

export const SAMPLE_LIMIT = 20;
export function sideNames(entity: ResolvedEntity) {
  return { name: entity.name, sourceSystem: entity.source.systemName, targetSystem: entity.target.systemName };
}

export async function resolveCompareFields(entity: ResolvedEntity, source: Collector, target: Collector): Promise<string[]> {
  if (entity.compare) return entity.compare;
  const columns = (await source.columns()) ?? (await target.columns());
  if (!columns) {
    throw new ParityError('PARITY_CONFIG_INVALID', `entities.${entity.name}: neither side can list its fields; set "compare" or map "fields"`);
  }
  return sortedFields(columns.filter((c) => !entity.keyFields.includes(c)));
}

export interface EntityOutcome {
  report: EntityReport;
  /** The largest incremental value each side showed, to store when the run completes. */
  watermarks: Partial<Record<Side, string>>;
  /** What a push would send: source records to upsert, target keys to delete. */
  candidates?: Candidates;
  /** Records for the run's history: invalid ones here; the sync adds what the target refused. */
  records?: RunRecord[];
}

/** Whether a side can read only what changed since its watermark. */
function canFilter(side: ResolvedSide): boolean {
  return side.config.incremental !== undefined && systemType(side.system).capabilities.canFilter(side.config);
}

/** The watermark each side reads from: null for a side read in full (it cannot filter, no
 *  key index yet, or --full). An entity with any non-null side reads incrementally. */
export async function watermarksToReadFrom(entity: ResolvedEntity, store: StateStore, full: boolean): Promise<Record<Side, string | null>> {
  const since: Record<Side, string | null> = { source: null, target: null };
  if (full || !(canFilter(entity.source) || canFilter(entity.target)) || !(await store.hasKeyIndex(entity.name))) return since;
  for (const side of ['source', 'target'] as const) if (canFilter(entity[side])) since[side] = await store.getWatermark(entity.name, side);
  return since;
}

export interface EntityPlan {
  store: StateStore;
  progress: RunProgress;
  compactAbove: number;
  /** --full: read everything and rebuild the key index. */
  full: boolean;
  maxAhead: number;
  lastRunAt: Date | null;
  /** Whether this run may push the entity's difference (a write block, not a dry run). */
  pushes: boolean;
  /** --filter: only records whose fields equal these, on both sides. A filtered run reads in
   *  full, never deletes, and leaves the key index and watermarks as they were. */
  filters?: Readonly<Record<string, string>> | undefined;
  /** A rolling window: only records whose field is at `from` or later, on both sides; read,
   *  like a filtered run, in full, without deletes, key index or watermarks. */
  window?: { field: string; from: string; param?: string | undefined } | undefined;
  runtimes: SystemRuntimes;
  /** --export-diff: the folder the missing, extra and changed records are written to. */
  exportDiff?: string | undefined;
  /** This agent's name and lease length: a bisected entity's parts are shared on a shared store. */
  share?: { holder: string; ttlMs: number };
}

export async function reconcileEntity(loaded: LoadedConfig, entity: ResolvedEntity, plan: EntityPlan, log: Logger, signal: AbortSignal | undefined): Promise<EntityOutcome> {
  const { store, maxAhead } = plan;
  const context = (side: Side) => ({ keyChains: entity.keyChains, baseDir: loaded.baseDir, lastRunAt: plan.lastRunAt, runtime: plan.runtimes.get(entity[side].systemName) });
  const collectors: Record<Side, Collector> = {
    source: createCollector(entity.source, context('source')),
    target: createCollector(entity.target, context('target')),
  };
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    const compareFields = await resolveCompareFields(entity, collectors.source, collectors.target);
    // Attachment fields are read as the hash of their files (fetched, or cached by validators).
    const attach = await attachmentResolver(loaded, entity, compareFields, plan.runtimes, store);
    // The first read counts coverage of the records it compares; a second read resolves only the records it looks for.
    const through = (side: Side, pages: AsyncIterable<Page>, wanted: ((r: NormalizedRecord) => boolean) | null) =>
      attach ? attach.pages(side, pages, wanted === null, abort.signal, wanted ?? ((r) => passes(r.fields))) : pages;
    // Entities with a side that can filter by watermark keep a key index. With one, a run
    // reads only what changed and takes the whole entity's counts from the index.
    const keepsIndex = canFilter(entity.source) || canFilter(entity.target);
    const filters = plan.filters && Object.keys(plan.filters).length ? plan.filters : undefined;
    const { window } = plan;
    /** Part of each side only: no deletes, no key index, no watermarks. */
    const partial = filters !== undefined || window !== undefined;
    const since = await watermarksToReadFrom(entity, store, plan.full || partial);
    const from = window ? Date.parse(window.from) : 0;
    const passes = (fields: Record<string, unknown>) =>
      (!filters || Object.entries(filters).every(([f, v]) => fields[f] === undefined || canonicalValue(fields[f]) === v)) && (!window || timeOf(fields[window.field]) >= from);
    const incremental = since.source !== null || since.target !== null;
    if (keepsIndex && !incremental) log.info({ reason: plan.full ? '--full' : 'no key index or watermark yet' }, 'reading in full');
    const indexRows: IndexRow[] | undefined = keepsIndex && !incremental && !partial ? [] : undefined;
    const readKeys: Record<Side, Map<string, string>> = { source: new Map(), target: new Map() };
    const tolerant = Object.keys(entity.tolerances).length > 0;
    // Both sides SQL tables: only the key ranges whose checksums differ are read.
    const bisected = await planBisection(entity, collectors, compareFields, { keyIndex: keepsIndex, partial, attachments: attach !== null }, log, abort.signal, plan.share && store.shared ? { store, ...plan.share } : undefined);
    const ranges = bisected?.bisection?.result.ranges;
    const builder = new DiffBuilder(maxAhead * 2, tolerant ? { fields: compareFields, tolerances: entity.tolerances } : undefined, indexRows);
    // Tolerances compare field values as records meet, so they keep whole records.
    if (!tolerant) builder.compactWhenPendingExceeds(plan.compactAbove);
    // Only a push needs the fields of records that are simply missing; deletes need keys only.
    // An export of the difference (--export-diff) lists the fields of both.
    const exporting = plan.exportDiff !== undefined;
    builder.keepFieldsOfResolved({ source: plan.pushes || exporting, target: exporting });
    const turn = eventLoopTurns();
    const pace = new Pacer(builder, maxAhead);
    const filterFields = [...Object.keys(filters ?? {}), ...(window ? [window.field] : [])];
    const mappers = { source: mapperFor(entity.source, entity, compareFields, filterFields), target: mapperFor(entity.target, entity, compareFields, filterFields) };
    const metricValues: Record<Side, Map<string, MetricValue>> = { source: new Map(), target: new Map() };
    const drain = async (side: Side) => {
      try {
        // Metrics the system computes itself come first; the rest are counted while streaming.
        const pushedDown = await collectors[side].metrics(entity.metrics);
        // An incremental read sees only the changes: metrics it would stream are left out.
        const streamed = incremental ? [] : entity.metrics.filter((m) => !pushedDown.has(m.name));
        const accumulator = streamed.length ? new MetricAccumulator(streamed) : null;
        const seen = readKeys[side];
        // Only keys and hashes are looked at here: records a report or push needs are read again.
        const placesOnly = !attach && !partial && !tolerant && !accumulator && !(side === 'source' ? plan.pushes || exporting : exporting);
        for await (const page of through(side, collectors[side].read({ mapper: mappers[side], signal: abort.signal, since: since[side], filters, window, ranges, placesOnly }), null)) {
          // Where each record is in its file: a packed join then keeps that instead of its fields.
          const spans = attach ? undefined : page.spans;
          if (page.expected !== undefined) builder.expect(side, page.expected);
          if (!filters && !window && !accumulator && !incremental) builder.addPage(side, page, spans);
          else for (let i = 0; i < page.records.length; i++) {
            const record = page.records[i]!;
            if (!passes(record.fields)) continue;
            builder.add(side, record, spans ? spans[2 * i]! : -1, spans ? spans[2 * i + 1]! : 0);
            accumulator?.add(record.fields);
            if (incremental && !seen.has(record.key)) seen.set(record.key, record.hash);
          }
          for (const invalid of page.invalid) builder.addInvalid(side, invalid);
          const records = recordCount(page);
          plan.progress.recordsRead += records + page.invalid.length;
          log.debug({ side, records, invalid: page.invalid.length, from: page.from }, 'page read');
          await pace.after(side);
          await turn();
        }
        metricValues[side] = new Map([...pushedDown, ...(accumulator?.values() ?? [])]);
      } catch (err) {
        abort.abort();
        throw err;
      } finally {
        builder.sideDone(side);
        pace.done(side);
      }
    };
    // Both sides are read at once: the run takes as long as the slower side, not the sum.
    const results = await Promise.allSettled([drain('source'), drain('target')]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(isParityAbort(r.reason) && !signal?.aborted));
    if (failure) throw failure.reason;
    let diff = await builder.finishInTurns();
    const readThisRun = { ...diff.read };
    // Rows of segments whose checksums agree are matched on both sides without being read.
    const skipped = bisected?.bisection?.result.matched ?? 0;
    if (skipped) diff = { ...diff, counts: { ...diff.counts, matched: diff.counts.matched + skipped }, read: { source: diff.read.source + skipped, target: diff.read.target + skipped } };
    // Records that waited as (key, hash) only but whose fields the report or the push needs:
    // read their side again, until the last one is found.
    // Attachment coverage counts the files of every missing and changed record.
    const all = attach !== null;
    const waiting = strippedNeeds(diff, { changedSamples: SAMPLE_LIMIT, allChanged: all || plan.pushes || exporting || newestWinsField(entity.config.conflict) !== null, allMissing: all || plan.pushes || exporting, allExtra: exporting });
    for (const side of ['source', 'target'] as const) {
      const count = waiting[side].size;
      if (count === 0) continue;
      const again = createCollector(entity[side], context(side));
      try {
        const options = { mapper: mapperFor(entity[side], entity, compareFields), signal: abort.signal, since: since[side], ranges };
        const read = await readAgain(waiting[side], { collector: again, options, through: (pages) => through(side, pages, (r) => waiting[side].has(r.key)) });
        log.info({ side, records: count, ...read }, 'read again for the fields of the records to report and push');
      } finally {
        await again.close();
      }
      // Gone between the two reads: nothing is pushed for them in this run (never an empty record).
      if (waiting[side].size > 0) log.warn({ side, records: waiting[side].size }, 'records changed or vanished while being read again; the next run takes them up');
    }
    if (plan.exportDiff !== undefined) {
      const files = await (await import('./diff-files.js')).writeDiffFiles(plan.exportDiff, entity, diff, compareFields);
      log.info({ files }, 'difference exported');
    }
    // What a push would send, from the records this run read. A record the conflict strategy
    // gives to the target stays out. Deletes come from full runs only: an incremental run
    // does not see every target key.
    const targetWins = new Set(decideConflicts(entity.config.conflict, diff.changed, true)?.targetKeys ?? []);
    // A push never sends a record whose fields could not be read again; a dry run counts them all.
    const sendable = (r: NormalizedRecord) => !plan.pushes || !isStripped(r);
    const candidates: Candidates = {
      missing: diff.missing.filter(sendable),
      changed: diff.changed.filter((c) => !targetWins.has(c.key) && sendable(c.source)).map((c) => c.source),
      deletes: incremental || partial ? [] : diff.extra,
      compareFields,
    };
    if (attach) {
      const sourceWins = diff.changed.filter((c) => !targetWins.has(c.key) && sendable(c.source));
      candidates.attachments = (await import('../attachments/copy.js')).planAttachments(attach, candidates.missing, sourceWins, entity.keyChains[0]!, attach.blobs('source'));
      if (attach.problems.length) log.warn({ unreadable: attach.problems }, 'attachments that could not be read');
    }
    if (incremental) {
      // A side read since its watermark updates its keys; a side read in full replaces them.
      await store.applyToKeyIndex(entity.name, readKeys, { source: since.source === null, target: since.target === null });
      const c = await store.keyIndexCounts(entity.name);
      const keysOf = async (kind: 'missing' | 'extra') => (await store.keyIndexSample(entity.name, kind, SAMPLE_LIMIT)).map((key) => ({ key, hash: '', fields: {} }));
      diff = {
        ...diff,
        counts: { ...diff.counts, matched: c.matched, missing: c.missing, extra: c.extra, changed: c.changed },
        read: { source: c.source, target: c.target },
        missing: await keysOf('missing'),
        extra: await keysOf('extra'),
        // Field samples only for changed records this run read on both sides.
        changed: diff.changed.filter((change) => readKeys.source.has(change.key) && readKeys.target.has(change.key)),
      };
    } else if (indexRows) {
      await store.replaceKeyIndex(entity.name, indexRows);
    }
    const report = compareEntityReport(
      {
        ...sideNames(entity),
        compareFields,
        tolerances: entity.tolerances,
        thresholds: entity.config.thresholds,
        bands: loaded.config.health.bands,
        sampleLimit: SAMPLE_LIMIT,
      },
      diff,
    );
    // An incremental read saw only the changes: a metric neither side could compute in full is left out, not reported as 0.
    const computed = entity.metrics.filter((m) => metricValues.source.has(m.name) && metricValues.target.has(m.name));
    report.metrics = compareMetrics(incremental ? computed : entity.metrics, metricValues.source, metricValues.target);
    report.join = joinReport(diff.join, bisected, collectors, readThisRun);
    report.mode = incremental ? 'incremental' : 'full';
    if (window) report.window = { field: window.field, from: window.from };
    const conflicts = decideConflicts(entity.config.conflict, diff.changed);
    if (conflicts) report.conflicts = conflicts;
    report.read = readThisRun;
    if (candidates.attachments) report.attachments = { ...candidates.attachments.report, ...attach!.fetcher.stats };
    if (entity.keyChains.length > 1) {
      report.keyChains = entity.keyChains.map((fields, i) => ({ fields, source: mappers.source.chainCounts[i]!, target: mappers.target.chainCounts[i]! }));
    }
    log.info({ match: report.match, diff: report.diff, tripped: report.tripped }, 'entity compared');
    const watermarks: Partial<Record<Side, string>> = {};
    // A filtered run saw part of each side: the watermarks stay where they were.
    for (const side of partial ? [] : (['source', 'target'] as const)) {
      const w = collectors[side].watermark();
      if (w !== null) watermarks[side] = w;
    }
    const records: RunRecord[] = diff.invalid.map((i) => ({ entity: entity.name, side: i.side, key: i.ref, status: 'invalid', reason: i.reason }));
    return { report, watermarks, candidates, records };
  } catch (err) {
    const message = describeError(err);
    log.error({ err: message }, 'entity failed');
    return { report: failedEntityReport(sideNames(entity), 'failed', message), watermarks: {} };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all([collectors.source.close(), collectors.target.close()]).catch(() => undefined);
  }
}

/** How many records one side may hold waiting for the other before it pauses. */
export const MAX_AHEAD = 5000;

/** Past this many waiting records, the join packs them off the heap (see WaitingRecords).
 *  Above what sides in step hold (2 × MAX_AHEAD and a page each), so a merge never packs; a
 *  hash join packs early, where a waiting record costs a few dozen bytes instead of a few
 *  hundred (shuffled 1,000,000-row CSV: 170 MB peak RSS instead of 215 MB at 100,000). */
export const COMPACT_ABOVE = 20_000;

function isParityAbort(err: unknown): boolean {
  return err instanceof ParityError && err.code === 'PARITY_ABORTED';
}

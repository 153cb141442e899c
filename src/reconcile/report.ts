// The run report (DESIGN, "Report", schema v1): building an entity's part from its diff.
// Pure: writing files is the agent's; markdown.ts and html.ts render it.
import type { AttachmentReport } from '../attachments/copy.js';
import type { SyncCounts } from '../core/record.js';
import { changedFields, type ChangedRecord, type ChangedSample, type DiffCounts, type DiffResult, type JoinStats, type Side, type Tolerances } from './diff.js';
import { band, entityMatch, metricMatch, percent, trippedThresholds, type Band, type Bands, type Thresholds } from './score.js';

export const REPORT_SCHEMA_VERSION = 1;

export type Outcome = 'synced' | 'in-sync' | 'report-only' | 'deferred' | 'failed' | 'skipped' | 'blocked';

export type { SyncCounts } from '../core/record.js';

export interface MetricReport {
  name: string;
  /** For a metric with `by`: the group this row is about. */
  group?: string;
  source: number;
  target: number;
  match: number;
}

export interface EntityReport {
  name: string;
  status: Band;
  outcome: Outcome;
  source: { system: string; count: number };
  target: { system: string; count: number };
  match: number;
  diff: DiffCounts;
  samples: {
    missing: string[];
    extra: string[];
    changed: ChangedSample[];
    duplicates: { key: string; side: Side; occurrences: number }[];
    invalid: { side: Side; ref: string; reason: string }[];
  };
  metrics: MetricReport[];
  tripped: string[];
  sync: SyncCounts & {
    /** Pushed keys read back from the target that now show what was pushed (closed loop). */
    verified?: number;
    /** Pushed keys the target still shows differently after the push (up to the sample limit). */
    stillDiffer?: string[];
  };
  error: string | null;
  /** How the changed records are decided by the entity's conflict strategy: which side's
   *  version is to be kept. */
  conflicts?: { strategy: string; sourceWins: number; targetWins: number };
  /** Records the target rejected, with its reason (the first ones). */
  rejections?: { localId: string; error: string }[];
  /** Batches the target refused whole (400, 422), with the reason: set aside, not re-sent. */
  quarantined?: string[];
  /** Why nothing is synced for this entity although it drifted (a safety valve), with the figures. */
  blocked?: string;
  /** The match once the push is counted (see matchAfterPush); only when something was pushed. */
  matchAfterPush?: number;
  /** The rolling window this run compared: records whose field is at `from` or later. */
  window?: { field: string; from: string };
  /** Who let this run past the safety guards (`parity run --force`), and when. */
  forced?: { by: string; at: string };
  /** incremental: only what changed since the watermarks was read, the counts come from the key index. */
  mode?: 'incremental' | 'full';
  /** Records this run read per side (in an incremental run, only the changed ones). */
  read?: { source: number; target: number };
  /** How the two sides were joined (a compared entity only). */
  join?: JoinStats;
  /** Attachment fields: coverage per side, files missing or different on the target, copied. */
  attachments?: AttachmentReport;
  /** With key fallback chains: how many records took their key from each chain. */
  keyChains?: { fields: string[]; source: number; target: number }[];
}

export interface RunReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  runId: string;
  mode: 'incremental' | 'full';
  dryRun: boolean;
  trigger: 'cli' | 'schedule' | 'api';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** score and status null: no entity was compared. overallMatch null: an entity failed or was
   *  not compared, so the share of matching records is not known. */
  /** --source and --filter, when the run was limited by them. */
  selection?: { source?: string | undefined; filters?: Record<string, string> | undefined };
  health: { score: number | null; status: Band | null; overallMatch: number | null; afterPush?: { score: number; status: Band } };
  entities: EntityReport[];
}

export const EMPTY_SYNC: SyncCounts = { created: 0, updated: 0, deleted: 0, unchanged: 0, rejected: 0, pending: 0 };
const EMPTY_DIFF: DiffCounts = { matched: 0, missing: 0, extra: 0, changed: 0, duplicates: 0, invalid: 0 };

export interface EntityInput {
  name: string;
  sourceSystem: string;
  targetSystem: string;
  compareFields: readonly string[];
  tolerances?: Tolerances;
  thresholds?: Thresholds | undefined;
  bands: Bands;
  sampleLimit: number;
}

/** The report of an entity that was compared. Until push exists, differences are reported only. */
export function compareEntityReport(input: EntityInput, diff: DiffResult): EntityReport {
  const match = entityMatch(diff.counts);
  const tripped = trippedThresholds(diff.counts, match, input.thresholds);
  const drift = diff.counts.missing + diff.counts.extra + diff.counts.changed;
  const n = input.sampleLimit;
  return {
    name: input.name,
    status: band(match, input.bands),
    outcome: drift === 0 ? 'in-sync' : 'report-only',
    source: { system: input.sourceSystem, count: diff.read.source },
    target: { system: input.targetSystem, count: diff.read.target },
    match: percent(match),
    diff: diff.counts,
    samples: {
      missing: diff.missing.slice(0, n).map((r) => r.key),
      extra: diff.extra.slice(0, n).map((r) => r.key),
      changed: diff.changed.slice(0, n).map((c) => changedFields(c, input.compareFields, input.tolerances)),
      duplicates: diff.duplicateKeys.slice(0, n),
      invalid: diff.invalid.slice(0, n).map(({ side, ref, reason }) => ({ side, ref, reason })),
    },
    metrics: [],
    tripped,
    sync: { ...EMPTY_SYNC },
    error: null,
  };
}

/**
 * Decides each changed record by the conflict strategy: `source-wins` keeps the source's
 * version; `newest-wins(field)` keeps the side whose field is later (the source on a tie or
 * when either is missing); `report-only` decides nothing.
 */
/** The field of `newest-wins(field)`, or null for another strategy. */
export function newestWinsField(strategy: string): string | null {
  return /^newest-wins\(\s*([\w.]+)\s*\)$/.exec(strategy)?.[1] ?? null;
}

export function decideConflicts(strategy: string, changed: readonly ChangedRecord[]): EntityReport['conflicts'];
export function decideConflicts(strategy: string, changed: readonly ChangedRecord[], keys: true): (NonNullable<EntityReport['conflicts']> & { targetKeys: string[] }) | undefined;
export function decideConflicts(strategy: string, changed: readonly ChangedRecord[], keys = false): (EntityReport['conflicts'] & { targetKeys?: string[] }) | undefined {
  if (strategy === 'report-only' || changed.length === 0) return undefined;
  const field = newestWinsField(strategy);
  if (!field) return { strategy, sourceWins: changed.length, targetWins: 0, ...(keys ? { targetKeys: [] } : {}) };
  const time = (v: unknown): number | null => {
    if (v === null || v === undefined || v === '') return null;
    if (v instanceof Date) return v.getTime();
    if (typeof v === 'number') return v;
    const text = String(v).trim();
    const t = Date.parse(/^\d{4}-\d{2}-\d{2} \d/.test(text) && !/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
    return Number.isNaN(t) ? null : t;
  };
  const targetKeys: string[] = [];
  for (const c of changed) {
    const s = time(c.source.fields[field]);
    const t = time(c.target.fields[field]);
    if (s !== null && t !== null && t > s) targetKeys.push(c.key);
  }
  return { strategy, sourceWins: changed.length - targetKeys.length, targetWins: targetKeys.length, ...(keys ? { targetKeys } : {}) };
}

/**
 * The guard against an upstream outage wiping a target: when the source count fell by more
 * than `maxDrop` (a share) since the last completed run, nothing may be synced. Returns why,
 * or null.
 */
export function sourceDropGuard(current: number, previous: number | null, maxDrop: number): string | null {
  if (previous === null || previous === 0) return null;
  const drop = (previous - current) / previous;
  if (drop <= maxDrop) return null;
  return `the source count fell from ${previous} to ${current} (-${Math.round(drop * 1000) / 10}%) since the last run that synced, more than safety.maxSourceDrop ${Math.round(maxDrop * 1000) / 10}%: nothing is synced for this entity until the source is back, or a person runs it with --force`;
}

/** Metric values of both sides, side by side with their match %. Groups found on one side
 *  only count 0 on the other. */
export function compareMetrics(
  defs: readonly { name: string; by?: string | undefined }[],
  source: Map<string, number | Map<string, number>>,
  target: Map<string, number | Map<string, number>>,
): MetricReport[] {
  const out: MetricReport[] = [];
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  for (const def of defs) {
    const s = source.get(def.name) ?? 0;
    const t = target.get(def.name) ?? 0;
    if (typeof s === 'number' && typeof t === 'number') {
      out.push({ name: def.name, source: round(s), target: round(t), match: percent(metricMatch(s, t)) });
      continue;
    }
    const sg = s instanceof Map ? s : new Map<string, number>();
    const tg = t instanceof Map ? t : new Map<string, number>();
    for (const group of [...new Set([...sg.keys(), ...tg.keys()])].sort()) {
      const a = sg.get(group) ?? 0;
      const b = tg.get(group) ?? 0;
      out.push({ name: def.name, group, source: round(a), target: round(b), match: percent(metricMatch(a, b)) });
    }
  }
  return out;
}

/** The report of an entity that failed or was skipped: it counts 0 in the health score. */
export function failedEntityReport(input: Pick<EntityInput, 'name' | 'sourceSystem' | 'targetSystem'>, outcome: 'failed' | 'skipped', error: string): EntityReport {
  return {
    name: input.name,
    status: 'critical',
    outcome,
    source: { system: input.sourceSystem, count: 0 },
    target: { system: input.targetSystem, count: 0 },
    match: 0,
    diff: { ...EMPTY_DIFF },
    samples: { missing: [], extra: [], changed: [], duplicates: [], invalid: [] },
    metrics: [],
    tripped: [],
    sync: { ...EMPTY_SYNC },
    error,
  };
}

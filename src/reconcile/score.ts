// Match percentages, the health score, status bands and thresholds, as DESIGN defines them.
// Pure functions; the report rounds, these do not.
import type { DiffCounts } from './diff.js';

export type Band = 'perfect' | 'good' | 'warning' | 'critical';
export interface Bands {
  perfect: number;
  good: number;
  warning: number;
}
export const DEFAULT_BANDS: Bands = { perfect: 99, good: 95, warning: 90 };

export interface Thresholds {
  missing?: number | undefined;
  changed?: number | undefined;
  extra?: number | undefined;
  matchBelow?: number | undefined;
}

/** 100 × matched / (matched + missing + extra + changed); 100 when both sides are empty. */
export function entityMatch(c: Pick<DiffCounts, 'matched' | 'missing' | 'extra' | 'changed'>): number {
  const total = c.matched + c.missing + c.extra + c.changed;
  return total === 0 ? 100 : (100 * c.matched) / total;
}

/** 100 × (1 − |s − t| / max(|s|, |t|)); 100 when both are 0. */
export function metricMatch(source: number, target: number): number {
  const scale = Math.max(Math.abs(source), Math.abs(target));
  return scale === 0 ? 100 : 100 * (1 - Math.abs(source - target) / scale);
}

export interface ScoredEntity {
  /** null: the entity failed, and counts 0. */
  match: number | null;
  weight: number;
}

/** Weighted mean of entity match %; a failed entity counts 0. 100 with no entity scored. */
export function healthScore(entities: readonly ScoredEntity[]): number {
  const total = entities.reduce((sum, e) => sum + e.weight, 0);
  if (total === 0) return 100;
  return entities.reduce((sum, e) => sum + (e.match ?? 0) * e.weight, 0) / total;
}

export function band(score: number, bands: Bands = DEFAULT_BANDS): Band {
  if (score >= bands.perfect) return 'perfect';
  if (score >= bands.good) return 'good';
  if (score >= bands.warning) return 'warning';
  return 'critical';
}

/** Which thresholds tripped, in words ("missing 12 > 5"). Without a threshold, any
 *  missing, changed or extra record trips; matchBelow is checked only when set. */
export function trippedThresholds(c: DiffCounts, match: number, t: Thresholds = {}): string[] {
  const out: string[] = [];
  for (const kind of ['missing', 'changed', 'extra'] as const) {
    const limit = t[kind] ?? 0;
    if (c[kind] > limit) out.push(`${kind} ${c[kind]} > ${limit}`);
  }
  if (t.matchBelow !== undefined && match < t.matchBelow) out.push(`match ${percent(match)} < ${t.matchBelow}`);
  return out;
}

/** A percentage for display: two decimals, truncated, so 99.999 never shows as 100. */
export function percent(value: number): number {
  return value >= 100 ? 100 : Math.floor(value * 100) / 100;
}

/**
 * An entity's match once its push is counted: the records the target showed as pushed when
 * read back (or, without the read-back, the records it accepted) join the matched ones.
 * null when nothing was pushed.
 */
export function matchAfterPush(c: Pick<DiffCounts, 'matched' | 'missing' | 'extra' | 'changed'>, sync: { created: number; updated: number; deleted: number; verified?: number | undefined }): number | null {
  const fixed = sync.verified ?? sync.created + sync.updated + sync.deleted;
  if (sync.verified === undefined && fixed === 0) return null;
  const total = c.matched + c.missing + c.extra + c.changed;
  return total === 0 ? null : (100 * Math.min(total, c.matched + fixed)) / total;
}

// A run's health from its entities' reports: the score and band as compared, the same after
// the push, and the overall match; and the health trend the HTML report draws.
import type { EntityReport, RunReport } from '../reconcile/report.js';
import { band, healthScore, matchAfterPush, percent, type Bands } from '../reconcile/score.js';
import type { ResolvedEntity } from './config/load.js';
import type { RunRow } from './state/store.js';

const notCompared = (r: EntityReport) => r.outcome === 'failed' || r.outcome === 'skipped';

/** `busy`: entities another agent held, left out of the score. */
export function runHealth(entities: readonly ResolvedEntity[], reports: readonly EntityReport[], busy: ReadonlySet<string>, bands: Bands, dryRun: boolean): RunReport['health'] {
  const scored = entities.map((e, i) => ({ e, r: reports[i]! })).filter(({ e }) => !busy.has(e.name));
  // Nothing compared (every entity held by another agent): no health to report, not a perfect one.
  if (scored.length === 0) return { score: null, status: null, overallMatch: null };
  const score = healthScore(scored.map(({ e, r }) => ({ match: notCompared(r) ? null : r.match, weight: e.config.weight })));
  const totals = reports.reduce((t, r) => ({ matched: t.matched + r.diff.matched, all: t.all + r.diff.matched + r.diff.missing + r.diff.extra + r.diff.changed }), { matched: 0, all: 0 });
  // An entity that failed or was not compared has records nobody counted: the overall share is unknown.
  const overallMatch = scored.some(({ r }) => notCompared(r)) ? null : percent(totals.all === 0 ? 100 : (100 * totals.matched) / totals.all);
  const health: RunReport['health'] = { score: percent(score), status: band(score, bands), overallMatch };
  // After the push: each pushed entity counts what the target now shows.
  const after = dryRun ? [] : scored.map(({ e, r }) => ({ e, r, after: notCompared(r) ? null : matchAfterPush(r.diff, r.sync) }));
  if (after.some((a) => a.after !== null)) {
    for (const a of after) if (a.after !== null) a.r.matchAfterPush = percent(a.after);
    const afterScore = healthScore(after.map(({ e, r, after: m }) => ({ match: notCompared(r) ? null : (m ?? r.match), weight: e.config.weight })));
    health.afterPush = { score: percent(afterScore), status: band(afterScore, bands) };
  }
  return health;
}

/** The health trend: the last runs that compared every configured entity for real (no dry
 *  run, no --entities subset), this one included when it did. */
export function healthTrend(history: readonly RunRow[], report: RunReport, entityCount: number): { at: string; score: number }[] {
  const whole = (dryRun: boolean, entities: number | undefined, filtered?: unknown) => !dryRun && entities === entityCount && !filtered;
  const points = history
    .filter((r) => r.id !== report.runId && r.healthScore !== null && whole(r.dryRun, (r.stats as { entities?: number } | null)?.entities, (r.stats as { filtered?: boolean } | null)?.filtered))
    .map((r) => ({ at: r.startedAt.toISOString(), score: r.healthScore! }));
  if (report.health.score !== null && whole(report.dryRun, report.entities.length, report.selection?.filters)) points.push({ at: report.startedAt, score: report.health.score });
  return points.slice(-30);
}

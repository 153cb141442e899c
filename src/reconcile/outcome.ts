// The one place an entity's outcome is decided: from what the compare found, what the
// safety guards said and what the push did. (failed and skipped come from the run: the
// entity did not get this far.)
import type { Outcome } from './report.js';

export interface OutcomeInput {
  /** What the compare alone says. */
  compared: Outcome;
  /** Why a guard stopped the push (a source drop, too many deletes), or null. */
  blocked: string | null;
  /** What the push did; null when nothing was to be pushed (no write block, a dry run). */
  push: { tripped: boolean; sent: number; deferred: string | null } | null;
}

export function entityOutcome(i: OutcomeInput): Outcome {
  if (i.compared === 'failed' || i.compared === 'skipped') return i.compared;
  if (i.blocked !== null) return 'blocked';
  if (i.push === null) return i.compared;
  if (i.push.deferred !== null) return 'deferred';
  return i.push.tripped || i.push.sent > 0 ? 'synced' : i.compared;
}

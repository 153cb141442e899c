import { describe, expect, it } from 'vitest';
import { decideConflicts } from '../../src/reconcile/report.js';

const change = (key: string, s: unknown, t: unknown) => ({
  key,
  source: { key, hash: 'a', fields: { updated_at: s } },
  target: { key, hash: 'b', fields: { updated_at: t } },
});

describe('conflict strategies', () => {
  const changed = [
    change('A', '2026-01-02 10:00:00', '2026-01-01T10:00:00Z'), // source newer
    change('B', '2026-01-01 10:00:00', '2026-01-03T00:00:00Z'), // target newer
    change('C', new Date(Date.UTC(2026, 0, 5)), new Date(Date.UTC(2026, 0, 6))), // target newer
    change('D', '2026-01-01', '2026-01-01'), // a tie: the source
    change('E', null, '2026-01-09'), // unknown: the source
  ];

  it('newest-wins(field) keeps the later side, the source on a tie or an unknown time', () => {
    expect(decideConflicts('newest-wins(updated_at)', changed)).toEqual({ strategy: 'newest-wins(updated_at)', sourceWins: 3, targetWins: 2 });
  });

  it('source-wins keeps the source every time; report-only and no changes decide nothing', () => {
    expect(decideConflicts('source-wins', changed)).toEqual({ strategy: 'source-wins', sourceWins: 5, targetWins: 0 });
    expect(decideConflicts('report-only', changed)).toBeUndefined();
    expect(decideConflicts('source-wins', [])).toBeUndefined();
  });
});

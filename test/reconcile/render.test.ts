// What the Markdown and HTML reports say of a run's selection, an entity's window, its
// attachments, and the run's log file and per-record history (the report JSON holds the same,
// checked against reports/schema.json).
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/reconcile/html.js';
import { renderMarkdown } from '../../src/reconcile/markdown.js';
import { failedEntityReport, REPORT_SCHEMA_VERSION, type RunReport } from '../../src/reconcile/report.js';
import { expectValidReport } from '../helpers/report-schema.js';

function report(): RunReport {
  const items = { ...failedEntityReport({ name: 'items', sourceSystem: 'erp', targetSystem: 'shop' }, 'failed', 'x'), error: null, outcome: 'report-only' as const, status: 'good' as const, match: 97.5 };
  items.window = { field: 'created_at', from: '2026-09-06T00:00:00.000Z' };
  items.attachments = {
    fields: [{ field: 'image', source: { with: 200, without: 1, tooLarge: 1, unreadable: 0 }, target: { with: 170, without: 32, tooLarge: 0, unreadable: 2 }, missing: 31, different: 10, copied: 40, notCopied: 1 }],
    downloaded: 370,
    revalidated: 0,
    problems: ['P201 image: not copied, larger than maxAttachmentBytes (100000 bytes)'],
  };
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    runId: '0f3c2a9e-1111-4222-8333-944455556666',
    mode: 'full',
    dryRun: false,
    trigger: 'cli',
    startedAt: '2026-12-05T06:00:00.000Z',
    finishedAt: '2026-12-05T06:00:05.000Z',
    durationMs: 5000,
    selection: { source: 'erp', filters: { status: 'active' } },
    health: { score: 97.5, status: 'good', overallMatch: 97.5 },
    entities: [items],
  };
}

describe('report rendering', () => {
  it('the JSON fits the schema with a selection, a window and attachments', () => {
    expectValidReport(report());
  });

  it('Markdown names the selection, the window and the attachment coverage', () => {
    const md = renderMarkdown(report());
    expect(md).toContain('Only the entities read from erp; only records with status = active.');
    expect(md).toContain('- window: records whose created_at is at 2026-09-06T00:00:00.000Z or later');
    expect(md).toContain('- attachments image: erp 200 with, 1 without, 1 too large; shop 170 with, 32 without, 2 unreadable; 31 missing, 10 different in shop; 40 copied, 1 not copied');
    expect(md).toContain('- attachment P201 image: not copied, larger than maxAttachmentBytes (100000 bytes)');
  });

  it('HTML shows them too, with the log file and the per-record history counts', () => {
    const html = renderHtml(report(), { config: 'parity.yaml', bands: { perfect: 99, good: 95, warning: 90 }, trend: [], logFile: '/srv/parity/logs/parity-2026-12-05.log', history: { rejected: 2, invalid: 3 } }, { js: '', css: '' });
    expect(html).toContain('Only the entities read from <code>erp</code> · only records with <code>status = active</code>');
    expect(html).toContain('Log file <code>/srv/parity/logs/parity-2026-12-05.log</code>');
    expect(html).toContain('per-record history: 2 rejected, 3 invalid (<code>parity runs show 0f3c2a9e --errors</code>)');
    expect(html).toContain('Window: records whose <code>created_at</code> is at 2026-09-06T00:00:00.000Z or later');
    expect(html).toMatch(/<table id="attachments".*<td data-label="missing">31<\/td><td data-label="different">10<\/td><td data-label="copied">40<\/td><td data-label="not copied">1<\/td>/s);
    expect(html).toContain('P201 image: not copied');
  });
});

// Writes report files (reports/<UTC timestamp>-<runId>.<ext>) and removes old ones.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { renderHtml, type ChartAssets, type HtmlPage } from '../reconcile/html.js';
import { renderMarkdown } from '../reconcile/markdown.js';
import type { RunReport } from '../reconcile/report.js';
import { ParityError } from '../core/errors.js';

const REPORT_FILE = /^(\d{8}T\d{6}Z)-([\w-]+)\.(json|md|html)$/;
/** The shortest run ID prefix taken in place of a whole ID. */
export const MIN_ID_PREFIX = 8;

/** "2026-11-22T03:04:05.678Z" → "20261122T030405Z": sortable, and legal in every file system. */
export function fileStamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

let chartAssets: ChartAssets | undefined;

/** uPlot, read from its package once, to inline into every HTML report. */
function chart(): ChartAssets {
  if (!chartAssets) {
    const require = createRequire(import.meta.url);
    chartAssets = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return chartAssets;
}

/** Writes the report in each format, and a latest.<format> copy. `page` is what the HTML page shows besides the report. */
export function writeReportFiles(report: RunReport, dir: string, formats: readonly string[], page: HtmlPage): string[] {
  mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `${fileStamp(report.startedAt)}-${report.runId}`);
  const written: string[] = [];
  for (const format of formats) {
    const file = `${stem}.${format}`;
    if (format === 'json') writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    else if (format === 'md') writeFileSync(file, renderMarkdown(report));
    else if (format === 'html') writeFileSync(file, renderHtml(report, page, chart()));
    else continue;
    written.push(file);
    // A copy, not a symlink: it survives being synced to a share or opened from Windows.
    copyFileSync(file, path.join(dir, `latest.${format}`));
  }
  return written;
}

/** The report files of a run, or of the latest run. */
export function findReport(dir: string, runId: string, format: string): string | null {
  if (runId === 'latest') {
    const file = path.join(dir, `latest.${format}`);
    return existsSync(file) ? file : null;
  }
  if (!/^[\w-]+$/.test(runId)) return null;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  // A whole run ID, or its first characters (8 at least, as `parity runs` makes them easy to copy).
  const idOf = (n: string) => REPORT_FILE.exec(n)?.[2];
  const matching = names.filter((n) => n.endsWith(`.${format}`) && (idOf(n) === runId || (runId.length >= MIN_ID_PREFIX && idOf(n)?.startsWith(runId))));
  const ids = new Set(matching.map(idOf));
  if (ids.size > 1) throw new ParityError('PARITY_USAGE', `run ID prefix ${runId} matches ${ids.size} runs: give more of it`);
  return matching[0] ? path.join(dir, matching[0]) : null;
}

/** Removes report files whose timestamp is more than `days` old; 0 keeps everything. */
export function pruneReports(dir: string, days: number, now = new Date()): string[] {
  if (days <= 0) return [];
  const cutoff = fileStamp(new Date(now.getTime() - days * 86_400_000).toISOString());
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = REPORT_FILE.exec(name);
    if (m && m[1]! < cutoff) {
      rmSync(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

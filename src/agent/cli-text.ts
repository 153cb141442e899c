// What the CLI prints: the run summary, the progress bar on a terminal, and the text of
// `parity status`, `parity runs` and `parity list`.
import path from 'node:path';
import { redactUrl } from '../core/redact.js';
import { systemType } from '../systems/registry.js';
import { plural } from '../core/text.js';
import { percent } from '../reconcile/score.js';
import { displayPath, type LoadedConfig } from './config/load.js';
import type { RunRow } from './state/store.js';

export function summary(report: import('../reconcile/report.js').RunReport, files: string[]): string {
  const h = report.health;
  const unknown = report.entities.filter((e) => e.outcome === 'failed' || e.outcome === 'skipped').map((e) => e.name);
  const overall = h.overallMatch === null ? `overall match unknown (not compared: ${unknown.join(', ') || 'all'})` : `overall match ${percent(h.overallMatch).toFixed(2)}%`;
  const after = h.afterPush ? ` -> ${h.afterPush.score.toFixed(2)} (${h.afterPush.status}) after the push` : '';
  const lines = [`${h.score === null ? 'health none: nothing was compared' : `health ${h.score.toFixed(2)} (${h.status})${after}`}, ${overall}, ${report.mode}${report.dryRun ? ', dry run' : ''}`];
  const width = Math.max(...report.entities.map((e) => e.name.length), 6);
  for (const e of report.entities) {
    const d = e.diff;
    const sync = (['created', 'updated', 'deleted', 'rejected', 'pending'] as const).filter((k) => e.sync[k] > 0).map((k) => `${e.sync[k]} ${k}`);
    const detail = e.error
      ? e.error
      : `missing ${d.missing}, extra ${d.extra}, changed ${d.changed}${d.duplicates ? `, duplicates ${d.duplicates}` : ''}${d.invalid ? `, invalid ${d.invalid}` : ''}${sync.length ? `; ${report.dryRun ? 'would sync' : 'synced'} ${sync.join(', ')}` : ''}${e.blocked ? `; blocked: ${e.blocked}` : ''}`;
    lines.push(`  ${e.name.padEnd(width)}  ${e.match.toFixed(2).padStart(6)}%  ${e.status.padEnd(8)}  ${e.outcome.padEnd(11)}  ${detail}`);
  }
  for (const f of files) lines.push(`report: ${displayPath(f)}`);
  return `${lines.join('\n')}\n`;
}

/** A progress bar on a terminal (stderr), with a way for log lines to be printed above it
 *  instead of on its line. `stop()` ends and clears it; what is printed after comes below. */
export async function progressBar(progress: import('./progress.js').RunProgress): Promise<{ stop: () => void; log: (line: string) => void }> {
  const { default: cliProgress } = await import('cli-progress');
  const bars = new cliProgress.MultiBar(
    { format: 'parity {bar} {value}/{total} entities | {entity} {phase} | {read} read | {batches} sent', stream: process.stderr, hideCursor: true, clearOnComplete: true, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const payload = () => ({ entity: progress.entity ?? '-', phase: progress.phase, read: plural(progress.recordsRead, 'record'), batches: plural(progress.batchesSent, 'batch', 'batches') });
  const bar = bars.create(progress.entitiesTotal, 0, payload());
  const timer = setInterval(() => bar.update(progress.entitiesDone, payload()), 200);
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      bar.update(progress.entitiesDone, payload());
      // A redraw prints the log lines still waiting; stop() alone would drop them.
      bars.update();
      bars.stop();
    },
    // Printed above the bar at its next redraw (MultiBar keeps them in order).
    log: (line) => (stopped ? process.stderr.write(line) : bars.log(line.endsWith('\n') ? line : `${line}\n`)),
  };
}

export function statusText(s: Record<string, unknown>): string {
  const lines: string[] = [];
  const last = s.lastRun as { runId: string; status: string; health: { score: number | null; status: string | null } | null; finishedAt: string | null; error: string | null } | null;
  lines.push(`source: ${s.source === 'agent' ? `the running agent at ${s.url}` : `the state store (${s.reason})`}`);
  if (s.source === 'agent') {
    lines.push(`agent ${s.agent}, version ${s.version}, up ${s.uptimeS} s, ${s.state}`);
    const cur = s.current as { runId: string; entity: string | null; phase: string; recordsRead: number; batchesSent: number; entitiesDone: number; entitiesTotal: number } | null;
    if (cur) lines.push(`running ${cur.runId}: ${cur.entity ?? '-'} (${cur.phase}), ${plural(cur.recordsRead, 'record')} read, ${plural(cur.batchesSent, 'batch', 'batches')} sent, ${cur.entitiesDone}/${plural(cur.entitiesTotal, 'entity', 'entities')} done`);
    for (const n of (s.next as { kind: string; schedule: string; at: string | null }[]) ?? []) lines.push(`next ${n.kind} (${n.schedule}): ${n.at ?? '-'}`);
    const breakers = Object.entries((s.breakers as Record<string, string>) ?? {});
    if (breakers.length) lines.push(`breakers: ${breakers.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  lines.push(last ? `last run ${last.runId}: ${last.status}${last.health ? (last.health.score === null ? ', health none (nothing compared)' : `, health ${last.health.score.toFixed(2)} (${last.health.status})`) : ''}${last.finishedAt ? `, finished ${last.finishedAt}` : ''}${last.error ? `, ${last.error}` : ''}` : 'no runs yet');
  lines.push(`outbox: ${s.outboxPending} pending batch${s.outboxPending === 1 ? '' : 'es'}`);
  return `${lines.join('\n')}\n`;
}

/** The run history as a table: a header, fixed columns (a dry run is a column, not a shift). */
export function runsText(runs: RunRow[]): string {
  if (runs.length === 0) return 'no runs yet\n';
  // The log file's name, when the runs kept one (config `logs`): before the error, which runs on.
  const logWidth = Math.max(0, ...runs.map((r) => (r.logFile ? path.basename(r.logFile).length : 0)));
  const columns = logWidth ? [...RUN_COLUMNS.slice(0, -1), { title: 'log', width: logWidth }, RUN_COLUMNS.at(-1)!] : RUN_COLUMNS;
  const row = (cells: string[]) => cells.map((c, i) => (i === 6 ? c.padStart(8) : c.padEnd(columns[i]!.width))).join('  ').trimEnd();
  const lines = [row(columns.map((c) => c.title))];
  for (const r of runs) {
    const health = r.healthScore === null ? '-' : `${r.healthScore.toFixed(2)} ${r.healthStatus}`;
    const took = r.durationMs === null ? '-' : `${(r.durationMs / 1000).toFixed(1)} s`;
    const log = logWidth ? [r.logFile ? path.basename(r.logFile) : '-'] : [];
    lines.push(row([r.id, r.startedAt.toISOString(), r.status, r.mode, r.dryRun ? 'dry-run' : '-', r.trigger, took, health.padEnd(16), ...log, r.error ?? '']));
  }
  return `${lines.join('\n')}\n`;
}

const RUN_COLUMNS = [
  { title: 'run', width: 36 },
  { title: 'started', width: 24 },
  { title: 'status', width: 9 },
  { title: 'mode', width: 11 },
  { title: 'dry run', width: 7 },
  { title: 'trigger', width: 8 },
  { title: 'took', width: 8 },
  { title: 'health', width: 16 },
  { title: 'error', width: 0 },
];

export function listText(loaded: LoadedConfig): string {
  const c = loaded.config;
  const lines = ['systems:'];
  const sw = Math.max(...Object.keys(c.systems).map((n) => n.length));
  for (const [name, s] of Object.entries(c.systems)) {
    const where = systemType(s).describe(s);
    lines.push(`  ${name.padEnd(sw)}  ${s.type.padEnd(5)}  ${redactUrl(where)}`);
  }
  lines.push('entities (in run order):');
  const side = (s: LoadedConfig['entities'][number]['source']) => {
    const where = systemType(s.system).describeSide(s.config);
    return where === null ? s.systemName : `${s.systemName}:${where}`;
  };
  loaded.entities.forEach((e, i) => {
    const deps = e.config.dependsOn.length ? `, after ${e.config.dependsOn.join(', ')}` : '';
    lines.push(`  ${i + 1}. ${e.name}: ${side(e.source)} -> ${side(e.target)}, key ${e.keyFields.join('+')}${deps}`);
  });
  if (loaded.unset.length) lines.push(`not set in this environment (shown as 0): ${loaded.unset.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

// The Markdown summary of a run report: the file a person reads first.
import { plural } from '../core/text.js';
import type { EntityReport, RunReport } from './report.js';

const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const pct = (v: number) => `${v.toFixed(2)}%`;

function syncText(e: EntityReport): string {
  const s = e.sync;
  const parts = (['created', 'updated', 'deleted', 'rejected', 'pending'] as const).filter((k) => s[k] > 0).map((k) => `${s[k]} ${k}`);
  if (s.verified !== undefined) parts.push(`${s.verified} verified`);
  if (s.stillDiffer?.length) parts.push(`still differ: ${s.stillDiffer.slice(0, MD_SAMPLES).join(', ')}`);
  if (parts.length) return parts.join(', ');
  if (e.outcome === 'report-only') return 'nothing (report only)';
  if (e.outcome === 'blocked') return 'nothing (blocked)';
  return e.outcome === 'in-sync' ? '-' : e.outcome;
}

/** Samples per kind in the Markdown summary; the JSON keeps more. */
const MD_SAMPLES = 5;

export function renderMarkdown(report: RunReport): string {
  const lines: string[] = [];
  const h = report.health;
  lines.push(`# parity report ${report.startedAt}`);
  lines.push('');
  lines.push(
    `**Health ${h.score === null ? 'none: nothing was compared' : `${h.score.toFixed(2)} (${h.status})`}${h.afterPush ? ` → ${h.afterPush.score.toFixed(2)} (${h.afterPush.status}) after the push` : ''}** · overall match ${h.overallMatch === null ? 'unknown' : pct(h.overallMatch)} · ${report.mode}${report.dryRun ? ' · dry run' : ''} · ${(report.durationMs / 1000).toFixed(1)} s · run \`${report.runId}\``,
  );
  const sel = report.selection;
  if (sel?.source || sel?.filters) {
    const what = [sel.source ? `the entities read from ${cell(sel.source)}` : '', sel.filters ? `records with ${Object.entries(sel.filters).map(([f, v]) => `${cell(f)} = ${cell(v)}`).join(', ')}` : ''].filter(Boolean);
    lines.push('', `Only ${what.join('; only ')}.`);
  }
  lines.push('');
  lines.push('| entity | source | target | matched | missing | extra | changed | dup | invalid | match | status | synced | tripped |');
  lines.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|---|');
  for (const e of report.entities) {
    const d = e.diff;
    lines.push(
      `| ${cell(e.name)} | ${cell(e.source.system)} ${e.source.count} | ${cell(e.target.system)} ${e.target.count} | ${d.matched} | ${d.missing} | ${d.extra} | ${d.changed} | ${d.duplicates} | ${d.invalid} | ${pct(e.match)} | ${e.status} | ${cell(syncText(e))} | ${cell(e.tripped.join('; ') || '-')} |`,
    );
  }
  for (const e of report.entities) {
    const s = {
      missing: e.samples.missing.slice(0, MD_SAMPLES),
      extra: e.samples.extra.slice(0, MD_SAMPLES),
      changed: e.samples.changed.slice(0, MD_SAMPLES),
      duplicates: e.samples.duplicates.slice(0, MD_SAMPLES),
      invalid: e.samples.invalid.slice(0, MD_SAMPLES),
    };
    const notes: string[] = [];
    if (e.error) notes.push(`- **${e.outcome}**: ${cell(e.error)}`);
    if (e.blocked) notes.push(`- **blocked**: ${cell(e.blocked)}`);
    if (e.window) notes.push(`- window: records whose ${cell(e.window.field)} is at ${e.window.from} or later`);
    if (e.forced) notes.push(`- **forced** past the safety guards by ${cell(e.forced.by)} at ${e.forced.at}`);
    for (const q of e.quarantined ?? []) notes.push(`- **quarantined batch** (not sent again in this run; the next run tries again: fix the data or the receiver): ${cell(q)}`);
    for (const r of (e.rejections ?? []).slice(0, MD_SAMPLES)) notes.push(`- rejected \`${r.localId}\`: ${cell(r.error)}`);
    if (e.sync.stillDiffer?.length) notes.push(`- **after the push ${e.target.system} still differs** for ${e.sync.stillDiffer.slice(0, MD_SAMPLES).map((k) => `\`${k}\``).join(', ')}`);
    if (e.conflicts) notes.push(`- ${e.conflicts.strategy}: ${plural(e.conflicts.sourceWins, 'changed record keeps', 'changed records keep')} ${e.source.system}'s version, ${e.conflicts.targetWins} ${e.conflicts.targetWins === 1 ? 'keeps' : 'keep'} ${e.target.system}'s`);
    if (s.missing.length) notes.push(`- missing in ${e.target.system}: ${s.missing.map((k) => `\`${k}\``).join(', ')}${e.diff.missing > s.missing.length ? ', …' : ''}`);
    if (s.extra.length) notes.push(`- extra in ${e.target.system}: ${s.extra.map((k) => `\`${k}\``).join(', ')}${e.diff.extra > s.extra.length ? ', …' : ''}`);
    for (const c of s.changed) {
      const fields = Object.entries(c.fields).map(([f, [a, b]]) => `${f} ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
      notes.push(`- changed \`${c.key}\`: ${fields.join(', ')}`);
    }
    if (e.diff.changed > s.changed.length) notes.push(`- … and ${e.diff.changed - s.changed.length} more changed`);
    for (const d of s.duplicates) notes.push(`- duplicate key \`${d.key}\` in ${d.side === 'source' ? e.source.system : e.target.system} (${d.occurrences} records)`);
    if (e.diff.duplicates > 0 && e.samples.duplicates.length > s.duplicates.length) notes.push('- … more duplicate keys in the JSON report');
    for (const i of s.invalid) notes.push(`- invalid in ${i.side === 'source' ? e.source.system : e.target.system}: ${cell(i.ref)}: ${cell(i.reason)}`);
    if (e.diff.invalid > s.invalid.length) notes.push(`- … ${e.diff.invalid - s.invalid.length} more invalid records`);
    for (const a of e.attachments?.fields ?? []) notes.push(`- attachments ${a.field}: ${attachmentText(a, e)}`);
    for (const p of (e.attachments?.problems ?? []).slice(0, MD_SAMPLES)) notes.push(`- attachment ${cell(p)}`);
    const how = joinText(e);
    if (how) notes.push(`- ${how}`);
    if (e.keyChains) {
      notes.push(`- keys: ${e.keyChains.map((c) => `${c.fields.join('+')} ${c.source} in ${e.source.system}, ${c.target} in ${e.target.system}`).join('; ')}`);
    }
    const metricRows = e.metrics.map((m) => `| ${cell(m.group ? `${m.name} [${m.group}]` : m.name)} | ${m.source} | ${m.target} | ${pct(m.match)} |`);
    if (notes.length || metricRows.length) {
      lines.push('', `## ${e.name}`, '', ...notes);
      if (metricRows.length) lines.push(...(notes.length ? [''] : []), '| metric | source | target | match |', '|---|--:|--:|--:|', ...metricRows);
    }
  }
  lines.push('');
  return lines.join('\n');
}

function attachmentText(a: NonNullable<EntityReport['attachments']>['fields'][number], e: EntityReport): string {
  const side = (c: typeof a.source) => `${c.with} with, ${c.without} without${c.tooLarge ? `, ${c.tooLarge} too large` : ''}${c.unreadable ? `, ${c.unreadable} unreadable` : ''}`;
  return `${e.source.system} ${side(a.source)}; ${e.target.system} ${side(a.target)}; ${a.missing} missing, ${a.different} different in ${e.target.system}; ${a.copied} copied${a.notCopied ? `, ${a.notCopied} not copied` : ''}`;
}

/** How the entity's sides were joined, when it was bisected or could not be. */
export function joinText(e: EntityReport): string | null {
  const j = e.join;
  if (!j) return null;
  if (j.strategy === 'bisection' && j.segments && j.rowsRead) {
    return `bisection: ${j.segments.read} of ${j.segments.checked} segments read; rows read ${j.rowsRead.source} in ${e.source.system}, ${j.rowsRead.target} in ${e.target.system}; ${j.queries ?? 0} checksum queries, ${j.bytes ?? 0} bytes`;
  }
  if (j.strategy === 'attach' && j.rowsRead) {
    return `both tables joined in SQLite: rows read ${j.rowsRead.source} in ${e.source.system}, ${j.rowsRead.target} in ${e.target.system} (the keys that differ)`;
  }
  return j.fallback ? `read in full, not bisected: ${j.fallback}` : null;
}

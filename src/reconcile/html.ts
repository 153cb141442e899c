// The HTML report: one self-contained page (no network: the chart library is inlined) with
// the health line, the trend of the health score over past runs, a bar per entity's match,
// metric tables and samples. Pure: the caller passes the trend and the chart's assets.
import type { EntityReport, RunReport } from './report.js';
import { joinText } from './markdown.js';

export interface TrendPoint {
  /** ISO time the run started. */
  at: string;
  score: number;
}

export interface ChartAssets {
  js: string;
  css: string;
}

const esc = (v: unknown) =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

const pct = (v: number) => `${v.toFixed(2)}%`;

const cell = (label: string, html: string, cls = '') => `<td data-label="${esc(label)}"${cls ? ` class="${cls}"` : ''}>${html}</td>`;

function entityRow(e: EntityReport): string {
  const d = e.diff;
  const width = Math.max(0, Math.min(100, e.match));
  const after = e.matchAfterPush !== undefined ? ` <small>→ ${pct(e.matchAfterPush)}</small>` : '';
  return `<tr class="entity" data-entity="${esc(e.name)}">
${cell('entity', `<a href="#e-${esc(e.name)}">${esc(e.name)}</a>`)}
${cell('source', `${esc(e.source.system)} <b>${e.source.count}</b>`)}${cell('target', `${esc(e.target.system)} <b>${e.target.count}</b>`)}
${cell('missing', String(d.missing))}${cell('extra', String(d.extra))}${cell('changed', String(d.changed))}${cell('dup', String(d.duplicates))}${cell('invalid', String(d.invalid))}
${cell('match', `<div class="bar"><span class="${esc(e.status)}" style="width:${width}%"></span></div>${pct(e.match)}${after}`, 'match')}
${cell('status', `<span class="badge ${esc(e.status)}">${esc(e.status)}</span>`)}${cell('outcome', esc(e.outcome))}${cell('tripped', esc(e.tripped.join('; ') || '–'), 'wrap')}
</tr>`;
}

/** What the push did per entity; null when no entity pushed (or would have, in a dry run). */
function pushedTable(report: RunReport): string | null {
  const pushed = report.entities.filter((e) => Object.values(e.sync).some((v) => typeof v === 'number' && v > 0) || e.sync.verified !== undefined || e.quarantined?.length);
  if (pushed.length === 0) return null;
  const n = (v: number | undefined) => (v === undefined ? '–' : String(v));
  const rows = pushed.map((e) => {
    const s = e.sync;
    return `<tr>${cell('entity', esc(e.name))}${cell('created', n(s.created))}${cell('updated', n(s.updated))}${cell('deleted', n(s.deleted))}${cell('rejected', n(s.rejected))}${cell('verified', n(s.verified))}${cell('still differ', String(s.stillDiffer?.length ?? 0))}${cell('pending', n(s.pending))}${cell('quarantined', String(e.quarantined?.length ?? 0))}${cell('match after', e.matchAfterPush === undefined ? '–' : pct(e.matchAfterPush))}</tr>`;
  });
  const title = report.dryRun ? 'What the push would do (dry run)' : 'Pushed';
  return `<h2>${title}</h2>
<div class="scroll"><table id="pushed" class="cards"><thead><tr><th>entity</th><th>created</th><th>updated</th><th>deleted</th><th>rejected</th><th>verified</th><th>still differ</th><th>pending</th><th>quarantined</th><th>match after</th></tr></thead>${rows.join('')}</table></div>`;
}

/** Attachment coverage per entity and field; null when no entity has attachments. */
function attachmentsTable(report: RunReport): string | null {
  const rows = report.entities.flatMap((e) =>
    (e.attachments?.fields ?? []).map((a) => {
      const side = (c: typeof a.source) => `${c.with} / ${c.without}${c.tooLarge ? ` <small>${c.tooLarge} too large</small>` : ''}${c.unreadable ? ` <small>${c.unreadable} unreadable</small>` : ''}`;
      return `<tr>${cell('entity', esc(e.name))}${cell('field', esc(a.field))}${cell(`${e.source.system} with / without`, side(a.source))}${cell(`${e.target.system} with / without`, side(a.target))}${cell('missing', String(a.missing))}${cell('different', String(a.different))}${cell('copied', String(a.copied))}${cell('not copied', String(a.notCopied))}</tr>`;
    }),
  );
  if (!rows.length) return null;
  const problems = report.entities.flatMap((e) => (e.attachments?.problems ?? []).map((p) => `<li>${esc(e.name)}: ${esc(p)}</li>`));
  return `<h2>Attachments</h2>
<p class="note">Files are compared by the hash of their content. Missing: the source has a file the target lacks; different: both have one and it differs.</p>
<div class="scroll"><table id="attachments" class="cards"><thead><tr><th>entity</th><th>field</th><th>source with / without</th><th>target with / without</th><th>missing</th><th>different</th><th>copied</th><th>not copied</th></tr></thead>${rows.join('')}</table></div>
${problems.length ? `<ul class="invalid">${problems.join('')}</ul>` : ''}`;
}

/** The run's log file and its per-record history, when there are any. */
function runNotes(report: RunReport, page: HtmlPage): string {
  const parts: string[] = [];
  const sel = report.selection;
  if (sel?.source) parts.push(`Only the entities read from <code>${esc(sel.source)}</code>`);
  if (sel?.filters) parts.push(`only records with ${Object.entries(sel.filters).map(([f, v]) => `<code>${esc(f)} = ${esc(v)}</code>`).join(', ')}`);
  if (page.logFile) parts.push(`Log file <code>${esc(page.logFile)}</code>`);
  const counts = Object.entries(page.history ?? {}).filter(([, n]) => (n ?? 0) > 0);
  if (counts.length) parts.push(`per-record history: ${counts.map(([status, n]) => `${n} ${esc(status)}`).join(', ')} (<code>parity runs show ${esc(report.runId.slice(0, 8))} --errors</code>)`);
  return parts.length ? `<p class="note" id="run-files">${parts.join(' · ')}</p>` : '';
}

function entityDetails(e: EntityReport): string {
  const parts: string[] = [];
  if (e.error) parts.push(`<p class="error">${esc(e.error)}</p>`);
  if (e.blocked) parts.push(`<p class="error">blocked: ${esc(e.blocked)}</p>`);
  const how = joinText(e);
  if (how) parts.push(`<p class="note">${esc(how)}</p>`);
  if (e.window) parts.push(`<p class="note">Window: records whose <code>${esc(e.window.field)}</code> is at ${esc(e.window.from)} or later; the others were not compared.</p>`);
  const keys = (label: string, list: string[], total: number) =>
    list.length ? `<p><b>${label}</b> (${total}): ${list.map((k) => `<code>${esc(k)}</code>`).join(', ')}${total > list.length ? ', …' : ''}</p>` : '';
  parts.push(keys(`missing in ${e.target.system}`, e.samples.missing, e.diff.missing));
  parts.push(keys(`extra in ${e.target.system}`, e.samples.extra, e.diff.extra));
  if (e.samples.changed.length) {
    const rows = e.samples.changed.flatMap((c) =>
      Object.entries(c.fields).map(([f, [a, b]]) => `<tr>${cell('key', `<code>${esc(c.key)}</code>`)}${cell('field', esc(f))}${cell(e.source.system, esc(a ?? 'null'), 'wrap')}${cell(e.target.system, esc(b ?? 'null'), 'wrap')}</tr>`),
    );
    parts.push(`<div class="scroll"><table class="cards changed"><caption>changed (${e.diff.changed})</caption><thead><tr><th>key</th><th>field</th><th>${esc(e.source.system)}</th><th>${esc(e.target.system)}</th></tr></thead>${rows.join('')}</table></div>`);
  }
  if (e.samples.duplicates.length) parts.push(`<p><b>duplicate keys</b>: ${e.samples.duplicates.map((d) => `<code>${esc(d.key)}</code> ×${d.occurrences} in ${esc(d.side)}`).join(', ')}</p>`);
  if (e.samples.invalid.length) parts.push(`<ul class="invalid">${e.samples.invalid.map((i) => `<li>${esc(i.side)}: ${esc(i.ref)}: ${esc(i.reason)}</li>`).join('')}</ul>`);
  if (e.metrics.length) {
    const rows = e.metrics.map((m) => `<tr>${cell('metric', esc(m.group ? `${m.name} [${m.group}]` : m.name), 'wrap')}${cell(e.source.system, String(m.source))}${cell(e.target.system, String(m.target))}${cell('match', pct(m.match))}</tr>`);
    parts.push(`<div class="scroll"><table class="cards metrics"><caption>metrics</caption><thead><tr><th>metric</th><th>${esc(e.source.system)}</th><th>${esc(e.target.system)}</th><th>match</th></tr></thead>${rows.join('')}</table></div>`);
  }
  const body = parts.filter(Boolean).join('\n');
  return `<details id="e-${esc(e.name)}"${e.outcome === 'failed' ? ' open' : ''}><summary>${esc(e.name)} — ${pct(e.match)} ${esc(e.status)}, ${esc(e.outcome)}</summary>${body || '<p>No differences.</p>'}</details>`;
}

const STYLE = `
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d232a;background:#f6f7f9}
body{margin:0 auto;max-width:1200px;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.health{font-size:1.1rem}.health b{font-size:1.6rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left;white-space:nowrap}
td.wrap{white-space:normal;min-width:8rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
.bar{display:inline-block;width:5rem;height:.6rem;background:#e3e6ea;margin-right:.4rem;vertical-align:middle}
.bar span{display:block;height:100%}
.perfect{background:#2e9e5b}.good{background:#7bb661}.warning{background:#e0a526}.critical{background:#d64545}.none{background:#8a949e}
.badge{color:#fff;padding:.1rem .4rem;border-radius:.3rem;font-size:.8rem}
details{background:#fff;margin:.5rem 0;padding:.5rem .8rem;border-radius:.3rem}
summary{cursor:pointer;font-weight:600}
.error{color:#b02a2a}code{font-size:.85rem;word-break:break-all}
#trend{background:#fff;min-height:220px;overflow:hidden}
.note{color:#5b6570;font-size:.85rem}
@media (max-width:700px){
 body{padding:.5rem}th,td{padding:.3rem}
 table.cards thead{display:none}
 table.cards,table.cards tbody,table.cards tr,table.cards td,table.cards caption{display:block;width:auto}
 table.cards tr{margin:0 0 .6rem;border:1px solid #e3e6ea;border-radius:.3rem;background:#fff}
 table.cards td{display:flex;justify-content:space-between;gap:1rem;white-space:normal;text-align:right}
 table.cards td::before{content:attr(data-label);font-weight:600;text-align:left}
}
`;

export interface HtmlPage {
  /** The config file's name, for the title. */
  config: string;
  /** The health bands, drawn as lines on the trend chart. */
  bands: { perfect: number; good: number; warning: number };
  /** The health of past whole runs (no dry run, no subset), oldest first or in any order. */
  trend: readonly TrendPoint[];
  /** The file this run's log lines went to (config `logs`). */
  logFile?: string | null | undefined;
  /** How many records of this run the per-record history holds, by status. */
  history?: Partial<Record<string, number>> | undefined;
}

export function renderHtml(report: RunReport, page: HtmlPage, chart: ChartAssets): string {
  const h = report.health;
  const points = [...page.trend].sort((a, b) => (a.at < b.at ? -1 : 1));
  const data = [points.map((p) => Math.floor(Date.parse(p.at) / 1000)), points.map((p) => p.score)];
  const systems = [...new Set(report.entities.flatMap((e) => [e.source.system, e.target.system]))].join(', ');
  const when = report.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const health = h.score === null ? '<b>none</b> <span class="badge none">nothing compared</span>' : `<b>${h.score.toFixed(2)}</b> <span class="badge ${esc(h.status)}">${esc(h.status)}</span>`;
  const after = h.afterPush ? ` → <b>${h.afterPush.score.toFixed(2)}</b> <span class="badge ${esc(h.afterPush.status)}">${esc(h.afterPush.status)}</span> after the push` : '';
  const apart = report.dryRun ? 'this dry run is not in it' : report.entities.length && !points.some((p) => p.at === report.startedAt) ? 'this run is not in it (not every entity was compared)' : '';
  const pushed = pushedTable(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>parity · ${esc(page.config)} · ${esc(systems)} · ${esc(when)}</title>
<style>${chart.css}</style><style>${STYLE}</style></head>
<body>
<header><h1>parity · ${esc(page.config)}</h1>
<p class="note">${esc(systems)} · ${esc(when)} · ${esc(report.trigger)}${report.dryRun ? ' · <b>dry run</b>' : ''}</p>
<p class="health">Health ${health}${after} · overall match ${h.overallMatch === null ? 'unknown' : pct(h.overallMatch)} · ${esc(report.mode)} · ${(report.durationMs / 1000).toFixed(1)} s</p>
<p class="note">Health as compared, before the push${h.afterPush ? '; after the push counts what the target showed when read back' : ''}. Run <code>${esc(report.runId)}</code>.</p>
${runNotes(report, page)}</header>
<h2>Health score, last ${points.length} whole run${points.length === 1 ? '' : 's'}</h2>
<p class="note">Dry runs and runs of some entities only (--entities) are left out${apart ? `; ${apart}` : ''}. Lines: perfect ${page.bands.perfect}, good ${page.bands.good}, warning ${page.bands.warning}.</p>
${points.length ? '<div id="trend"></div>' : '<p>No whole run yet.</p>'}
<h2>Entities</h2>
<div class="scroll"><table id="entities" class="cards"><thead><tr><th>entity</th><th>source</th><th>target</th><th>missing</th><th>extra</th><th>changed</th><th>dup</th><th>invalid</th><th>match</th><th>status</th><th>outcome</th><th>tripped</th></tr></thead>
${report.entities.map(entityRow).join('\n')}
</table></div>
${pushed ?? ''}
${attachmentsTable(report) ?? ''}
<h2>Details</h2>
${report.entities.map(entityDetails).join('\n')}
${points.length ? `<script>${chart.js}</script>
<script>
(function () {
  var data = ${scriptJson(data)};
  var bands = ${scriptJson([page.bands.perfect, page.bands.good, page.bands.warning])};
  var el = document.getElementById('trend');
  var width = Math.max(260, Math.floor(el.getBoundingClientRect().width) || (window.innerWidth - 32));
  var day = 86400;
  function bandLines(u) {
    var ctx = u.ctx;
    ctx.save();
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1;
    ['#2e9e5b', '#7bb661', '#e0a526'].forEach(function (color, i) {
      var y = Math.round(u.valToPos(bands[i], 'y', true));
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
    });
    ctx.restore();
  }
  new uPlot({ width: width, height: 220, legend: { show: false },
    // One run: a day either side, so the axis reads as dates, not as seconds.
    scales: { x: data[0].length === 1 ? { time: true, auto: false, min: data[0][0] - day, max: data[0][0] + day } : { time: true }, y: { auto: false, min: 0, max: 100 } },
    series: [{}, { label: 'health', stroke: '#2e6fd6', width: 2, points: { show: true, size: 7 } }],
    axes: [{}, { values: function (u, v) { return v.map(function (x) { return x + '%'; }); } }],
    hooks: { draw: [bandLines] } }, data, el);
})();
</script>` : ''}
</body></html>
`;
}

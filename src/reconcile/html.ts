// The HTML report: one self-contained page (no network: the chart library is inlined) with
// the health line, the trend of the health score over past runs, a bar per entity's match,
// metric tables and samples. Pure: the caller passes the trend and the chart's assets.
import type { EntityReport, RunReport } from './report.js';

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

function entityRow(e: EntityReport): string {
  const d = e.diff;
  const width = Math.max(0, Math.min(100, e.match));
  return `<tr class="entity" data-entity="${esc(e.name)}">
<td><a href="#e-${esc(e.name)}">${esc(e.name)}</a></td>
<td>${esc(e.source.system)} <b>${e.source.count}</b></td><td>${esc(e.target.system)} <b>${e.target.count}</b></td>
<td>${d.missing}</td><td>${d.extra}</td><td>${d.changed}</td><td>${d.duplicates}</td><td>${d.invalid}</td>
<td class="match"><div class="bar"><span class="${esc(e.status)}" style="width:${width}%"></span></div>${pct(e.match)}</td>
<td><span class="badge ${esc(e.status)}">${esc(e.status)}</span></td><td>${esc(e.outcome)}</td><td>${esc(e.tripped.join('; ') || '–')}</td>
</tr>`;
}

function entityDetails(e: EntityReport): string {
  const parts: string[] = [];
  if (e.error) parts.push(`<p class="error">${esc(e.error)}</p>`);
  if (e.blocked) parts.push(`<p class="error">blocked: ${esc(e.blocked)}</p>`);
  const keys = (label: string, list: string[], total: number) =>
    list.length ? `<p><b>${label}</b> (${total}): ${list.map((k) => `<code>${esc(k)}</code>`).join(', ')}${total > list.length ? ', …' : ''}</p>` : '';
  parts.push(keys(`missing in ${e.target.system}`, e.samples.missing, e.diff.missing));
  parts.push(keys(`extra in ${e.target.system}`, e.samples.extra, e.diff.extra));
  if (e.samples.changed.length) {
    const rows = e.samples.changed.flatMap((c) =>
      Object.entries(c.fields).map(([f, [a, b]]) => `<tr><td><code>${esc(c.key)}</code></td><td>${esc(f)}</td><td>${esc(a ?? 'null')}</td><td>${esc(b ?? 'null')}</td></tr>`),
    );
    parts.push(`<div class="scroll"><table><caption>changed (${e.diff.changed})</caption><tr><th>key</th><th>field</th><th>${esc(e.source.system)}</th><th>${esc(e.target.system)}</th></tr>${rows.join('')}</table></div>`);
  }
  if (e.samples.duplicates.length) parts.push(`<p><b>duplicate keys</b>: ${e.samples.duplicates.map((d) => `<code>${esc(d.key)}</code> ×${d.occurrences} in ${esc(d.side)}`).join(', ')}</p>`);
  if (e.samples.invalid.length) parts.push(`<ul class="invalid">${e.samples.invalid.map((i) => `<li>${esc(i.side)}: ${esc(i.ref)}: ${esc(i.reason)}</li>`).join('')}</ul>`);
  if (e.metrics.length) {
    const rows = e.metrics.map((m) => `<tr><td>${esc(m.group ? `${m.name} [${m.group}]` : m.name)}</td><td>${m.source}</td><td>${m.target}</td><td>${pct(m.match)}</td></tr>`);
    parts.push(`<div class="scroll"><table class="metrics"><caption>metrics</caption><tr><th>metric</th><th>${esc(e.source.system)}</th><th>${esc(e.target.system)}</th><th>match</th></tr>${rows.join('')}</table></div>`);
  }
  const body = parts.filter(Boolean).join('\n');
  return `<details id="e-${esc(e.name)}"${e.outcome === 'failed' ? ' open' : ''}><summary>${esc(e.name)} — ${pct(e.match)} ${esc(e.status)}, ${esc(e.outcome)}</summary>${body || '<p>No differences.</p>'}</details>`;
}

const STYLE = `
:root{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d232a;background:#f6f7f9}
body{margin:0 auto;max-width:1100px;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.health{font-size:1.1rem}.health b{font-size:1.6rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left;white-space:nowrap}
caption{text-align:left;font-weight:600;padding:.4rem 0}
.bar{display:inline-block;width:6rem;height:.6rem;background:#e3e6ea;margin-right:.4rem;vertical-align:middle}
.bar span{display:block;height:100%}
.perfect{background:#2e9e5b}.good{background:#7bb661}.warning{background:#e0a526}.critical{background:#d64545}
.badge{color:#fff;padding:.1rem .4rem;border-radius:.3rem;font-size:.8rem}
details{background:#fff;margin:.5rem 0;padding:.5rem .8rem;border-radius:.3rem}
summary{cursor:pointer;font-weight:600}
.error{color:#b02a2a}code{font-size:.85rem}
#trend{background:#fff;min-height:220px;overflow:hidden}
@media (max-width:600px){body{padding:.5rem}th,td{padding:.3rem}}
`;

export function renderHtml(report: RunReport, trend: readonly TrendPoint[], chart: ChartAssets): string {
  const h = report.health;
  const points = [...trend].sort((a, b) => (a.at < b.at ? -1 : 1));
  const data = [points.map((p) => Math.floor(Date.parse(p.at) / 1000)), points.map((p) => p.score)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>parity report ${esc(report.startedAt)}</title>
<style>${chart.css}</style><style>${STYLE}</style></head>
<body>
<header><h1>parity report</h1>
<p class="health">Health <b>${h.score === null ? 'none' : h.score.toFixed(2)}</b> <span class="badge ${esc(h.status ?? 'none')}">${esc(h.status ?? 'nothing compared')}</span> · overall match ${h.overallMatch === null ? 'unknown' : pct(h.overallMatch)} · ${esc(report.mode)}${report.dryRun ? ' · dry run' : ''} · ${(report.durationMs / 1000).toFixed(1)} s</p>
<p><small>run <code>${esc(report.runId)}</code>, started ${esc(report.startedAt)}, ${esc(report.trigger)}</small></p></header>
<h2>Health score, last ${points.length} run${points.length === 1 ? '' : 's'}</h2>
<div id="trend"></div>
<h2>Entities</h2>
<div class="scroll"><table id="entities"><tr><th>entity</th><th>source</th><th>target</th><th>missing</th><th>extra</th><th>changed</th><th>dup</th><th>invalid</th><th>match</th><th>status</th><th>outcome</th><th>tripped</th></tr>
${report.entities.map(entityRow).join('\n')}
</table></div>
<h2>Details</h2>
${report.entities.map(entityDetails).join('\n')}
<script>${chart.js}</script>
<script>
(function () {
  var data = ${scriptJson(data)};
  var el = document.getElementById('trend');
  var width = Math.max(260, Math.floor(el.getBoundingClientRect().width) || (window.innerWidth - 32));
  new uPlot({ width: width, height: 220,
    scales: { x: { time: true, range: function (u, min, max) { return min === max ? [min - 3600, max + 3600] : [min, max]; } }, y: { range: [0, 100] } },
    series: [{}, { label: 'health', stroke: '#2e6fd6', width: 2, points: { show: true } }],
    axes: [{}, { values: function (u, v) { return v.map(function (x) { return x + '%'; }); } }] }, data, el);
})();
</script>
</body></html>
`;
}

// The HTML report as an operations person reads it, in headless Chromium at 1280 px and on a
// 400 px phone: the health before and after the push, what was pushed per entity, the trend
// of whole runs only (no dry run, no --entities subset), the config and systems in the title,
// no legend, and nothing cut off: no table wider than the page at either width. The
// screenshots are kept (PARITY_SCREENSHOTS=<folder>) to be looked at.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receiver } from '../../examples/receiver/server.js';
import { runCli } from '../helpers/cli.js';
import { demoWorld } from '../helpers/demo.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const TOKEN = 'html-report-token-5e21';
const dir = tempDir();
let receiver: Receiver;
let env: Record<string, string>;
const config = path.join(dir, 'parity.yaml');

beforeAll(async () => {
  ({ receiver, env } = await demoWorld(dir, TOKEN, { products: 300, customers: 120, stockSkus: 100 }, [5, 6]));
});
afterAll(() => receiver.close());

const run = async (...args: string[]) => {
  const r = await runCli(['run', '--json', ...args, '--config', config], { env });
  return parseReport(r.stdout);
};

async function chrome(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(dir, `chromium-${Date.now()}`)}`, '--hide-scrollbars', '--virtual-time-budget=5000', ...args], { maxBuffer: 20 << 20, timeout: 90_000 });
  return stdout;
}

/** The page with a script of the test's appended that measures the layout into the DOM. */
function measured(html: string): string {
  const page = readFileSync(html, 'utf8').replace(
    '</body>',
    `<script>window.addEventListener('load', function () {
  var over = [].slice.call(document.querySelectorAll('table')).filter(function (t) { return t.getBoundingClientRect().right > window.innerWidth + 1; }).map(function (t) { return t.id || t.className || 'table'; });
  parent.postMessage(JSON.stringify({ width: window.innerWidth, page: document.documentElement.scrollWidth, over: over, legend: document.querySelectorAll('.u-legend').length, canvas: document.querySelectorAll('#trend canvas').length }), '*');
});</script></body>`,
  );
  writeFileSync(html.replace(/\.html$/, '.measured.html'), page);
  return html.replace(/\.html$/, '.measured.html');
}

/** A frame of exactly `width` px around a page (headless Chromium's window is 500 px at least). */
function framed(src: string, width: number, height: number): string {
  const file = path.join(path.dirname(src), `frame-${width}-${path.basename(src)}`);
  writeFileSync(
    file,
    `<!doctype html><html><body style="margin:0"><iframe src="${path.basename(src)}" style="width:${width}px;height:${height}px;border:0;display:block"></iframe><pre id="layout"></pre>
<script>addEventListener('message', function (e) { document.getElementById('layout').textContent = e.data; });</script></body></html>`,
  );
  return file;
}

describe.skipIf(!chromium)('[chromium] the HTML report for the people who run it', () => {
  it('shows health before and after the push, what was pushed, a trend of whole runs, and fits 1280 px and 400 px', async () => {
    // History: a dry run and a one-entity run (both left out of the trend), then the push.
    expect((await run('--dry-run')).dryRun).toBe(true);
    await run('--entities', 'customers');
    const pushed = await run();
    expect(pushed.health.afterPush.score).toBeGreaterThan(pushed.health.score);
    const html = path.join(dir, 'reports', `${pushed.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${pushed.runId}.html`);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/<title>parity · parity\.yaml · erp, shop · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/title>/);
    expect(page).toContain(`→ <b>${pushed.health.afterPush.score.toFixed(2)}</b>`);
    expect(page).toContain('<h2>Pushed</h2>');
    expect(page.match(/<table id="pushed"[\s\S]*?<\/table>/)![0].match(/<tr>/g)!.length).toBe(1 + pushed.entities.filter((e: { sync: { created: number; updated: number; deleted: number } }) => e.sync.created + e.sync.updated + e.sync.deleted > 0).length);
    // The trend holds the one whole run: the dry run and the subset are left out.
    expect(page).toContain('<h2>Health score, last 1 whole run</h2>');
    const dump = (width: number, height: number) => chrome([`--window-size=${Math.max(width, 600)},${height}`, '--allow-file-access-from-files', '--dump-dom', pathToFileURL(framed(measured(html), width, height)).href]);
    for (const [width, height] of [[1280, 2400], [400, 3600]] as const) {
      const layout = JSON.parse(/<pre id="layout">([^<]*)<\/pre>/.exec(await dump(width, height))![1]!.replace(/&quot;/g, '"')) as { width: number; page: number; over: string[]; legend: number; canvas: number };
      expect(layout.width).toBe(width);
      // Nothing wider than the screen: no cut-off column, no sideways scrolling.
      expect(layout.over, `tables wider than ${width} px`).toEqual([]);
      expect(layout.page).toBeLessThanOrEqual(width);
      expect(layout.legend).toBe(0);
      expect(layout.canvas).toBeGreaterThan(0);
      const shot = path.join(dir, `report-${width}.png`);
      await chrome([`--window-size=${Math.max(width, 600)},${height}`, '--allow-file-access-from-files', `--screenshot=${shot}`, pathToFileURL(framed(html, width, height)).href]);
      expect(existsSync(shot)).toBe(true);
      const keep = process.env.PARITY_SCREENSHOTS;
      if (keep) {
        mkdirSync(keep, { recursive: true });
        copyFileSync(shot, path.join(keep, `report-${width}.png`));
      }
    }
  }, 180_000);
});

// `parity run` on a terminal, looked at as a person sees it (tmux's screen): log lines come
// above the progress bar, never on its line; the bar is gone at the end and the summary is
// printed below everything else, not over the top of the screen.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgs, ROOT } from '../helpers/cli.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const tmux = spawnSync('tmux', ['-V']).status === 0;
if (!tmux) process.stderr.write('[terminal] tmux is not installed: the progress bar is not looked at on a terminal\n');

const session = `parity-${process.pid}`;
const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).split('\n').map((l) => l.trimEnd());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!tmux)('[terminal] the progress bar', () => {
  const dir = tempDir();
  beforeAll(async () => {
    // Twenty pages, 150 ms each: the bar is on the screen for three seconds.
    let n = 0;
    const app = new Hono().get('/slow', async (c) => {
      await sleep(150);
      n++;
      return c.json({ items: [{ id: n, qty: n }], ...(n % 20 === 0 ? {} : { next: `c${n}` }) });
    });
    const api = await serveApp(app);
    writeFileSync(path.join(dir, 'a.csv'), 'id,qty\n1,1\n');
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  file: { type: csv, path: a.csv }
  gone: { type: csv, path: missing.csv }
  api: { type: http, baseUrl: "${api}" }
entities:
  broken: { key: id, source: { system: gone }, target: { system: file } }
  slow:
    key: id
    source: { system: api, path: /slow, list: items, pagination: { type: cursor, nextCursor: next } }
    target: { system: file }
`,
    );
  });
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session]);
  });

  it('log lines above the bar while it runs; at the end no bar, and the summary below the logs', async () => {
    const command = `cd ${ROOT} && PARITY_CONFIG= node ${agentArgs('run', '--config', path.join(dir, 'parity.yaml')).join(' ')}; echo __DONE__; sleep 60`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', command]);
    // While the slow entity reads: the error of the broken one is above the bar, the bar is the last line.
    let during: string[] = [];
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      during = screen().filter((l) => l !== '');
      if (during.some((l) => l.includes('slow read'))) break;
    }
    const barLine = during.findIndex((l) => l.startsWith('parity '));
    expect(barLine, during.join('\n')).toBe(during.length - 1);
    expect(during.at(-1)).toMatch(/^parity \S+ 1\/2 entities \| slow read \| \d+ records? read \| 0 batches sent$/);
    expect(during.findIndex((l) => l.includes('ERROR: entity failed'))).toBeLessThan(barLine);
    // No log text on the bar's line, no bar text on a log line.
    for (const l of during.slice(0, -1)) expect(l).not.toMatch(/^parity .*entities \|/);

    let after: string[] = [];
    for (let i = 0; i < 150 && !after.includes('__DONE__'); i++) {
      await sleep(100);
      after = screen().filter((l) => l !== '');
    }
    expect(after).toContain('__DONE__');
    expect(after.some((l) => l.startsWith('parity ') && l.includes('entities |'))).toBe(false);
    const error = after.findIndex((l) => l.includes('ERROR: entity failed'));
    const summary = after.findIndex((l) => l.startsWith('health '));
    expect(error).toBeGreaterThanOrEqual(0);
    expect(summary).toBeGreaterThan(error);
    expect(after[summary]).toMatch(/^health \d+\.\d\d \(critical\), overall match unknown \(not compared: broken\), full$/);
    expect(after.slice(summary + 1, summary + 3).map((l) => l.trim().split(/\s+/)[0])).toEqual(['broken', 'slow']);
  }, 60_000);
});

// Deadlines everywhere: a source that sends its body one byte a second, one that hands out a
// new cursor for ever, and one that pages steadily past the entity's maxDurationS each end
// with one line naming the URL or entity and the limit; the healthy entity of the same run
// completes and the report is written.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
let drip: Server;
let dripUrl = '';
let api = '';

beforeAll(async () => {
  // One byte a second, for ever: the headers come at once, the body never ends.
  drip = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), 1000);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => drip.listen(0, '127.0.0.1', resolve));
  dripUrl = `http://127.0.0.1:${(drip.address() as AddressInfo).port}`;

  const app = new Hono();
  let n = 0;
  app.get('/endless', (c) => {
    n++;
    return c.json({ items: [{ id: n, qty: n }], next: `cursor-${n}` });
  });
  app.get('/slow-pages', async (c) => {
    await new Promise((r) => setTimeout(r, 50));
    n++;
    return c.json({ items: [{ id: n, qty: n }], next: `slow-${n}` });
  });
  api = await serveApp(app);
  writeFileSync(path.join(dir, 'a.csv'), 'id,qty\n1,1\n2,2\n');
});
afterAll(() => {
  drip.closeAllConnections();
  drip.close();
});

describe('deadlines', () => {
  it('a dripping body, endless cursors and an entity past maxDurationS each fail alone; the rest completes and the report is written', async () => {
    const fields = 'fields: { id: { from: id, transform: int }, qty: { from: qty, transform: int } }';
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
systems:
  file: { type: csv, path: a.csv }
  drip: { type: http, baseUrl: "${dripUrl}", timeoutMs: 1500, retry: { retries: 0 } }
  api: { type: http, baseUrl: "${api}", maxPages: 40 }
  steady: { type: http, baseUrl: "${api}" }
entities:
  dripping:
    key: [id]
    source: { system: drip, path: /items, list: items, ${fields} }
    target: { system: file, ${fields} }
  endless:
    key: [id]
    source: { system: api, path: /endless, list: items, pagination: { type: cursor, nextCursor: next }, ${fields} }
    target: { system: file, ${fields} }
  too_long:
    key: [id]
    maxDurationS: 2
    source: { system: steady, path: /slow-pages, list: items, pagination: { type: cursor, nextCursor: next }, ${fields} }
    target: { system: file, ${fields} }
  healthy:
    key: [id]
    source: { system: file, ${fields} }
    target: { system: file, ${fields} }
`,
    );
    const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
    const store = await StateStore.open('sqlite:state.db', dir);
    const t0 = performance.now();
    let result;
    try {
      result = await runOnce(loaded, store, { logger: silentLogger() });
    } finally {
      await store.close();
    }
    const elapsed = (performance.now() - t0) / 1000;
    const byName = Object.fromEntries(result.report.entities.map((e) => [e.name, e]));
    expect(byName.dripping!.outcome).toBe('failed');
    expect(byName.dripping!.error).toMatch(new RegExp(`^system "drip": GET ${dripUrl}/items\\?page=1&per_page=100: ETIMEDOUT: no complete answer within 1500 ms \\(timeoutMs\\)$`));
    expect(byName.endless!.outcome).toBe('failed');
    expect(byName.endless!.error).toMatch(/^system "api": GET http:\/\/127\.0\.0\.1:\d+\/endless\?cursor=cursor-40: the read passed maxPages \(40\) without reaching the end of the list/);
    expect(byName.too_long!.outcome).toBe('failed');
    expect(byName.too_long!.error).toBe('entity "too_long": did not finish within maxDurationS (2 s): stopped, and the run went on with the other entities');
    expect(byName.healthy!.outcome).toBe('in-sync');
    for (const e of result.report.entities) expect(e.error ?? '').not.toContain('\n');
    expect(result.status).toBe('failed');
    expect(result.files.length).toBe(2);
    expect(readdirSync(path.join(dir, 'reports')).some((f) => f.endsWith('.json'))).toBe(true);
    // 1.5 s for the drip, 2 s for the long entity, the rest at once: well within 15 s.
    expect(elapsed).toBeLessThan(15);
  }, 30_000);

  it('an entity whose lease is lost (another agent took it) is stopped at once; the run goes on', async () => {
    const fields = 'fields: { id: { from: id, transform: int }, qty: { from: qty, transform: int } }';
    const file = path.join(dir, 'lease.yaml');
    writeFileSync(
      file,
      `version: 1
state: sqlite:lease.db
reports: { dir: lease-reports, formats: [json] }
systems:
  file: { type: csv, path: a.csv }
  steady: { type: http, baseUrl: "${api}" }
entities:
  stolen:
    key: [id]
    source: { system: steady, path: /slow-pages, list: items, pagination: { type: cursor, nextCursor: next }, ${fields} }
    target: { system: file, ${fields} }
  after:
    key: [id]
    source: { system: file, ${fields} }
    target: { system: file, ${fields} }
`,
    );
    const loaded = await loadConfig(file);
    const store = await StateStore.open('sqlite:lease.db', dir);
    const other = await StateStore.open('sqlite:lease.db', dir);
    const t0 = performance.now();
    let result;
    try {
      const running = runOnce(loaded, store, { logger: silentLogger(), holder: 'agent-a', leaseTtlMs: 900 });
      // Another agent takes the lease over while the entity reads (as if this one had stalled).
      await new Promise((r) => setTimeout(r, 700));
      expect(await other.takeLeaseFrom('entity:stolen', 'agent-a', 'agent-b', 60_000)).toBe(true);
      result = await running;
    } finally {
      await other.close();
      await store.close();
    }
    const byName = Object.fromEntries(result.report.entities.map((e) => [e.name, e]));
    expect(byName.stolen!.outcome).toBe('failed');
    expect(byName.stolen!.error).toBe('entity "stolen": lost its lease (it expired and another agent took it): stopped, so that two agents never write it at once');
    expect(byName.after!.outcome).toBe('in-sync');
    // Stopped at the next renewal (every 300 ms), not at maxDurationS (an hour).
    expect((performance.now() - t0) / 1000).toBeLessThan(10);
  }, 30_000);
});

// A hostile API on one loopback port points parity at another port (an absolute Link: next
// URL, a cursor URL, 301/302/307/308 redirects from the list and from the token endpoint).
// The other port must never see a request, so no credential or secret can reach it; each
// such entity fails with one line naming both origins, and the healthy entities complete.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../../src/agent/alerts.js';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { clearSecrets } from '../../src/core/redact.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const SECRETS = {
  HEADER_VALUE: 'hdr-secret-4c1d9e',
  BEARER: 'bearer-secret-77ab20',
  CLIENT_SECRET: 'client-secret-a9f3e1',
  PASSWORD: 'password-secret-52c0d8',
  REFRESH: 'refresh-secret-0be4f6',
};
/** The token the honest token endpoint issues: a secret too. */
const ISSUED = 'issued-token-93d1c7';
const ROWS = [
  { sku: 'A1', qty: 1 },
  { sku: 'A2', qty: 2 },
];

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const dir = tempDir();
const evilSeen: Seen[] = [];
let api = '';
let evil = '';

const AUTHS: Record<string, string> = {
  header: '{ type: header, name: X-Api-Key, value: "${HEADER_VALUE}" }',
  bearer: '{ type: bearer, token: "${BEARER}" }',
  client: '{ type: token-endpoint, url: "${API}/token", clientId: parity, clientSecret: "${CLIENT_SECRET}" }',
  password: '{ type: token-endpoint, url: "${API}/token", username: parity, password: "${PASSWORD}" }',
  refresh: '{ type: oauth2-refresh, tokenUrl: "${API}/token", clientId: parity, clientSecret: "${CLIENT_SECRET}", refreshToken: "${REFRESH}" }',
};
const HOSTILE_PATHS: Record<string, string> = {
  link: '/link/items',
  cursor: '/cursor/items',
  r301: '/r301/items',
  r302: '/r302/items',
  r307: '/r307/items',
  r308: '/r308/items',
};
const TOKEN_REDIRECTS = [301, 302, 307, 308];

beforeAll(async () => {
  const trap = new Hono();
  trap.all('*', async (c) => {
    evilSeen.push({ method: c.req.method, url: c.req.url, headers: Object.fromEntries(c.req.raw.headers), body: await c.req.text() });
    if (c.req.path.startsWith('/token')) return c.json({ access_token: 'evil-token', expires_in: 3600 });
    return c.json({ items: [{ sku: 'EVIL', qty: 666 }] });
  });
  evil = await serveApp(trap);

  const app = new Hono();
  app.post('/token', (c) => c.json({ access_token: ISSUED, expires_in: 3600 }));
  for (const code of TOKEN_REDIRECTS) app.post(`/token-r${code}`, (c) => c.redirect(`${evil}/token`, code as 301));
  app.get('/ok/items', (c) => c.json({ items: ROWS }));
  app.get('/moved/items', (c) => c.redirect('/ok/items', 302));
  app.get('/link/items', (c) => {
    c.header('Link', `<${evil}/items?page=2>; rel="next"`);
    return c.json({ items: ROWS });
  });
  app.get('/cursor/items', (c) => c.json({ items: ROWS, next: `${evil}/items?cursor=2` }));
  for (const code of [301, 302, 307, 308]) {
    app.get(`/r${code}/items`, (c) => c.redirect(`${evil}/items`, code as 301));
    app.post(`/r${code}/sync`, (c) => c.redirect(`${evil}/sync`, code as 301));
    app.post(`/r${code}/hook`, (c) => c.redirect(`${evil}/hook`, code as 301));
  }
  api = await serveApp(app);

  writeFileSync(path.join(dir, 'items.csv'), `sku,qty\n${ROWS.map((r) => `${r.sku},${r.qty}`).join('\n')}\n`);
});
afterAll(() => clearSecrets());

function config(): string {
  const systems: string[] = ['  file: { type: csv, path: items.csv }'];
  const entities: string[] = [];
  const fields = 'fields: { sku: sku, qty: { from: qty, transform: int } }';
  const entity = (name: string, system: string, side: string) =>
    `  ${name}:\n    key: [sku]\n    source: { system: file, ${fields} }\n    target: { system: ${system}, ${side}, list: items, ${fields} }`;
  for (const [auth, spec] of Object.entries(AUTHS)) {
    systems.push(`  api_${auth}: { type: http, baseUrl: "${api}", auth: ${spec}, retry: { retries: 1, baseMs: 5, maxMs: 10 } }`);
    entities.push(entity(`ok_${auth}`, `api_${auth}`, 'path: /ok/items'));
    for (const [hostile, p] of Object.entries(HOSTILE_PATHS)) {
      const pagination = hostile === 'link' ? ', pagination: { type: link }' : hostile === 'cursor' ? ', pagination: { type: cursor, nextCursor: next }' : '';
      entities.push(entity(`${hostile}_${auth}`, `api_${auth}`, `path: ${p}${pagination}`));
    }
  }
  // Redirects within the origin: followed only when the system says so; never to another origin.
  systems.push(`  api_follow: { type: http, baseUrl: "${api}", auth: ${AUTHS.bearer}, followRedirects: same-origin }`);
  entities.push(entity('moved_follow', 'api_follow', 'path: /moved/items'));
  entities.push(entity('moved_bearer', 'api_bearer', 'path: /moved/items'));
  entities.push(entity('r302_follow', 'api_follow', 'path: /r302/items'));
  for (const code of TOKEN_REDIRECTS) {
    systems.push(`  tok${code}_client: { type: http, baseUrl: "${api}", auth: { type: token-endpoint, url: "${api}/token-r${code}", clientId: parity, clientSecret: "\${CLIENT_SECRET}" } }`);
    systems.push(`  tok${code}_refresh: { type: http, baseUrl: "${api}", auth: { type: oauth2-refresh, tokenUrl: "${api}/token-r${code}", clientId: parity, clientSecret: "\${CLIENT_SECRET}", refreshToken: "\${REFRESH}" } }`);
    entities.push(entity(`token${code}_client`, `tok${code}_client`, 'path: /ok/items'));
    entities.push(entity(`token${code}_refresh`, `tok${code}_refresh`, 'path: /ok/items'));
  }
  return `version: 1\nstate: sqlite:state.db\nreports: { dir: reports, formats: [json] }\nsystems:\n${systems.join('\n')}\nentities:\n${entities.join('\n')}\n`;
}

describe('credentials stay on their origin', () => {
  it('no request reaches the other port; each hostile entity fails naming both origins; the rest complete', async () => {
    writeFileSync(path.join(dir, 'parity.yaml'), config().replaceAll('${API}', api));
    const loaded = await loadConfig(path.join(dir, 'parity.yaml'), { ...process.env, ...SECRETS });
    const store = await StateStore.open('sqlite:state.db', dir);
    let report: Awaited<ReturnType<typeof runOnce>>['report'];
    try {
      ({ report } = await runOnce(loaded, store, { logger: silentLogger() }));
    } finally {
      await store.close();
    }
    const byName = new Map(report.entities.map((e) => [e.name, e]));
    const apiOrigin = new URL(api).origin;
    const evilOrigin = new URL(evil).origin;

    for (const auth of Object.keys(AUTHS)) {
      expect(byName.get(`ok_${auth}`)!.outcome, `ok_${auth}: ${byName.get(`ok_${auth}`)!.error}`).toBe('in-sync');
      for (const hostile of Object.keys(HOSTILE_PATHS)) {
        const e = byName.get(`${hostile}_${auth}`)!;
        expect(e.outcome, e.name).toBe('failed');
        expect(e.error, e.name).toContain(apiOrigin);
        expect(e.error, e.name).toContain(evilOrigin);
        expect(e.error, e.name).not.toContain('\n');
      }
    }
    expect(byName.get('moved_follow')!.outcome).toBe('in-sync');
    expect(byName.get('moved_bearer')!.error).toMatch(/answered HTTP 302, a redirect to .*\/ok\/items: redirects are not followed \(set followRedirects: same-origin/);
    expect(byName.get('r302_follow')!.error).toContain(`a redirect from ${apiOrigin} to ${evilOrigin}`);
    for (const code of TOKEN_REDIRECTS) {
      for (const kind of ['client', 'refresh']) {
        const e = byName.get(`token${code}_${kind}`)!;
        expect(e.outcome, e.name).toBe('failed');
        expect(e.error, e.name).toMatch(new RegExp(`HTTP ${code}, a redirect from ${apiOrigin} to ${evilOrigin}`));
        expect(e.error, e.name).not.toContain('\n');
      }
    }

    // Nothing at all reached the other port, so no credential did.
    expect(evilSeen).toEqual([]);
  });

  it('a push answered with a redirect to another origin is not followed', async () => {
    writeFileSync(path.join(dir, 'more.csv'), `sku,qty\nA1,1\nA2,2\nA3,3\n`);
    writeFileSync(
      path.join(dir, 'push.yaml'),
      `version: 1
state: sqlite:push-state.db
reports: { dir: reports, formats: [json] }
systems:
  file: { type: csv, path: more.csv }
  shop: { type: http, baseUrl: "${api}", auth: { type: bearer, token: "\${BEARER}" }, retry: { retries: 1, baseMs: 5, maxMs: 10 } }
entities:
  items:
    key: [sku]
    source: { system: file, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target: { system: shop, path: /ok/items, list: items, fields: { sku: sku, qty: { from: qty, transform: int } }, write: { path: /r307/sync } }
`,
    );
    const loaded = await loadConfig(path.join(dir, 'push.yaml'), { ...process.env, ...SECRETS });
    const store = await StateStore.open('sqlite:push-state.db', dir);
    try {
      const { report } = await runOnce(loaded, store, { logger: silentLogger() });
      const e = report.entities[0]!;
      expect(e.diff.missing).toBe(1);
      // The batch stays pending in the outbox with the reason; nothing went elsewhere.
      expect(e.sync?.pending).toBe(1);
    } finally {
      await store.close();
    }
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'push-state.db'), logging: false });
    const [rows] = (await db.query("SELECT status, last_error FROM parity_outbox")) as [{ status: string; last_error: string }[], unknown];
    await db.close();
    expect(rows).toEqual([{ status: 'pending', last_error: expect.stringContaining(`a redirect from ${new URL(api).origin} to ${new URL(evil).origin}`) }]);
    expect(evilSeen).toEqual([]);
  });

  it('an alert webhook that redirects elsewhere is not followed', async () => {
    const alerter = new Alerter(`${api}/r307/hook`, silentLogger(), 0);
    expect(await alerter.send({ event: 'failed', text: 'x' })).toBe(false);
    expect(evilSeen).toEqual([]);
  });
});

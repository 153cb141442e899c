// Every pagination and auth style against real Hono servers on loopback ports.
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpCollector } from '../../src/systems/http/collector.js';
import { nextLink } from '../../src/systems/http/pagination.js';
import { HttpRuntime } from '../../src/systems/http/runtime.js';
import type { HttpSystemConfig, PaginationConfig, HttpSideSpec } from '../../src/systems/http/schema.js';
import { dottedGetter, RecordMapper } from '../../src/collectors/mapper.js';
import { serveApp } from '../helpers/servers.js';
import { onClock, useFakeClock } from '../helpers/clock.js';

const RECORDS = Array.from({ length: 53 }, (_, i) => ({ id: `R${String(i).padStart(3, '0')}`, n: i }));

function system(baseUrl: string, overrides: Partial<HttpSystemConfig> = {}): HttpSystemConfig {
  return { type: 'http', baseUrl, auth: { type: 'none' }, headers: {}, query: {}, timeoutMs: 5000, maxResponseBytes: 1_000_000, followRedirects: 'none', maxPages: 100_000, retry: { retries: 3, baseMs: 5, maxMs: 50 }, ...overrides };
}

function side(sys: HttpSystemConfig, config: Partial<HttpSideSpec['config']> = {}): HttpSideSpec {
  return {
    role: 'target',
    systemName: 'api',
    system: sys,
    config: { system: 'api', path: '/records', list: 'data', ...config },
    mappings: [
      { name: 'id', from: 'id', transforms: [] },
      { name: 'n', from: 'n', transforms: [] },
    ],
  };
}

async function readKeys(collector: HttpCollector, since?: string): Promise<string[]> {
  const mapper = new RecordMapper({ keyChains: [['id']], compareFields: ['n'], mappings: [{ name: 'id', from: 'id', transforms: [] }, { name: 'n', from: 'n', transforms: [] }], getter: dottedGetter });
  const keys: string[] = [];
  for await (const page of collector.read({ mapper, since })) keys.push(...page.records.map((r) => r.key));
  return keys;
}

const ALL = RECORDS.map((r) => r.id);

describe('pagination', () => {
  it('page numbers with a has-more flag', async () => {
    const app = new Hono().get('/records', (c) => {
      const page = Number(c.req.query('pg'));
      const size = Number(c.req.query('n'));
      const slice = RECORDS.slice((page - 1) * size, page * size);
      return c.json({ data: slice, meta: { more: page * size < RECORDS.length } });
    });
    const base = await serveApp(app);
    const pagination: PaginationConfig = { type: 'page', pageParam: 'pg', sizeParam: 'n', size: 10, startPage: 1, hasMore: 'meta.more' };
    expect(await readKeys(new HttpCollector(side(system(base), { pagination })))).toEqual(ALL);
  });

  it('page numbers starting at 0', async () => {
    const app = new Hono().get('/records', (c) => {
      const page = Number(c.req.query('page'));
      return c.json({ data: RECORDS.slice(page * 20, (page + 1) * 20) });
    });
    const base = await serveApp(app);
    const pagination: PaginationConfig = { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 20, startPage: 0 };
    expect(await readKeys(new HttpCollector(side(system(base), { pagination })))).toEqual(ALL);
  });

  it('offset and limit', async () => {
    const asked: string[] = [];
    const app = new Hono().get('/records', (c) => {
      const offset = Number(c.req.query('skip'));
      const limit = Number(c.req.query('take'));
      asked.push(`${offset}+${limit}`);
      return c.json({ data: RECORDS.slice(offset, offset + limit) });
    });
    const base = await serveApp(app);
    const pagination: PaginationConfig = { type: 'offset', offsetParam: 'skip', limitParam: 'take', size: 25 };
    expect(await readKeys(new HttpCollector(side(system(base), { pagination })))).toEqual(ALL);
    expect(asked).toEqual(['0+25', '25+25', '50+25']);
  });

  it('a cursor in the body', async () => {
    const app = new Hono().get('/records', (c) => {
      const start = c.req.query('after') ? RECORDS.findIndex((r) => r.id === c.req.query('after')) + 1 : 0;
      const slice = RECORDS.slice(start, start + Number(c.req.query('limit')));
      const last = slice.at(-1);
      return c.json({ data: slice, paging: { next: start + slice.length < RECORDS.length ? last?.id : null } });
    });
    const base = await serveApp(app);
    const pagination: PaginationConfig = { type: 'cursor', cursorParam: 'after', nextCursor: 'paging.next', sizeParam: 'limit', size: 15 };
    expect(await readKeys(new HttpCollector(side(system(base), { pagination })))).toEqual(ALL);
  });

  it('a cursor that repeats is an error, not an endless loop', async () => {
    const app = new Hono().get('/records', (c) => c.json({ data: RECORDS.slice(0, 5), next: 'same' }));
    const base = await serveApp(app);
    const pagination: PaginationConfig = { type: 'cursor', cursorParam: 'cursor', nextCursor: 'next', size: 5 };
    await expect(readKeys(new HttpCollector(side(system(base), { pagination })))).rejects.toThrow(/system "api": GET .*: the cursor "same" at "next" came back a second time/);
  });

  it('Link: rel="next" headers (RFC 8288), relative or absolute', async () => {
    let base = '';
    const app = new Hono().get('/records', (c: Context) => {
      const page = Number(c.req.query('p') ?? '0');
      const slice = RECORDS.slice(page * 20, (page + 1) * 20);
      if ((page + 1) * 20 < RECORDS.length) {
        const next = page % 2 === 0 ? `/records?p=${page + 1}` : `${base}/records?p=${page + 1}`;
        c.header('Link', `<${base}/records?p=0>; rel="first", <${next}>; rel="next"`);
      }
      return c.json({ data: slice });
    });
    base = await serveApp(app);
    expect(await readKeys(new HttpCollector(side(system(base), { pagination: { type: 'link', size: 20 } })))).toEqual(ALL);
  });

  it('parses Link headers with several relations and parameters', () => {
    expect(nextLink('<https://a.example/x?page=2>; rel="next"; title="n", <https://a.example/x?page=9>; rel="last"', 'https://a.example/x')).toBe('https://a.example/x?page=2');
    expect(nextLink('<https://a.example/x?page=1>; rel="prev"', 'https://a.example/x')).toBeNull();
    expect(nextLink('</x?after=a,b>; rel="next last"', 'https://a.example/x')).toBe('https://a.example/x?after=a,b');
    expect(nextLink(undefined, 'https://a.example/x')).toBeNull();
  });
});

describe('auth', () => {
  function tokenServer(options: { expireAfter?: number; expiresIn?: number; scheme?: string }) {
    const stats = { tokenCalls: 0, bodies: [] as string[], authHeaders: [] as string[] };
    let current = '';
    let uses = 0;
    const app = new Hono()
      .post('/token', async (c) => {
        stats.tokenCalls++;
        stats.bodies.push(await c.req.text());
        current = `tok-${stats.tokenCalls}-x9`;
        uses = 0;
        return c.json({ result: { token: current }, access_token: current, ...(options.expiresIn !== undefined ? { expires_in: options.expiresIn } : {}) });
      })
      .get('/records', (c) => {
        const header = c.req.header('authorization') ?? '';
        stats.authHeaders.push(header);
        uses++;
        if (header !== `${options.scheme ?? 'Bearer'} ${current}` || (options.expireAfter !== undefined && uses > options.expireAfter)) return c.json({ error: 'expired' }, 401);
        const page = Number(c.req.query('page'));
        return c.json({ data: RECORDS.slice((page - 1) * 10, page * 10) });
      });
    return { app, stats };
  }
  const pagination: PaginationConfig = { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 10, startPage: 1 };

  it('token-endpoint with username and password: one token per run, cached across entities', async () => {
    const { app, stats } = tokenServer({});
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'token-endpoint', url: `${base}/token`, username: 'svc', password: 'pw-123456', tokenPath: 'result.token', scheme: 'Bearer' } });
    // The agent hands every collector of a system in a run the same runtime.
    const runtime = new HttpRuntime('api', sys);
    expect(await readKeys(new HttpCollector(side(sys, { pagination }), runtime))).toEqual(ALL);
    // A second entity on the same system in the same run reuses the token.
    expect(await readKeys(new HttpCollector(side(sys, { pagination }), runtime))).toEqual(ALL);
    expect(stats.tokenCalls).toBe(1);
    expect(JSON.parse(stats.bodies[0]!)).toEqual({ username: 'svc', password: 'pw-123456' });
  });

  it('token-endpoint fetches a new token once after a 401 and retries the request', async () => {
    const { app, stats } = tokenServer({ expireAfter: 3 });
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'token-endpoint', url: `${base}/token`, clientId: 'cid', clientSecret: 'csecret-1', tokenPath: 'access_token', scheme: 'Bearer' } });
    expect(await readKeys(new HttpCollector(side(sys, { pagination })))).toEqual(ALL);
    // 6 pages, the token dies after 3 uses: one refresh.
    expect(stats.tokenCalls).toBe(2);
    expect(new URLSearchParams(stats.bodies[0]!).get('grant_type')).toBe('client_credentials');
    expect(stats.authHeaders.filter((h) => h === 'Bearer tok-1-x9')).toHaveLength(4);
  });

  it('a 401 right after a fresh token is an error, not a loop', async () => {
    const { app, stats } = tokenServer({ expireAfter: 0 });
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'token-endpoint', url: `${base}/token`, clientId: 'cid', clientSecret: 'csecret-1', tokenPath: 'access_token', scheme: 'Bearer' } });
    await expect(readKeys(new HttpCollector(side(sys, { pagination })))).rejects.toThrow(/HTTP 401.*check the auth settings/);
    expect(stats.tokenCalls).toBe(2);
  });

  it('oauth2-refresh sends the refresh grant, uses its scheme and caches until expires_in', async () => {
    const { app, stats } = tokenServer({ expiresIn: 3600, scheme: 'Zoho-oauthtoken' });
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'oauth2-refresh', tokenUrl: `${base}/token`, clientId: 'cid', clientSecret: 'cs-777777', refreshToken: 'rt-888888', scheme: 'Zoho-oauthtoken' } });
    expect(await readKeys(new HttpCollector(side(sys, { pagination })))).toEqual(ALL);
    expect(stats.tokenCalls).toBe(1);
    expect(Object.fromEntries(new URLSearchParams(stats.bodies[0]!))).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-888888', client_id: 'cid', client_secret: 'cs-777777' });
    expect(stats.authHeaders[0]).toBe('Zoho-oauthtoken tok-1-x9');
  });

  it('oauth2-refresh fetches again when the token has expired', async () => {
    // expires_in 20 s is inside the 30 s safety margin: every request needs a fresh token.
    const { app, stats } = tokenServer({ expiresIn: 20 });
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'oauth2-refresh', tokenUrl: `${base}/token`, clientId: 'cid', clientSecret: 'cs-777777', refreshToken: 'rt-888888', scheme: 'Bearer' } });
    expect(await readKeys(new HttpCollector(side(sys, { pagination })))).toEqual(ALL);
    expect(stats.tokenCalls).toBe(6);
  });

  it('a failing token endpoint says so without the secret', async () => {
    const app = new Hono().post('/token', (c) => c.json({ error: 'invalid_client' }, 400));
    const base = await serveApp(app);
    const sys = system(base, { auth: { type: 'oauth2-refresh', tokenUrl: `${base}/token`, clientId: 'cid', clientSecret: 'cs-777777', refreshToken: 'rt-888888', scheme: 'Bearer' } });
    const error = await readKeys(new HttpCollector(side(sys, { pagination }))).catch((e: Error) => e);
    expect(String(error)).toContain(`system "api": token request to ${base}/token: HTTP 400 (check the credentials in the environment)`);
    expect(String(error)).not.toContain('cs-777777');
  });
});

describe('rate limit, retries and limits', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never exceeds rateLimit.perSecond in any one-second window (on a fake clock)', async () => {
    const stamps: number[] = [];
    let served = 0;
    const app = new Hono().get('/records', (c) => {
      served++;
      const page = Number(c.req.query('page'));
      return c.json({ data: RECORDS.slice((page - 1) * 4, page * 4) });
    });
    const base = await serveApp(app);
    const sys = system(base, { rateLimit: { perSecond: 5 } });
    useFakeClock();
    // Each request is stamped as the system's rate gate lets it go (the server would see it a
    // little later: on a fake clock, by however many steps the socket took).
    const runtime = new HttpRuntime('api', sys);
    const gate = runtime.gate!;
    Object.defineProperty(runtime, 'gate', { value: async () => {
      await gate();
      stamps.push(Date.now());
    } });
    expect(await onClock(readKeys(new HttpCollector(side(sys, { pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 4, startPage: 1 } }), runtime)))).toEqual(ALL);
    expect(served).toBe(14);
    expect(stamps.length).toBe(14);
    // The 6th request of any run of six starts a second or more after the first.
    for (let i = 5; i < stamps.length; i++) expect(stamps[i]! - stamps[i - 5]!).toBeGreaterThanOrEqual(1000);
    // And the whole read is paced: 14 requests at 5 a second take 2 seconds at least.
    expect(stamps.at(-1)! - stamps[0]!).toBeGreaterThanOrEqual(2000);
  });

  it('retries 5xx, dropped sockets and 429 with Retry-After, and reads every record once', async () => {
    const stamps: number[] = [];
    let calls = 0;
    const app = new Hono<{ Bindings: HttpBindings }>().get('/records', async (c) => {
      calls++;
      stamps.push(Date.now());
      if (calls === 1) return c.json({ error: 'busy' }, 503);
      if (calls === 2) return c.json({ error: 'slow down' }, 429, { 'Retry-After': '45' });
      if (calls === 4) return c.json({ error: 'oops' }, 502);
      if (calls === 5) {
        c.env.incoming.socket.destroy();
        return new Promise<Response>(() => undefined);
      }
      const page = Number(c.req.query('page'));
      return c.json({ data: RECORDS.slice((page - 1) * 20, page * 20) });
    });
    const base = await serveApp(app);
    useFakeClock();
    const keys = await onClock(readKeys(new HttpCollector(side(system(base), { pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 20, startPage: 1 } }))));
    expect(keys).toEqual(ALL);
    expect(calls).toBe(7);
    // Retry-After: 45 (on a fake clock): the retry came 45 s later, not sooner.
    expect(stamps[2]! - stamps[1]!).toBeGreaterThanOrEqual(45_000);
  });

  it('a Retry-After over a minute ends the read for this run with a clear message', async () => {
    let calls = 0;
    const app = new Hono().get('/records', (c) => {
      calls++;
      return c.json({ error: 'quota' }, 429, { 'Retry-After': '3600' });
    });
    const base = await serveApp(app);
    await expect(readKeys(new HttpCollector(side(system(base))))).rejects.toThrow(/HTTP 429 .*\(the system asks to wait 3600 s; try again later\)/);
    expect(calls).toBe(1);
  });

  it('gives up after the configured retries and says so', async () => {
    let calls = 0;
    const app = new Hono().get('/records', (c) => {
      calls++;
      return c.json({ error: 'down' }, 500);
    });
    const base = await serveApp(app);
    await expect(readKeys(new HttpCollector(side(system(base))))).rejects.toThrow(/HTTP 500 Internal Server Error \(after 3 retries\)/);
    expect(calls).toBe(4);
  });

  it('does not retry other 4xx', async () => {
    let calls = 0;
    const app = new Hono().get('/records', (c) => {
      calls++;
      return c.json({ error: 'nope' }, 404);
    });
    const base = await serveApp(app);
    await expect(readKeys(new HttpCollector(side(system(base))))).rejects.toThrow(/HTTP 404/);
    expect(calls).toBe(1);
  });

  it('refuses an answer larger than maxResponseBytes', async () => {
    const app = new Hono().get('/records', (c) => c.json({ data: RECORDS, pad: 'x'.repeat(5000) }));
    const base = await serveApp(app);
    await expect(readKeys(new HttpCollector(side(system(base, { maxResponseBytes: 2000 }))))).rejects.toThrow(/larger than maxResponseBytes, 2000 bytes/);
  });

  it('sends the watermark as the configured query parameter and tracks the newest value', async () => {
    const asked: (string | undefined)[] = [];
    const app = new Hono().get('/records', (c) => {
      asked.push(c.req.query('modified_since'));
      const since = c.req.query('modified_since');
      const rows = RECORDS.map((r) => ({ ...r, updated: `2026-01-${String((r.n % 28) + 1).padStart(2, '0')}T00:00:00Z` })).filter((r) => !since || r.updated > since);
      return c.json({ data: rows });
    });
    const base = await serveApp(app);
    const collector = new HttpCollector(side(system(base), { incremental: { field: 'updated', param: 'modified_since' }, pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 100, startPage: 1 } }));
    expect(await readKeys(collector)).toHaveLength(53);
    expect(collector.watermark()).toBe('2026-01-28T00:00:00Z');
    const again = new HttpCollector(side(system(base), { incremental: { field: 'updated', param: 'modified_since' } }));
    expect(await readKeys(again, '2026-01-26T00:00:00Z')).toEqual(RECORDS.filter((r) => r.n % 28 >= 26).map((r) => r.id));
    expect(asked).toEqual([undefined, '2026-01-26T00:00:00Z']);
  });
});

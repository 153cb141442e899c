import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpCollector } from '../../src/systems/http/collector.js';
import type { HttpSystemConfig, HttpSideSpec } from '../../src/systems/http/schema.js';
import { dottedGetter, RecordMapper } from '../../src/collectors/mapper.js';
import type { Page } from '../../src/core/record.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { serveApp } from '../helpers/servers.js';

const TOKEN = 'receiver-token-5f2a9c';

function system(baseUrl: string, overrides: Partial<HttpSystemConfig> = {}): HttpSystemConfig {
  return { type: 'http', baseUrl, auth: { type: 'bearer', token: TOKEN }, headers: {}, query: {}, timeoutMs: 5000, maxResponseBytes: 1_000_000, followRedirects: 'none', maxPages: 100_000, ...overrides };
}

function side(sys: HttpSystemConfig, config: Partial<HttpSideSpec['config']> = {}): HttpSideSpec {
  return {
    role: 'target',
    systemName: 'shop',
    system: sys,
    config: { system: 'shop', path: '/items', list: 'items', ...config },
    mappings: [
      { name: 'sku', from: 'sku', transforms: [] },
      { name: 'price', from: 'price', transforms: parseTransforms('decimal(2)') },
      { name: 'city', from: 'address.city', transforms: [] },
    ],
  };
}

const mapper = () => new RecordMapper({ keyChains: [['sku']], compareFields: ['city', 'price'], mappings: side(system('http://x')).mappings, getter: dottedGetter });

async function readAll(collector: HttpCollector): Promise<Page[]> {
  const pages: Page[] = [];
  for await (const page of collector.read({ mapper: mapper() })) pages.push(page);
  return pages;
}

describe('HTTP collector against the reference receiver', () => {
  let receiver: Receiver;
  let url = '';
  beforeAll(async () => {
    receiver = await createReceiver({ token: TOKEN });
    await receiver.seed(
      'items',
      Array.from({ length: 50 }, (_, i) => ({ localId: `S${String(i).padStart(3, '0')}`, data: { sku: `S${String(i).padStart(3, '0')}`, price: i * 1.5, address: { city: `c${i}` } } })),
    );
    ({ url } = await receiver.listen(0));
  });
  afterAll(() => receiver.close());

  it('reads several pages until has_more is false', async () => {
    const pages = await readAll(new HttpCollector(side(system(url), { pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 7, startPage: 1, hasMore: 'has_more' } })));
    expect(pages.map((p) => p.records.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    const records = pages.flatMap((p) => p.records);
    expect(new Set(records.map((r) => r.key)).size).toBe(50);
    expect(records[3]!.fields).toEqual({ sku: 'S003', price: '4.50', city: 'c3' });
  });

  it('reads the receiver by cursor (?after=…&limit=…), every record once', async () => {
    const pages = await readAll(new HttpCollector(side(system(url), { pagination: { type: 'cursor', cursorParam: 'after', nextCursor: 'next_cursor', sizeParam: 'limit', size: 7 } })));
    expect(pages.map((p) => p.records.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    expect(new Set(pages.flatMap((p) => p.records.map((r) => r.key))).size).toBe(50);
  });

  it('without a has-more path, a short page ends the list', async () => {
    const pages = await readAll(new HttpCollector(side(system(url), { pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 10, startPage: 1 } })));
    // 50 records in pages of 10: five full pages, then an empty one ends it.
    expect(pages.map((p) => p.records.length)).toEqual([10, 10, 10, 10, 10]);
  });

  it('a wrong token is a clear 401 error that does not show the token', async () => {
    const wrong = system(url, { auth: { type: 'bearer', token: 'wrong-token-123' } });
    const error = await readAll(new HttpCollector(side(wrong))).catch((e: Error) => e);
    expect(String(error)).toContain(`system "shop": GET ${url}/items?page=1&per_page=100: HTTP 401`);
    expect(String(error)).toContain('check the auth settings');
    expect(String(error)).not.toContain('wrong-token-123');
  });

  it('header auth and fixed query parameters are sent', async () => {
    const seen: Record<string, string | undefined>[] = [];
    const app = new Hono().get('/v2/items', (c) => {
      seen.push({ key: c.req.header('x-api-key'), org: c.req.query('organization_id'), version: c.req.header('x-version') });
      return c.json({ data: { records: [{ sku: 'A', price: 1, address: { city: 'x' } }] } });
    });
    const base = await serveApp(app);
    const sys = system(`${base}/v2`, { auth: { type: 'header', name: 'X-Api-Key', value: 'k-123' }, headers: { 'X-Version': '7' }, query: { organization_id: '42' } });
    const pages = await readAll(new HttpCollector(side(sys, { list: 'data.records', pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 5, startPage: 1 } })));
    expect(pages.flatMap((p) => p.records.map((r) => r.key))).toEqual(['A']);
    expect(seen[0]).toEqual({ key: 'k-123', org: '42', version: '7' });
  });
});

describe('HTTP collector errors name the URL and the path', () => {
  let base = '';
  beforeAll(async () => {
    const app = new Hono()
      .get('/html', (c) => c.html('<html>maintenance</html>'))
      .get('/nolist', (c) => c.json({ results: [] }))
      .get('/notarray', (c) => c.json({ items: { a: 1 } }))
      .get('/stuck', (c) => c.json({ items: Array.from({ length: 100 }, (_, i) => ({ sku: `S${i}`, price: 1 })) }))
      .get('/mixed', (c) => c.json({ items: [{ sku: 'A', price: 1 }, 'oops', { price: 2 }, { sku: 'B', price: 'x' }] }))
      .get('/slow', async (c) => {
        await new Promise((r) => setTimeout(r, 2000));
        return c.json({ items: [] });
      });
    base = await serveApp(app);
  });

  const read = (path: string, overrides: Partial<HttpSystemConfig> = {}) => readAll(new HttpCollector(side(system(base, overrides), { path })));

  it('a body that is not JSON', async () => {
    await expect(read('/html')).rejects.toThrow(`system "shop": GET ${base}/html?page=1&per_page=100: the body is not JSON (text/html`);
  });

  it('a missing list path', async () => {
    await expect(read('/nolist')).rejects.toThrow(`GET ${base}/nolist?page=1&per_page=100: no "items" in the answer (set "list" to the path of the array)`);
  });

  it('a list that is not an array', async () => {
    await expect(read('/notarray')).rejects.toThrow(`GET ${base}/notarray?page=1&per_page=100: "items" is not an array`);
  });

  it('pagination that does not advance', async () => {
    await expect(read('/stuck')).rejects.toThrow(/page 2 repeats the previous page \(check pagination.pageParam "page"\)/);
  });

  it('offset pagination that returns the same full page for ever', async () => {
    const pagination = { type: 'offset' as const, offsetParam: 'offset', limitParam: 'limit', size: 100 };
    await expect(readAll(new HttpCollector(side(system(base), { path: '/stuck', pagination })))).rejects.toThrow(/the page at offset 100 repeats the previous page \(check pagination\.offsetParam "offset"\)/);
  });

  it('records without a key or with a bad value are invalid, the rest still read', async () => {
    const pages = await read('/mixed');
    expect(pages[0]!.records.map((r) => r.key)).toEqual(['A']);
    const at = `(${base}/mixed?page=1&per_page=100)`;
    expect(pages[0]!.invalid).toEqual([
      { ref: `page 1 item 2 ${at}`, reason: 'not an object' },
      { ref: `page 1 item 3 ${at}`, reason: 'key field sku is empty' },
      { ref: `page 1 item 4 ${at} (key B)`, reason: 'field price: decimal(2): "x" is not a number' },
    ]);
  });

  it('a request that takes longer than timeoutMs', async () => {
    await expect(read('/slow', { timeoutMs: 200 })).rejects.toThrow(/GET .*\/slow\?page=1&per_page=100: ETIMEDOUT: no complete answer within 200 ms \(timeoutMs\)/);
  });

  it('an unreachable system', async () => {
    const error = await readAll(new HttpCollector(side(system('http://127.0.0.1:1')))).catch((e: Error) => e);
    expect(String(error)).toMatch(/system "shop": GET http:\/\/127\.0\.0\.1:1\/items\?page=1&per_page=100: .*ECONNREFUSED/);
  });
});

describe('HTTP collector asks for the next page while the reader works on this one', () => {
  const asked: number[] = [];
  let aborted = 0;
  let base = '';
  beforeAll(async () => {
    const app = new Hono().get('/held', async (c) => {
      const page = Number(c.req.query('page'));
      asked.push(page);
      if (page === 1) return c.json({ items: [{ sku: 'A', price: 1 }, { sku: 'B', price: 2 }] });
      // Page 2 is held until the client goes away.
      await new Promise<void>((resolve) => c.req.raw.signal.addEventListener('abort', () => resolve()));
      aborted++;
      return c.json({ items: [] });
    });
    base = await serveApp(app);
  });

  it('page 2 is asked for before page 1 is done with, and cancelled when the reader stops', async () => {
    const collector = new HttpCollector(side(system(base), { path: '/held', pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 2, startPage: 1 } }));
    const pages = collector.read({ mapper: mapper() })[Symbol.asyncIterator]() as AsyncGenerator<Page>;
    const first = await pages.next();
    expect((first.value as Page).records.map((r) => r.key)).toEqual(['A', 'B']);
    // The reader holds page 1 and has not asked for more; the request for page 2 is already out.
    const until = Date.now() + 5000;
    while (!asked.includes(2) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(asked).toEqual([1, 2]);
    await pages.return(undefined);
    while (aborted === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(1);
    expect(asked).toEqual([1, 2]);
  });
});

describe('HTTP collector sends the next request before the page is worked on', () => {
  // The API runs in a worker thread of its own, so it sees a request while this thread is busy.
  const server = `
    const http = require('node:http');
    const { parentPort } = require('node:worker_threads');
    const arrived = [];
    const srv = http.createServer((req, res) => {
      const page = Number(new URL(req.url, 'http://x').searchParams.get('page'));
      arrived.push({ page, at: Date.now() });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ items: page <= 3 ? [{ sku: 'P' + page + 'a', price: 1 }, { sku: 'P' + page + 'b', price: 2 }] : [] }));
    });
    srv.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: srv.address().port }));
    parentPort.on('message', () => { parentPort.postMessage({ arrived }); srv.close(); });
  `;

  it('a page the reader works on synchronously does not hold back the request for the next one', async () => {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(server, { eval: true });
    const next = () => new Promise<{ port?: number; arrived?: { page: number; at: number }[] }>((resolve) => worker.once('message', resolve));
    try {
      const { port } = await next();
      const collector = new HttpCollector(side(system(`http://127.0.0.1:${port}`), { path: '/items', pagination: { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 2, startPage: 1 } }));
      const doneWith: number[] = [];
      for await (const page of collector.read({ mapper: mapper() })) {
        // Mapping and diffing a large page is synchronous work: no await until it is done.
        const until = Date.now() + 300;
        while (Date.now() < until);
        doneWith.push(Date.now());
        expect(page.records).toHaveLength(2);
      }
      const asking = next();
      worker.postMessage('report');
      const { arrived } = await asking;
      expect(arrived!.map((a) => a.page)).toEqual([1, 2, 3, 4]);
      // Page n + 1 reached the API while page n was still being worked on.
      for (let n = 1; n <= 3; n++) expect(arrived![n]!.at).toBeLessThan(doneWith[n - 1]!);
    } finally {
      await worker.terminate();
    }
  });
});

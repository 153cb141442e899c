// Attachments: image URLs compared by the content they point to, the files the target lacks
// or holds in another version copied on push (HTTP upload, SQL BLOB column), once: the next
// run copies nothing and downloads nothing it cached. Files over maxAttachmentBytes are
// reported, never copied. Credentials go to the target's origin only, never to a file host.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import type { RunReport } from '../../src/reconcile/report.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { Hono } from 'hono';
import { expectValidReport } from '../helpers/report-schema.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const IMAGES = 200;
const MAX_BYTES = 100_000;

/** A PNG-sized body that differs per image and per version. */
function image(n: number, version = 1): Buffer {
  const seed = createHash('sha256').update(`image ${n} v${version}`).digest();
  return Buffer.concat(Array.from({ length: 64 + (n % 50) }, () => seed));
}
const BIG = Buffer.alloc(MAX_BYTES * 3, 7);

/** A file host on a loopback port: /img/<n>.png with an ETag (304 on If-None-Match), /img/big.png over the limit. */
interface FileHost {
  url: string;
  /** Bodies sent in full (200) and answers "not modified" (304), since the last reset. */
  served: { full: number; notModified: number; authorization: number };
  server: Server;
}

async function fileHost(): Promise<FileHost> {
  const served = { full: 0, notModified: 0, authorization: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    if (req.headers.authorization) served.authorization++;
    const m = /^\/img\/(\d+|big)\.png$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const body = m[1] === 'big' ? BIG : image(Number(m[1]));
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      served.notModified++;
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    served.full++;
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': body.length, ETag: etag }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served, server };
}

const sku = (n: number) => `P${String(n).padStart(3, '0')}`;

async function runIn(dir: string, env: Record<string, string> = {}): Promise<RunReport> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
    const store = await StateStore.open('sqlite:state.db', dir);
    try {
      return (await runOnce(loaded, store, { logger: silentLogger() })).report;
    } finally {
      await store.close();
    }
  } finally {
    process.env = saved;
  }
}

describe('attachments to an HTTP target (the reference receiver, bearer auth)', () => {
  const dir = tempDir();
  let host: FileHost;
  let receiver: Receiver;
  let erp: Sequelize;
  const TOKEN = 'receiver-token-4f9a1c77e2';

  beforeAll(async () => {
    host = await fileHost();
    erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
    await erp.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, image_url TEXT)');
    const rows = Array.from({ length: IMAGES }, (_, i) => [sku(i + 1), `Product ${i + 1}`, `${host.url}/img/${i + 1}.png`]);
    rows.push([sku(IMAGES + 1), 'Poster', `${host.url}/img/big.png`]);
    rows.push([sku(IMAGES + 2), 'No picture', null as unknown as string]);
    for (const r of rows) await erp.query('INSERT INTO products VALUES (?, ?, ?)', { replacements: r });

    receiver = await createReceiver({ token: TOKEN });
    const { url } = await receiver.listen(0);
    // The target holds every record; of the 200 images, 160 are there as they are, 10 in
    // another version, 30 not at all. The poster (over the limit) is not there either.
    await receiver.seed('items', rows.map(([s, name]) => ({ localId: s!, data: { sku: s, name } })));
    for (let n = 1; n <= 170; n++) await receiver.files.seed('items', sku(n), 'image', image(n, n > 160 ? 2 : 1), 'image/png');

    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md, html] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${url}", auth: { type: bearer, token: "\${SHOP_TOKEN}" } }
entities:
  items:
    key: sku
    maxAttachmentBytes: ${MAX_BYTES}
    source: { system: erp, table: products, fields: { sku: sku, name: name, image: { from: image_url, attachment: true } } }
    target:
      system: shop
      path: /items
      list: items
      fields: { sku: sku, name: name, image: image }
      write: { path: /sync/items, upload: { method: PUT, path: "/files/items/{localId}/image" } }
`,
    );
  });
  afterAll(async () => {
    await erp.close();
    await receiver.close();
    host.server.close();
  });

  it('copies exactly the 40 files that are missing or different, once; the next run copies nothing', async () => {
    const first = await runIn(dir, { SHOP_TOKEN: TOKEN });
    expectValidReport(first);
    const items = first.entities[0]!;
    expect(items.error).toBeNull();
    const a = items.attachments!;
    expect(a.fields).toHaveLength(1);
    const field = a.fields[0]!;
    expect(field.field).toBe('image');
    expect(field.source).toEqual({ with: IMAGES, without: 1, tooLarge: 1, unreadable: 0 });
    expect(field.target).toEqual({ with: 170, without: 32, tooLarge: 0, unreadable: 0 });
    // 30 images and the poster missing, 10 different: the 40 copied, the poster reported.
    expect({ missing: field.missing, different: field.different, copied: field.copied, notCopied: field.notCopied }).toEqual({ missing: 31, different: 10, copied: 40, notCopied: 1 });
    expect(a.problems.join('\n')).toContain(`${sku(IMAGES + 1)} image: not copied, larger than maxAttachmentBytes (${MAX_BYTES} bytes)`);

    const uploads = await receiver.files.uploads('items');
    const put = [...uploads].filter(([, n]) => n > 0);
    expect(put.map(([k]) => k).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `${sku(161 + i)}|image`));
    expect(put.every(([, n]) => n === 1)).toBe(true);
    const files = await receiver.files.files('items');
    for (let n = 1; n <= IMAGES; n++) expect(files.get(`${sku(n)}|image`)?.equals(image(n)), sku(n)).toBe(true);
    expect(files.has(`${sku(IMAGES + 1)}|image`)).toBe(false);
    // Read back after the push: every record but the poster shows what was pushed.
    expect(items.sync.stillDiffer).toEqual([sku(IMAGES + 1)]);

    // The file host never saw the receiver's token; the receiver's files were read with it.
    expect(host.served.authorization).toBe(0);

    host.served.full = 0;
    host.served.notModified = 0;
    const second = await runIn(dir, { SHOP_TOKEN: TOKEN });
    const again = second.entities[0]!.attachments!;
    expect(again.fields[0]).toMatchObject({ missing: 1, different: 0, copied: 0, notCopied: 1 });
    expect([...(await receiver.files.uploads('items')).values()].reduce((s, n) => s + n, 0)).toBe(40);
    // The 200 source images were asked "changed since?" and none was downloaded again; the
    // poster has no cached hash (it was never read whole) and is asked again, cut at the limit.
    expect(host.served.notModified).toBe(IMAGES);
    expect(host.served.full).toBe(1);
    expect(again.revalidated).toBeGreaterThanOrEqual(IMAGES);
    expect(second.entities[0]!.diff.changed).toBe(1);

    // The HTML and Markdown reports show the coverage.
    const html = readFileSync(path.join(dir, 'reports', 'latest.html'), 'utf8');
    expect(html).toContain('<table id="attachments"');
    expect(html).toMatch(/<td data-label="field">image<\/td>.*<td data-label="missing">1<\/td><td data-label="different">0<\/td><td data-label="copied">0<\/td><td data-label="not copied">1<\/td>/s);
    const md = readFileSync(path.join(dir, 'reports', 'latest.md'), 'utf8');
    expect(md).toContain('- attachments image: erp 200 with, 1 without, 1 too large; shop 200 with, 2 without; 1 missing, 0 different in shop; 0 copied, 1 not copied');
  });
});

describe('attachments into a SQL target (a BLOB column)', () => {
  const dir = tempDir();
  let host: FileHost;
  let db: Sequelize;

  beforeAll(async () => {
    host = await fileHost();
    db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'shop.db'), logging: false });
    await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, image_url TEXT)');
    await db.query('CREATE TABLE shop_items (sku TEXT PRIMARY KEY, picture BLOB)');
    for (let n = 1; n <= 20; n++) {
      await db.query('INSERT INTO products VALUES (?, ?)', { replacements: [sku(n), `${host.url}/img/${n}.png`] });
      // 1-12 as they are, 13-15 in another version, 16-18 without, 19-20 not there at all.
      if (n <= 18) await db.query('INSERT INTO shop_items VALUES (?, ?)', { replacements: [sku(n), n <= 15 ? image(n, n > 12 ? 2 : 1) : null] });
    }
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  shop: { type: sql, url: "sqlite:shop.db" }
entities:
  items:
    key: sku
    source: { system: shop, table: products, fields: { sku: sku, picture: { from: image_url, attachment: true } } }
    target: { system: shop, table: shop_items, fields: { sku: sku, picture: picture }, write: {} }
`,
    );
  });
  afterAll(async () => {
    await db.close();
    host.server.close();
  });

  it('writes the bytes of the 8 missing or different files into the column, and nothing on the next run', async () => {
    const first = await runIn(dir);
    const a = first.entities[0]!.attachments!.fields[0]!;
    expect(a.target).toEqual({ with: 15, without: 3, tooLarge: 0, unreadable: 0 });
    expect({ missing: a.missing, different: a.different, copied: a.copied, notCopied: a.notCopied }).toEqual({ missing: 5, different: 3, copied: 8, notCopied: 0 });
    const rows = (await db.query('SELECT sku, picture FROM shop_items ORDER BY sku', { type: 'SELECT' })) as { sku: string; picture: Buffer }[];
    expect(rows).toHaveLength(20);
    for (const [i, r] of rows.entries()) expect(Buffer.from(r.picture).equals(image(i + 1)), r.sku).toBe(true);
    expect(first.entities[0]!.sync.stillDiffer ?? []).toEqual([]);

    const second = await runIn(dir);
    expect(second.entities[0]!.diff).toMatchObject({ matched: 20, missing: 0, changed: 0 });
    expect(second.entities[0]!.attachments!.fields[0]).toMatchObject({ missing: 0, different: 0, copied: 0 });
  });
});

/** A SaaS-like API with no batch endpoint: items by ID (POST creates, PUT replaces), a lookup
 *  by SKU, and an image per item (PUT /items/:id/image); an item shows its image's URL. */
function perRecordApi() {
  const items = new Map<string, Record<string, unknown>>();
  const images = new Map<string, Buffer>();
  const uploads: string[] = [];
  let next = 1;
  const app = new Hono();
  const shown = (item: Record<string, unknown>) => ({ ...item, image_url: images.has(String(item.id)) ? `/items/${String(item.id)}/image` : null });
  app.get('/items', (c) => {
    const wanted = c.req.query('sku');
    const all = [...items.values()].filter((i) => wanted === undefined || i.sku === wanted);
    return c.json({ items: all.map(shown) });
  });
  app.post('/items', async (c) => {
    const id = String(next++);
    const item = { ...(await c.req.json<Record<string, unknown>>()), id };
    items.set(id, item);
    return c.json(shown(item), 201);
  });
  app.put('/items/:id', async (c) => {
    const id = c.req.param('id');
    if (!items.has(id)) return c.json({ error: 'no such item' }, 404);
    const item = { ...(await c.req.json<Record<string, unknown>>()), id };
    items.set(id, item);
    return c.json(shown(item));
  });
  app.put('/items/:id/image', async (c) => {
    const id = c.req.param('id');
    if (!items.has(id)) return c.json({ error: 'no such item' }, 404);
    images.set(id, Buffer.from(await c.req.arrayBuffer()));
    uploads.push(id);
    return c.body(null, 204);
  });
  app.get('/items/:id/image', (c) => {
    const body = images.get(c.req.param('id'));
    return body ? c.body(new Uint8Array(body), 200, { 'Content-Type': 'image/png' }) : c.json({ error: 'no image' }, 404);
  });
  const seed = (sku: string, image?: Buffer) => {
    const id = String(next++);
    items.set(id, { id, sku, name: sku });
    if (image) images.set(id, image);
  };
  return { app, items, images, uploads, seed };
}

describe('attachments to a per-record target (upload by remote ID)', () => {
  const dir = tempDir();
  let host: FileHost;
  let db: Sequelize;
  const api = perRecordApi();

  beforeAll(async () => {
    host = await fileHost();
    db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
    await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, image_url TEXT)');
    for (let n = 1; n <= 12; n++) await db.query('INSERT INTO products VALUES (?, ?, ?)', { replacements: [sku(n), sku(n), `${host.url}/img/${n}.png`] });
    // 1-6 with their image, 7-8 with another one, 9-10 without; 11-12 not there at all.
    for (let n = 1; n <= 10; n++) api.seed(sku(n), n <= 8 ? image(n, n > 6 ? 2 : 1) : undefined);
    const url = await serveApp(api.app);
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  saas: { type: http, baseUrl: "${url}" }
entities:
  items:
    key: sku
    source: { system: erp, table: products, fields: { sku: sku, name: name, image: { from: image_url, attachment: true } } }
    target:
      system: saas
      path: /items
      list: items
      fields: { sku: sku, name: name, image: image_url }
      write:
        mode: per-record
        create: { method: POST, path: /items }
        update: { method: PUT, path: "/items/{remoteId}" }
        remoteId: id
        lookup: { path: /items, param: sku }
        upload: { method: PUT, path: "/items/{remoteId}/image" }
`,
    );
  });
  afterAll(async () => {
    await db.close();
    host.server.close();
  });

  it('creates the 2 missing records, then uploads the 6 files by the IDs the target gave', async () => {
    const first = await runIn(dir);
    const items = first.entities[0]!;
    expect(items.error).toBeNull();
    expect(items.sync).toMatchObject({ created: 2, updated: 4 });
    expect(items.attachments!.fields[0]).toMatchObject({ missing: 4, different: 2, copied: 6, notCopied: 0 });
    const bySku = new Map([...api.items.values()].map((i) => [i.sku as string, String(i.id)]));
    expect(api.items.size).toBe(12);
    expect(api.uploads.sort()).toEqual([7, 8, 9, 10, 11, 12].map((n) => bySku.get(sku(n))!).sort());
    for (let n = 1; n <= 12; n++) expect(api.images.get(bySku.get(sku(n))!)?.equals(image(n)), sku(n)).toBe(true);
    expect(items.sync.stillDiffer ?? []).toEqual([]);

    const second = await runIn(dir);
    expect(second.entities[0]!.diff).toMatchObject({ matched: 12, changed: 0, missing: 0 });
    expect(api.uploads).toHaveLength(6);
  });
});

// Binary fields (a BLOB, a bytea) have one form on every side: base64 text on the wire and in
// the comparison, bytes again in a SQL target. Pushed once, they settle: the next run is in sync.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
let receiver: Receiver;
let db: Sequelize;
const photos = Array.from({ length: 12 }, () => randomBytes(40));

beforeAll(async () => {
  db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, photo BLOB)');
  for (const [i, photo] of photos.entries()) await db.query('INSERT INTO products VALUES (?, ?)', { replacements: [`S${i}`, photo] });
  await db.query('CREATE TABLE shop (sku TEXT PRIMARY KEY, photo BLOB)');
  receiver = await createReceiver();
  const { url } = await receiver.listen(0);
  writeFileSync(
    path.join(dir, 'parity.yaml'),
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  api: { type: http, baseUrl: "${url}" }
entities:
  to_api:
    key: sku
    source: { system: erp, table: products }
    target: { system: api, path: /items, list: items, fields: { sku: sku, photo: photo }, write: { path: /sync/items } }
  to_sql:
    key: sku
    source: { system: erp, table: products }
    target: { system: erp, table: shop, write: {} }
`,
  );
});
afterAll(async () => {
  await db.close();
  await receiver.close();
});

async function run() {
  const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
  const store = await StateStore.open('sqlite:state.db', dir);
  try {
    return (await runOnce(loaded, store, { logger: silentLogger() })).report;
  } finally {
    await store.close();
  }
}

describe('binary fields', () => {
  it('are pushed once as base64 to an HTTP target and as bytes to a SQL target, and then match', async () => {
    const first = await run();
    expect(first.entities.map((e) => [e.name, e.outcome, e.sync.created])).toEqual([
      ['to_api', 'synced', 12],
      ['to_sql', 'synced', 12],
    ]);
    const held = await receiver.records('items');
    expect((held.get('S3') as { photo: unknown }).photo).toBe(photos[3]!.toString('base64'));
    const rows = await db.query<{ sku: string; photo: Buffer }>('SELECT sku, photo FROM shop ORDER BY sku', { type: QueryTypes.SELECT });
    expect(Buffer.isBuffer(rows[0]!.photo)).toBe(true);
    expect(rows.find((r) => r.sku === 'S3')!.photo.equals(photos[3]!)).toBe(true);
    // The closed loop saw them arrive, and the next run finds nothing to do.
    expect(first.entities.every((e) => e.sync.verified === 12 && !e.sync.stillDiffer)).toBe(true);
    const second = await run();
    expect(second.entities.map((e) => [e.name, e.outcome, e.diff.changed])).toEqual([
      ['to_api', 'in-sync', 0],
      ['to_sql', 'in-sync', 0],
    ]);
  });
});

// A whole run that syncs into a SQL target, on SQLite, PostgreSQL and MariaDB: a dry run
// leaves the target byte-for-byte as it was; a real run upserts and soft-deletes in bulk,
// reads the pushed keys back (closed loop), and the next run finds the entity in step.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { DATABASES } from '../helpers/databases.js';
import { expectValidReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const N = 500;
const sku = (i: number) => `S${String(i).padStart(4, '0')}`;

for (const database of DATABASES) {
  describe.skipIf(!database.available)(`${database.label}: a run that syncs into a SQL table`, () => {
    const dir = tempDir();
    let env: Awaited<ReturnType<typeof database.open>>;
    let table = '';

    beforeAll(async () => {
      const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
      await erp.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price NUMERIC, qty INTEGER)');
      const rows = Array.from({ length: N }, (_, i) => [sku(i), `Part ${i}`, (i * 1.25).toFixed(2), i % 17]);
      await erp.query(`INSERT INTO products VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: rows.flat() });
      await erp.close();

      env = await database.open(dir);
      table = `${env.prefix}shop_items`;
      await env.db.query(`CREATE TABLE ${table} (id INTEGER, code VARCHAR(20) NOT NULL, title VARCHAR(50), price DECIMAL(10,2), qty INTEGER, is_deleted BOOLEAN NOT NULL DEFAULT FALSE)`);
      await env.db.query(`CREATE UNIQUE INDEX shop_items_code ON ${table} (code)`);
      // The shop lacks the first 40, shows another price for 25, and lists 10 the ERP does not have.
      const shop = rows.slice(40).map(([s, name, price, qty], i) => [s, name, i < 25 ? '999.00' : price, qty]);
      for (let i = 0; i < 10; i++) shop.push([`X${i}`, 'stale', '1.00', 1]);
      await env.db.query(`INSERT INTO ${table} (code, title, price, qty) VALUES ${shop.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: shop.flat() });

      writeFileSync(
        path.join(dir, 'parity.yaml'),
        `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: sql, url: "${env.url}", pageSize: 150 }
entities:
  items:
    key: [sku]
    source: { system: erp, table: products, fields: { sku: sku, name: name, price: { from: price, transform: decimal(2) }, qty: { from: qty, transform: int } } }
    target:
      system: shop
      table: ${table}
      where: "is_deleted = FALSE"
      fields: { sku: code, name: title, price: { from: price, transform: decimal(2) }, qty: { from: qty, transform: int } }
      write: { batchSize: 64, delete: soft }
`,
      );
    });
    afterAll(() => env.teardown());

    async function run(options: { dryRun?: boolean } = {}) {
      const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
      const store = await StateStore.open('sqlite:state.db', dir);
      try {
        const { report } = await runOnce(loaded, store, { logger: silentLogger(), ...options });
        expectValidReport(report);
        return report.entities[0]!;
      } finally {
        await store.close();
      }
    }
    async function targetSnapshot() {
      const rows = await env.db.query(`SELECT code, title, price, qty, is_deleted FROM ${table} ORDER BY code`, { type: QueryTypes.SELECT });
      const file = env.url.startsWith('sqlite:') ? createHash('sha256').update(readFileSync(path.join(dir, env.url.slice('sqlite:'.length)))).digest('hex') : null;
      return { rows: JSON.stringify(rows), file };
    }

    it('--dry-run leaves the target byte-for-byte unchanged and says what it would do', async () => {
      const before = await targetSnapshot();
      const items = await run({ dryRun: true });
      expect(items.diff).toMatchObject({ missing: 40, changed: 25, extra: 10 });
      expect(items.outcome).toBe('report-only');
      expect(items.sync).toMatchObject({ created: 40, updated: 25, deleted: 10 });
      expect(await targetSnapshot()).toEqual(before);
    });

    it('upserts and soft-deletes in bulk, verifies the pushed keys, and the next run is in step', async () => {
      const items = await run();
      expect(items.outcome).toBe('synced');
      expect(items.sync).toMatchObject({ created: 40, updated: 25, deleted: 10, rejected: 0, pending: 0, verified: 75 });
      expect(items.sync.stillDiffer).toBeUndefined();
      const deleted = await env.db.query<{ code: string }>(`SELECT code FROM ${table} WHERE is_deleted = TRUE ORDER BY code`, { type: QueryTypes.SELECT });
      expect(deleted.map((r) => r.code)).toEqual(Array.from({ length: 10 }, (_, i) => `X${i}`));
      const live = await env.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE is_deleted = FALSE`, { type: QueryTypes.SELECT });
      expect(Number(live[0]!.n)).toBe(N);

      const again = await run();
      expect(again.outcome).toBe('in-sync');
      expect(again.match).toBe(100);
    });
  });
}

// The SQL collector on the three databases: composite keys, where, a read-only query, key
// fallback chains with pageBy, incremental reads by a timestamp, and metrics pushed down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordMapper } from '../../src/collectors/mapper.js';
import { MetricAccumulator, parseMetric, type MetricValue } from '../../src/collectors/metrics.js';
import type { SqlSideSpec as SideSpec } from '../../src/systems/sql/schema.js';
import { SqlCollector } from '../../src/systems/sql/collector.js';
import { checkQuery } from '../../src/systems/sql/statement.js';
import { parseDatabaseUrl } from '../../src/core/sql.js';
import type { Page } from '../../src/core/record.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { DATABASES } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

function side(url: string, config: Partial<SideSpec['config']>, mappings: SideSpec['mappings'] = null): SideSpec {
  return { role: 'source', systemName: 'erp', system: { type: 'sql', url, pageSize: 7, statementTimeoutS: 300 }, config: { system: 'erp', ...config }, mappings };
}

async function read(collector: SqlCollector, keyChains: string[][], compare: string[], mappings: SideSpec['mappings'] = null, since?: string) {
  const mapper = new RecordMapper({ keyChains, compareFields: compare, mappings });
  const pages: Page[] = [];
  for await (const page of collector.read({ mapper, since })) pages.push(page);
  return { records: pages.flatMap((p) => p.records), invalid: pages.flatMap((p) => p.invalid), mapper };
}

const PARTS = [
  // id, barcode, brand, size, qty, price, category, updated
  [1, '4006381333931', 'Acme', 'M', 5, '10.50', 'tools', '2026-01-01 10:00:00'],
  [2, null, 'Acme', 'L', 3, '12.00', 'tools', '2026-01-02 10:00:00'],
  [3, '0000123', 'Bolt', 'S', 0, '1.25', 'garden', '2026-01-03 10:00:00'],
  [4, null, 'Bolt', null, 7, null, 'garden', '2026-01-04 10:00:00'],
  [5, '5012345678900', null, null, 2, '99.99', null, '2026-01-05 10:00:00'],
  ...Array.from({ length: 20 }, (_, i) => [10 + i, `BC${String(i).padStart(4, '0')}`, 'Crest', String(i % 3), i, (i * 1.1).toFixed(2), i % 2 ? 'tools' : 'kitchen', `2026-02-${String(i + 1).padStart(2, '0')} 08:00:00`]),
] as const;

for (const database of DATABASES) {
  describe.skipIf(!database.available)(database.label, () => {
    let url = '';
    let t = '';
    let env: Awaited<ReturnType<typeof database.open>>;
    beforeAll(async () => {
      env = await database.open(dir);
      url = env.url;
      t = `${env.prefix}parts`;
      await env.db.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, barcode VARCHAR(20), brand VARCHAR(20), size VARCHAR(5), qty INTEGER, price DECIMAL(10,2), category VARCHAR(20), updated_at VARCHAR(19) NOT NULL)`);
      await env.db.query(`INSERT INTO ${t} (id, barcode, brand, size, qty, price, category, updated_at) VALUES ${PARTS.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`, { replacements: PARTS.flat() });
    });
    afterAll(() => env.teardown());

    it('a read-only query is paged like a table', async () => {
      const c = new SqlCollector({ side: side(url, { query: `SELECT id, brand, qty FROM ${t} WHERE qty > 2` }), keyChains: [['id']], baseDir: env.baseDir });
      const { records } = await read(c, [['id']], ['brand', 'qty']);
      await c.close();
      expect(records.map((r) => Number(r.key)).sort((a, b) => a - b)).toEqual(PARTS.filter((p) => Number(p[4]) > 2).map((p) => Number(p[0])).sort((a, b) => a - b));
      expect(c.queryCount).toBeGreaterThan(3);
    });

    it('refuses a query that writes', () => {
      const name = parseDatabaseUrl(url, '.').dialect;
      expect(checkQuery('DELETE FROM parts', name).problem).toBe('must start with SELECT or WITH (a read-only query)');
      expect(checkQuery('SELECT 1; DROP TABLE parts', name).problem).toMatch(/^must be one statement/);
      expect(checkQuery('WITH x AS (DELETE FROM parts RETURNING *) SELECT * FROM x', name).problem).toBe('must only read (it contains DELETE)');
      expect(checkQuery("SELECT * FROM parts WHERE note = 'delete me';", name)).toEqual({ sql: "SELECT * FROM parts WHERE note = 'delete me'" });
    });

    it('key fallback chains with mapped fields page past the first page by a primary key the fields do not map', async () => {
      const chains = [['barcode'], ['brand', 'size']];
      const mappings = ['barcode', 'brand', 'size', 'qty'].map((name) => ({ name, from: name, transforms: [] }));
      const c = new SqlCollector({ side: side(url, { table: t }, mappings), keyChains: chains, baseDir: env.baseDir });
      const { records, invalid } = await read(c, chains, ['qty'], mappings);
      await c.close();
      // 25 rows in pages of 7: every page read, none twice.
      expect(records.length + invalid.length).toBe(25);
      expect(new Set(records.map((r) => r.key)).size).toBe(24);
    });

    it('key fallback chains: the first complete chain is the key, pages go by the primary key', async () => {
      const chains = [['barcode'], ['brand', 'size']];
      const c = new SqlCollector({ side: side(url, { table: t }), keyChains: chains, baseDir: env.baseDir });
      const { records, invalid, mapper } = await read(c, chains, ['qty']);
      await c.close();
      expect(records).toHaveLength(24);
      expect(records.filter((r) => r.key.startsWith('brand+size:')).map((r) => r.key)).toEqual(['brand+size:["Acme","L"]']);
      expect(records.some((r) => r.key === 'barcode:0000123')).toBe(true);
      expect(mapper.chainCounts).toEqual([23, 1]);
      expect(invalid).toEqual([{ ref: 'table ' + t + ' row 4', reason: 'no key: barcode lacks barcode; brand+size lacks size' }]);
    });

    it('key fallback chains with an explicit pageBy', async () => {
      const chains = [['barcode'], ['brand', 'size']];
      const c = new SqlCollector({ side: side(url, { table: t, pageBy: ['updated_at', 'id'] }), keyChains: chains, baseDir: env.baseDir });
      const { records } = await read(c, chains, ['qty']);
      await c.close();
      expect(records).toHaveLength(24);
    });

    it('an incremental read after changing 3 rows reads exactly those 3', async () => {
      const config = { table: t, incremental: { field: 'updated_at' } };
      const first = new SqlCollector({ side: side(url, config), keyChains: [['id']], baseDir: env.baseDir });
      expect((await read(first, [['id']], ['qty'])).records).toHaveLength(25);
      const watermark = first.watermark();
      await first.close();
      expect(watermark).toBe('2026-02-20 08:00:00');
      await env.db.query(`UPDATE ${t} SET qty = qty + 1, updated_at = '2026-03-01 00:00:00' WHERE id IN (2, 12, 20)`);
      const second = new SqlCollector({ side: side(url, config), keyChains: [['id']], baseDir: env.baseDir });
      const { records } = await read(second, [['id']], ['qty'], null, watermark!);
      expect(records.map((r) => r.key).sort()).toEqual(['12', '2', '20']);
      expect(second.watermark()).toBe('2026-03-01 00:00:00');
      await second.close();
    });

    it('a timestamp watermark keeps its microseconds: an unchanged table is not read again', async () => {
      const ts = `${env.prefix}stamped_${Math.random().toString(36).slice(2, 8)}`;
      const type = database.label.includes('PostgreSQL') ? 'TIMESTAMP(6)' : database.label.includes('MariaDB') ? 'DATETIME(6)' : 'TEXT';
      await env.db.query(`CREATE TABLE ${ts} (id INTEGER PRIMARY KEY, qty INTEGER, updated_at ${type} NOT NULL)`);
      // Three rows in the same millisecond, at different microseconds.
      await env.db.query(`INSERT INTO ${ts} VALUES (1, 1, '2026-11-22 10:00:00.123100'), (2, 2, '2026-11-22 10:00:00.123700'), (3, 3, '2026-11-22 10:00:00.123400')`);
      const config = { table: ts, incremental: { field: 'updated_at' } };
      const first = new SqlCollector({ side: side(url, config), keyChains: [['id']], baseDir: env.baseDir });
      expect((await read(first, [['id']], ['qty'])).records).toHaveLength(3);
      const watermark = first.watermark()!;
      await first.close();
      expect(watermark).toMatch(/^2026-11-22[ T]10:00:00\.1237/);
      const again = new SqlCollector({ side: side(url, config), keyChains: [['id']], baseDir: env.baseDir });
      expect((await read(again, [['id']], ['qty'], null, watermark)).records).toHaveLength(0);
      await again.close();
      await env.db.query(`UPDATE ${ts} SET qty = 9, updated_at = '2026-11-22 10:00:00.123800' WHERE id = 1`);
      const changed = new SqlCollector({ side: side(url, config), keyChains: [['id']], baseDir: env.baseDir });
      expect((await read(changed, [['id']], ['qty'], null, watermark)).records.map((r) => r.key)).toEqual(['1']);
      await changed.close();
      await env.db.query(`DROP TABLE ${ts}`);
    });

    it('every metric kind pushed down gives the figures streaming gives, in one query per grouping', async () => {
      const specs: Record<string, string | { expr: string; by: string }> = {
        rows: 'count()',
        rows_star: 'count(*)',
        with_barcode: 'count(barcode)',
        tools: "count(category = 'tools')",
        not_tools: "count(category != 'tools')",
        stock: 'sum(qty)',
        stock_value: 'sum(qty * price)',
        avg_price: 'avg(price)',
        min_price: 'min(price)',
        max_qty: 'max(qty)',
        brands: 'distinct(brand)',
        qty_by_category: { expr: 'sum(qty)', by: 'category' },
        rows_by_brand: { expr: 'count()', by: 'brand' },
      };
      const defs = Object.entries(specs).map(([name, spec]) => parseMetric(name, spec));
      const c = new SqlCollector({ side: side(url, { table: t, where: 'id < 28' }), keyChains: [['id']], baseDir: env.baseDir });
      const before = c.queryCount;
      const pushed = await c.metrics(defs);
      expect(c.queryCount - before).toBe(3); // no grouping, by category, by brand
      expect([...pushed.keys()].sort()).toEqual(Object.keys(specs).sort());

      // Streaming the same rows with the same fields must agree.
      const accumulator = new MetricAccumulator(defs);
      const { records } = await read(c, [['id']], ['qty'], [
        { name: 'id', from: 'id', transforms: [] },
        ...['barcode', 'brand', 'size', 'qty', 'price', 'category'].map((f) => ({ name: f, from: f, transforms: [] })),
      ]);
      await c.close();
      for (const r of records) accumulator.add(r.fields);
      const streamed = accumulator.values();
      const plain = (v: MetricValue | undefined) => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, Math.round(x * 1e6) / 1e6])) : Math.round((v ?? NaN) * 1e6) / 1e6);
      for (const name of Object.keys(specs)) expect(plain(pushed.get(name)), name).toEqual(plain(streamed.get(name)));
      // ids 1-5 and 10-27: five hand-made rows and eighteen generated ones.
      expect(pushed.get('rows')).toBe(23);
      expect(pushed.get('with_barcode')).toBe(21);
      expect(pushed.get('tools')).toBe(11);
      expect(pushed.get('not_tools')).toBe(11);
      expect(pushed.get('brands')).toBe(3);
      // The incremental test above added 1 to the qty of ids 2 (tools), 12 and 20 (kitchen).
      expect(plain(pushed.get('qty_by_category'))).toEqual({ '(null)': 2, garden: 7, kitchen: 72 + 2, tools: 89 + 1 });
    });

    it('a metric on a transformed field is left to streaming', async () => {
      const mappings = [
        { name: 'id', from: 'id', transforms: [] },
        { name: 'price', from: 'price', transforms: parseTransforms('decimal(0)') },
        { name: 'qty', from: 'qty', transforms: [] },
      ];
      const c = new SqlCollector({ side: side(url, { table: t }, mappings), keyChains: [['id']], baseDir: env.baseDir });
      const pushed = await c.metrics([parseMetric('p', 'sum(price)'), parseMetric('q', 'sum(qty)')]);
      await c.close();
      expect([...pushed.keys()]).toEqual(['q']);
    });
  });
}

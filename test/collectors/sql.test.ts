import { existsSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordMapper, type FieldMapping } from '../../src/collectors/mapper.js';
import type { SqlSideSpec as SideSpec } from '../../src/systems/sql/schema.js';
import { SqlCollector } from '../../src/systems/sql/collector.js';
import { sortedFields } from '../../src/core/canonical.js';
import type { Page } from '../../src/core/record.js';
import type { KeyRange } from '../../src/collectors/types.js';
import { parseTransforms } from '../../src/core/transforms.js';
import { mariadbAvailable, mariadbDatabase, pgAvailable, pgSchema, PG_URL } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

const ROWS = 1234;

function rows() {
  return Array.from({ length: ROWS }, (_, i) => ({
    region: i % 3 === 0 ? 'north' : 'south',
    code: `C${String(i).padStart(5, '0')}`,
    name: ` Item ${i} `,
    price: (i * 0.25).toFixed(2),
    active: i % 10 === 0 ? 0 : 1,
  }));
}

async function createTable(db: Sequelize, table: string) {
  await db.query(`CREATE TABLE ${table} (region VARCHAR(10) NOT NULL, code VARCHAR(10), name VARCHAR(50), price DECIMAL(10,2), active INTEGER, UNIQUE (region, code))`);
  const all = rows();
  for (let i = 0; i < all.length; i += 300) {
    const chunk = all.slice(i, i + 300);
    await db.query(`INSERT INTO ${table} (region, code, name, price, active) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, {
      replacements: chunk.flatMap((r) => [r.region, r.code, r.name, r.price, r.active]),
    });
  }
  // Two rows the keyset cannot page: their key has a NULL part.
  await db.query(`INSERT INTO ${table} (region, code, name, price, active) VALUES ('north', NULL, 'orphan', 1, 1), ('east', NULL, 'orphan2', 1, 1)`);
}

const mappings: FieldMapping[] = [
  { name: 'region', from: 'region', transforms: [] },
  { name: 'code', from: 'code', transforms: [] },
  { name: 'label', from: 'name', transforms: parseTransforms('trim') },
  { name: 'price', from: 'price', transforms: parseTransforms('decimal(2)') },
];

function side(url: string, table: string, extra: Partial<SideSpec['config']> = {}, withMappings = true): SideSpec {
  return {
    role: 'source',
    systemName: 'erp',
    system: { type: 'sql', url, pageSize: 100, statementTimeoutS: 300 },
    config: { system: 'erp', table, ...extra },
    mappings: withMappings ? mappings : null,
  };
}

async function readAll(collector: SqlCollector, keyFields: string[], compare: string[]): Promise<Page[]> {
  const mapper = new RecordMapper({ keyChains: [keyFields], compareFields: sortedFields(compare), mappings: collector['options'].side.mappings });
  const pages: Page[] = [];
  for await (const page of collector.read({ mapper })) pages.push(page);
  await collector.close();
  return pages;
}

function behavesLikeASqlSource(label: string, setup: () => Promise<{ url: string; table: string; baseDir: string; teardown: () => Promise<void> }>) {
  describe(label, () => {
    let url = '';
    let table = '';
    let baseDir = '';
    let teardown: () => Promise<void> = async () => undefined;
    beforeAll(async () => {
      ({ url, table, baseDir, teardown } = await setup());
    });
    afterAll(() => teardown());

    it('reads every row once, in key order, page by page, with mapping and transforms', async () => {
      const collector = new SqlCollector({ side: side(url, table), keyChains: [['region', 'code']], baseDir });
      const pages = await readAll(collector, ['region', 'code'], ['label', 'price']);
      const records = pages.flatMap((p) => p.records);
      expect(records).toHaveLength(ROWS);
      expect(pages.filter((p) => p.records.length > 0).length).toBe(Math.ceil(ROWS / 100));
      expect(new Set(records.map((r) => r.key)).size).toBe(ROWS);
      const keys = records.map((r) => JSON.parse(r.key) as [string, string]);
      const sorted = [...keys].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
      expect(keys).toEqual(sorted);
      const item7 = records.find((r) => r.key === '["south","C00007"]')!;
      expect(item7.fields).toEqual({ region: 'south', code: 'C00007', label: 'Item 7', price: '1.75' });
    });

    it('reads many key ranges in a few queries: the rows of each range once, in key order, whatever the row counts given', async () => {
      const all = (await readAll(new SqlCollector({ side: side(url, table), keyChains: [['region', 'code']], baseDir }), ['region', 'code'], ['label'])).flatMap((p) => p.records);
      const keys = all.map((r) => JSON.parse(r.key) as [string, string]);
      // 60 ranges of 2 rows with gaps of 5, counted right; one of 300 rows said to hold 1 (read
      // in pages within its batch); one of unknown size, open at the end.
      const ranges: KeyRange[] = Array.from({ length: 60 }, (_, i) => ({ from: keys[i * 7]!, to: keys[i * 7 + 2]!, rows: 2 }));
      ranges.push({ from: keys[500]!, to: keys[800]!, rows: 1 }, { from: keys[1200]!, to: null });
      const wanted = [...keys.slice(0, 420).filter((_, i) => i % 7 < 2), ...keys.slice(500, 800), ...keys.slice(1200)];
      const collector = new SqlCollector({ side: side(url, table), keyChains: [['region', 'code']], baseDir });
      const mapper = new RecordMapper({ keyChains: [['region', 'code']], compareFields: sortedFields(['label']), mappings });
      const read: string[] = [];
      for await (const page of collector.read({ mapper, ranges })) read.push(...page.records.map((r) => r.key));
      await collector.close();
      expect(read).toEqual(wanted.map((k) => JSON.stringify(k)));
      // One query for the NULL keys, then: the 60 small ranges and the big one in two batches
      // (4 pages), the last range alone (1 page). Read one by one, it would take over 60.
      expect(collector.queryCount).toBeLessThanOrEqual(8);
    });

    it('counts rows with a NULL key part as invalid instead of dropping them', async () => {
      const collector = new SqlCollector({ side: side(url, table), keyChains: [['region', 'code']], baseDir });
      const pages = await readAll(collector, ['region', 'code'], ['label']);
      const invalid = pages.flatMap((p) => p.invalid);
      expect(invalid).toHaveLength(2);
      expect(invalid[0]!.reason).toBe('key column region, code is NULL');
    });

    it('applies the where clause', async () => {
      const collector = new SqlCollector({ side: side(url, table, { where: 'active = 1' }), keyChains: [['region', 'code']], baseDir });
      const records = (await readAll(collector, ['region', 'code'], ['label'])).flatMap((p) => p.records);
      const inactive = rows().filter((r) => r.active === 0).length;
      expect(inactive).toBeGreaterThan(100);
      expect(records).toHaveLength(ROWS - inactive);
    });

    it('without a mapping, the columns are the fields', async () => {
      const collector = new SqlCollector({ side: side(url, table, {}, false), keyChains: [['region', 'code']], baseDir });
      const columns = await collector.columns();
      expect(columns?.sort()).toEqual(['active', 'code', 'name', 'price', 'region']);
      const records = (await readAll(collector, ['region', 'code'], ['name'])).flatMap((p) => p.records);
      expect(records).toHaveLength(ROWS);
      expect(Object.keys(records[0]!.fields).sort()).toEqual(['code', 'name', 'region']);
    });

    it('probe finds the table and names missing columns', async () => {
      const ok = new SqlCollector({ side: side(url, table), keyChains: [['region', 'code']], baseDir });
      expect((await ok.probe())[0]).toMatchObject({ ok: true, check: `table ${table}` });
      await ok.close();
      const wrong = side(url, table);
      wrong.mappings = [...mappings, { name: 'colour', from: 'colour', transforms: [] }];
      const bad = new SqlCollector({ side: wrong, keyChains: [['region', 'code']], baseDir });
      const result = (await bad.probe())[0]!;
      await bad.close();
      expect(result.ok).toBe(false);
      expect(result.detail).toMatch(/^missing column colour \(has /);
    });

    it('a missing table is an error naming the system and table', async () => {
      const collector = new SqlCollector({ side: side(url, `${table}_nope`), keyChains: [['region', 'code']], baseDir });
      await expect(readAll(collector, ['region', 'code'], ['label'])).rejects.toThrow(new RegExp(`system "erp" table ${table}_nope: reading failed`));
    });
  });
}

behavesLikeASqlSource('SQL collector on SQLite', async () => {
  const dir = tempDir();
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await createTable(db, 'products');
  await db.close();
  // A relative sqlite: URL resolves against the config's folder.
  return { url: 'sqlite:erp.db', table: 'products', baseDir: dir, teardown: async () => undefined };
});

describe.skipIf(!pgAvailable)('[postgres]', () => {
  behavesLikeASqlSource('SQL collector on PostgreSQL', async () => {
    const pg = await pgSchema();
    await createTable(pg.db, `${pg.schema}.products`);
    return { url: PG_URL, table: `${pg.schema}.products`, baseDir: '.', teardown: pg.drop };
  });
});

describe.skipIf(!mariadbAvailable)('[mariadb]', () => {
  behavesLikeASqlSource('SQL collector on MariaDB', async () => {
    const m = await mariadbDatabase();
    await createTable(m.db, 'products');
    return { url: m.url.replace(/^mysql:/, 'mariadb:'), table: 'products', baseDir: '.', teardown: m.drop };
  });
});

describe('SQL collector errors', () => {
  it('a SQLite file that does not exist is not created', async () => {
    const dir = tempDir();
    const collector = new SqlCollector({ side: side('sqlite:missing.db', 't'), keyChains: [['region', 'code']], baseDir: dir });
    await expect(readAll(collector, ['region', 'code'], ['label'])).rejects.toThrow(/SQLite file .*missing\.db does not exist/);
    expect(existsSync(path.join(dir, 'missing.db'))).toBe(false);
  });

  it('an unreachable server is named without its password', async () => {
    const collector = new SqlCollector({ side: side('postgres://app:s3cr3t-pw@127.0.0.1:1/db', 't'), keyChains: [['region', 'code']], baseDir: '.' });
    const error = await readAll(collector, ['region', 'code'], ['label']).catch((e: Error) => e);
    expect(String(error)).toMatch(/system "erp" \(postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/db\): cannot connect: .*ECONNREFUSED/);
    expect(String(error)).not.toContain('s3cr3t-pw');
  });
});

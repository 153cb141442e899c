// The SQL loader on SQLite, PostgreSQL and MariaDB: bulk upserts keyed by a unique index,
// soft and hard deletes, and a chunk the database refuses rolled back alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryTypes } from 'sequelize';
import { openSequelize, parseDatabaseUrl } from '../../src/core/sql.js';
import { SqlLoader, type SqlLoadOptions, type SqlLoadRow } from '../../src/systems/sql/loader.js';
import { DATABASES } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

for (const database of DATABASES) {
  describe.skipIf(!database.available)(database.label, () => {
    let env: Awaited<ReturnType<typeof database.open>>;
    let seq: Awaited<ReturnType<typeof openSequelize>>;
    let n = 0;
    beforeAll(async () => {
      env = await database.open(dir);
      await env.db.query('SELECT 1'); // SQLite creates its file on first use
      seq = await openSequelize(parseDatabaseUrl(env.url, env.baseDir));
    });
    afterAll(async () => {
      await seq.close();
      await env.teardown();
    });

    /** A fresh table: sku unique, qty must not be negative, a soft-delete flag. */
    async function table(rows: [string, string, number][] = []) {
      const t = `${env.prefix}items_${++n}`;
      await env.db.query(`CREATE TABLE ${t} (id INTEGER, sku VARCHAR(20) NOT NULL, name VARCHAR(50), qty INTEGER CHECK (qty >= 0), is_deleted BOOLEAN NOT NULL DEFAULT FALSE)`);
      await env.db.query(`CREATE UNIQUE INDEX items_${n}_sku ON ${t} (sku)`);
      for (const [sku, name, qty] of rows) await env.db.query(`INSERT INTO ${t} (sku, name, qty) VALUES (?, ?, ?)`, { replacements: [sku, name, qty] });
      return t;
    }
    async function rows(t: string) {
      const out = await env.db.query<{ sku: string; name: string; qty: number; is_deleted: unknown }>(`SELECT sku, name, qty, is_deleted FROM ${t} ORDER BY sku`, { type: QueryTypes.SELECT });
      return out.map((r) => [r.sku, r.name, Number(r.qty), Boolean(Number(r.is_deleted) || r.is_deleted === true)]);
    }
    function loader(t: string, o: Partial<SqlLoadOptions> = {}) {
      return new SqlLoader({ sequelize: seq, table: t, keyColumns: ['sku'], columns: ['sku', 'name', 'qty'], chunkSize: 3, delete: 'none', where: 'entities.items.target.write', ...o });
    }
    const row = (sku: string, name: string, qty: number, exists = false): SqlLoadRow => ({ localId: sku, values: { sku, name, qty }, exists });

    it('upserts in bulk: new rows are inserted, changed rows updated, one statement per chunk', async () => {
      const t = await table([['A', 'old', 1], ['B', 'same', 2]]);
      const upserts = [row('A', 'new', 5, true), row('C', 'c', 3), row('D', 'd', 4), row('E', 'e', 0), row('F', 'f', 9), row('G', 'g', 7)];
      const summary = await loader(t).load(upserts, []);
      expect(summary).toMatchObject({ created: 5, updated: 1, rejected: 0, statements: 2 });
      expect(await rows(t)).toEqual([
        ['A', 'new', 5, false],
        ['B', 'same', 2, false],
        ['C', 'c', 3, false],
        ['D', 'd', 4, false],
        ['E', 'e', 0, false],
        ['F', 'f', 9, false],
        ['G', 'g', 7, false],
      ]);
      // The same rows again change nothing and insert nothing twice.
      await loader(t).load(upserts, []);
      expect((await rows(t)).length).toBe(7);
    });

    it('soft delete sets the flag; an upsert of a soft-deleted record brings it back', async () => {
      const t = await table([['A', 'a', 1], ['B', 'b', 2], ['C', 'c', 3]]);
      const summary = await loader(t, { delete: 'soft' }).load([], [{ localId: 'A', key: { sku: 'A' } }, { localId: 'C', key: { sku: 'C' } }]);
      expect(summary).toMatchObject({ deleted: 2, rejected: 0 });
      expect(await rows(t)).toEqual([['A', 'a', 1, true], ['B', 'b', 2, false], ['C', 'c', 3, true]]);
      await loader(t, { delete: 'soft' }).load([row('A', 'a2', 1, true)], []);
      expect((await rows(t))[0]).toEqual(['A', 'a2', 1, false]);
    });

    it('a numeric or text soft-delete flag: created and restored rows get the column\'s not-deleted default, not NULL', async () => {
      const t = `${env.prefix}flags_${++n}`;
      await env.db.query(`CREATE TABLE ${t} (sku VARCHAR(20) NOT NULL, qty INTEGER, is_deleted INTEGER NOT NULL DEFAULT 0, state VARCHAR(10) DEFAULT 'active')`);
      await env.db.query(`CREATE UNIQUE INDEX flags_${n}_sku ON ${t} (sku)`);
      const flags = async () =>
        (await env.db.query<{ sku: string; is_deleted: unknown; state: string | null }>(`SELECT sku, is_deleted, state FROM ${t} ORDER BY sku`, { type: QueryTypes.SELECT })).map((r) => [r.sku, Number(r.is_deleted), r.state]);
      const numeric = (o: Partial<SqlLoadOptions> = {}) => new SqlLoader({ sequelize: seq, table: t, keyColumns: ['sku'], columns: ['sku', 'qty'], chunkSize: 10, delete: 'soft', softDeleteValue: 1, where: 'w', ...o });
      const up = (sku: string, exists = false): SqlLoadRow => ({ localId: sku, values: { sku, qty: 1 }, exists });
      await numeric().load([up('A'), up('B')], []);
      expect(await flags()).toEqual([['A', 0, 'active'], ['B', 0, 'active']]);
      await numeric().load([], [{ localId: 'B', key: { sku: 'B' } }]);
      expect(await flags()).toEqual([['A', 0, 'active'], ['B', 1, 'active']]);
      await numeric().load([up('B', true)], []);
      expect(await flags()).toEqual([['A', 0, 'active'], ['B', 0, 'active']]);
      // A text flag: 'deleted' when deleted, the column's default 'active' otherwise.
      const text = () => numeric({ softDeleteColumn: 'state', softDeleteValue: 'deleted' });
      await text().load([], [{ localId: 'A', key: { sku: 'A' } }]);
      expect(await flags()).toEqual([['A', 0, 'deleted'], ['B', 0, 'active']]);
      await text().load([up('A', true), up('C')], []);
      expect(await flags()).toEqual([['A', 0, 'active'], ['B', 0, 'active'], ['C', 0, 'active']]);
    });

    it('hard delete removes the rows; delete none leaves them', async () => {
      const t = await table([['A', 'a', 1], ['B', 'b', 2], ['C', 'c', 3], ['D', 'd', 4]]);
      const deletes = ['A', 'B', 'D'].map((sku) => ({ localId: sku, key: { sku } }));
      expect(await loader(t, { delete: 'none' }).load([], deletes)).toMatchObject({ deleted: 0, statements: 0 });
      expect((await rows(t)).length).toBe(4);
      expect(await loader(t, { delete: 'hard', chunkSize: 2 }).load([], deletes)).toMatchObject({ deleted: 3, statements: 2 });
      expect(await rows(t)).toEqual([['C', 'c', 3, false]]);
    });

    it('a chunk that breaks a constraint is rolled back alone and its rows are reported', async () => {
      const t = await table();
      // Chunks of 3: [A B C] [D E F] [G]; E breaks CHECK (qty >= 0), so D, E and F are refused.
      const upserts = [row('A', 'a', 1), row('B', 'b', 1), row('C', 'c', 1), row('D', 'd', 1), row('E', 'e', -1), row('F', 'f', 1), row('G', 'g', 1)];
      const summary = await loader(t).load(upserts, []);
      expect(summary.created).toBe(4);
      expect(summary.rejected).toBe(3);
      expect(summary.rejections.map((r) => r.localId)).toEqual(['D', 'E', 'F']);
      expect(summary.rejections[0]!.error).toMatch(/check|constraint/i);
      expect((await rows(t)).map((r) => r[0])).toEqual(['A', 'B', 'C', 'G']);
    });

    it('composite keys upsert and delete by every key column', async () => {
      const t = `${env.prefix}stock_${++n}`;
      await env.db.query(`CREATE TABLE ${t} (sku VARCHAR(20) NOT NULL, warehouse VARCHAR(10) NOT NULL, qty INTEGER, PRIMARY KEY (sku, warehouse))`);
      await env.db.query(`INSERT INTO ${t} VALUES ('A', 'north', 1), ('A', 'south', 2), ('B', 'north', 3)`);
      const l = new SqlLoader({ sequelize: seq, table: t, keyColumns: ['sku', 'warehouse'], columns: ['sku', 'warehouse', 'qty'], chunkSize: 10, delete: 'hard', where: 'w' });
      const key = (sku: string, warehouse: string) => JSON.stringify([sku, warehouse]);
      const summary = await l.load(
        [
          { localId: key('A', 'north'), values: { sku: 'A', warehouse: 'north', qty: 10 }, exists: true },
          { localId: key('B', 'south'), values: { sku: 'B', warehouse: 'south', qty: 5 }, exists: false },
        ],
        [{ localId: key('A', 'south'), key: { sku: 'A', warehouse: 'south' } }],
      );
      expect(summary).toMatchObject({ created: 1, updated: 1, deleted: 1, rejected: 0 });
      const out = await env.db.query<{ sku: string; warehouse: string; qty: number }>(`SELECT sku, warehouse, qty FROM ${t} ORDER BY sku, warehouse`, { type: QueryTypes.SELECT });
      expect(out.map((r) => [r.sku, r.warehouse, Number(r.qty)])).toEqual([['A', 'north', 10], ['B', 'north', 3], ['B', 'south', 5]]);
    });

    it('refuses a table without a unique index on the key, or without a column, before writing', async () => {
      const t = `${env.prefix}loose_${++n}`;
      await env.db.query(`CREATE TABLE ${t} (sku VARCHAR(20), name VARCHAR(50), qty INTEGER)`);
      await expect(loader(t).load([row('A', 'a', 1)], [])).rejects.toThrow(new RegExp(`^entities\\.items\\.target\\.write: table "${t.replace('.', '\\.')}" has no unique index on \\(sku\\), which the upsert is keyed by: create one`));
      await expect(loader(t, { delete: 'soft' }).load([], [])).rejects.toThrow(/has no column "is_deleted" \(the soft-delete column: add it, or set write\.softDeleteColumn\)/);
      expect(await env.db.query(`SELECT * FROM ${t}`, { type: QueryTypes.SELECT })).toEqual([]);
    });

    it.skipIf(database.label === 'SQLite')('a connection lost mid-load leaves the rest pending, not rejected; the next load writes it', async () => {
      const t = await table();
      // The database itself drops the loader's connection when the row S05 comes in.
      const dialect = parseDatabaseUrl(env.url, env.baseDir).dialect;
      if (dialect === 'postgres') {
        await env.db.query(`CREATE FUNCTION ${env.prefix}drop_me() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.sku = 'S05' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$`);
        await env.db.query(`CREATE TRIGGER drop_me BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION ${env.prefix}drop_me()`);
      } else {
        await env.db.query(`CREATE TRIGGER drop_me BEFORE INSERT ON ${t} FOR EACH ROW BEGIN IF NEW.sku = 'S05' THEN KILL CONNECTION CONNECTION_ID(); END IF; END`);
      }
      const upserts = Array.from({ length: 9 }, (_, i) => row(`S0${i}`, `n${i}`, i));
      const own = await openSequelize(parseDatabaseUrl(env.url, env.baseDir));
      try {
        const first = await new SqlLoader({ sequelize: own, table: t, keyColumns: ['sku'], columns: ['sku', 'name', 'qty'], chunkSize: 3, delete: 'none', where: 'entities.items.target.write' }).load(upserts, []);
        expect(first).toMatchObject({ created: 3, rejected: 0, rejections: [], pending: 6, pendingIds: ['S03', 'S04', 'S05', 'S06', 'S07', 'S08'] });
        expect(first.interrupted).toMatch(/terminat|Connection|connection|killed|lost/);
      } finally {
        await own.close().catch(() => undefined);
      }
      expect((await rows(t)).map((r) => r[0])).toEqual(['S00', 'S01', 'S02']);
      await env.db.query(dialect === 'postgres' ? `DROP TRIGGER drop_me ON ${t}` : 'DROP TRIGGER drop_me');
      const second = await loader(t).load(upserts.slice(3), []);
      expect(second).toMatchObject({ created: 6, pending: 0, interrupted: null });
      expect((await rows(t)).map((r) => r[0])).toEqual(upserts.map((u) => u.localId));
    });
  });
}

// A read never writes, and the database is what enforces it: a where clause that smuggles in a
// second statement is refused before anything is sent; a query whose functions write (an
// INSERT inside a function, nextval, lo_from_bytea) writes nothing in compare, run or validate;
// a query ending in a comment works; a statement past statementTimeoutS is cancelled.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { validateConfig } from '../../src/agent/validate.js';
import { openSequelize, parseDatabaseUrl } from '../../src/core/sql.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

const INJECTION = (victim: string, other: string) => `1=1); DROP TABLE ${victim}; SELECT count(*) FROM ${other} WHERE (1=1`;

for (const database of DATABASES) {
  describe.skipIf(!database.available)(database.label, () => {
    const dir = tempDir();
    let env: Awaited<ReturnType<typeof database.open>>;
    let dialect: string;
    let p = '';
    /** Queries whose functions write, by entity name (none on SQLite: it has no such functions). */
    const writers: Record<string, string> = {};

    beforeAll(async () => {
      env = await database.open(dir);
      dialect = parseDatabaseUrl(env.url, dir).dialect;
      p = env.prefix;
      await env.db.query(`CREATE TABLE ${p}parts (id INTEGER PRIMARY KEY, qty INTEGER)`);
      await env.db.query(`INSERT INTO ${p}parts (id, qty) VALUES (1, 10), (2, 20), (3, 30)`);
      await env.db.query(`CREATE TABLE ${p}victim (id INTEGER)`);
      await env.db.query(`CREATE TABLE ${p}log (n INTEGER)`);
      if (dialect === 'postgres') {
        await env.db.query(`CREATE SEQUENCE ${p}seq`);
        await env.db.query(`CREATE FUNCTION ${p}bump() RETURNS int LANGUAGE sql AS $$ INSERT INTO ${p}log VALUES (1); SELECT 1 $$`);
        writers.fn = `SELECT id, qty FROM ${p}parts WHERE ${p}bump() = 1`;
        writers.seq = `SELECT id, qty FROM ${p}parts WHERE nextval('${p}seq') > 0`;
        writers.lo = `SELECT id, qty FROM ${p}parts WHERE lo_from_bytea(0, 'x'::bytea) > 0`;
      }
      if (dialect === 'mysql') {
        await env.db.query('CREATE SEQUENCE seq');
        await env.db.query('CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO log VALUES (1); RETURN 1; END');
        writers.fn = 'SELECT id, qty FROM parts WHERE bump() = 1';
        writers.seq = 'SELECT id, qty FROM parts WHERE NEXTVAL(seq) > 0';
      }
      writeFileSync(path.join(dir, 'copy.csv'), 'id,qty\n1,10\n2,20\n3,30\n');
    });
    afterAll(() => env.teardown());

    const config = (entities: string, systemExtra = '') => `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "${env.url}"${systemExtra} }
  copy: { type: csv, path: copy.csv }
entities:
${entities}`;
    const entity = (name: string, source: string) => `  ${name}:
    key: [id]
    source: { system: erp, ${source}, fields: { id: { from: id, transform: int }, qty: { from: qty, transform: int } } }
    target: { system: copy, fields: { id: { from: id, transform: int }, qty: { from: qty, transform: int } } }
`;

    it('a where clause carrying a second statement is a config error in compare, run and validate; the table stays', async () => {
      writeFileSync(path.join(dir, 'inject.yaml'), config(entity('parts', `table: ${p}parts, where: "${INJECTION(`${p}victim`, `${p}parts`)}"`)));
      const results = await Promise.all(['compare', 'run', 'validate'].map((command) => runCli([command, '--config', path.join(dir, 'inject.yaml')])));
      for (const r of results) {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/inject\.yaml:\d+: entities\.parts\.source\.where: must be one statement/);
      }
      const [row] = await env.db.query(`SELECT COUNT(*) AS n FROM ${p}victim`, { type: QueryTypes.SELECT });
      expect(Number((row as { n: number }).n)).toBe(0);
    });

    it('a query ending in a -- comment reads like any other', async () => {
      writeFileSync(path.join(dir, 'comment.yaml'), config(entity('parts', `query: "SELECT id, qty FROM ${p}parts -- every part"`)));
      const loaded = await loadConfig(path.join(dir, 'comment.yaml'));
      const store = await StateStore.open('sqlite:state.db', dir);
      try {
        const { report } = await runOnce(loaded, store, { logger: silentLogger(), dryRun: true });
        expect(report.entities[0]!.error).toBeNull();
        expect(report.entities[0]!.outcome).toBe('in-sync');
        expect(report.entities[0]!.diff.matched).toBe(3);
      } finally {
        await store.close();
      }
    });

    it('a connection opened for reading refuses a write', async () => {
      const db = await openSequelize(parseDatabaseUrl(env.url, dir), { readOnly: { statementTimeoutS: 5 } });
      try {
        await expect(db.query(`INSERT INTO ${p}log VALUES (7)`)).rejects.toThrow(/read-only|READ ONLY|readonly|query_only/i);
      } finally {
        await db.close();
      }
      const [row] = await env.db.query(`SELECT COUNT(*) AS n FROM ${p}log`, { type: QueryTypes.SELECT });
      expect(Number((row as { n: number }).n)).toBe(0);
    });

    it.skipIf(database.label === 'SQLite')('a query whose functions write writes nothing, in compare, run and validate', async () => {
      const lo = async () => (dialect === 'postgres' ? Number(((await env.db.query('SELECT COUNT(*) AS n FROM pg_largeobject_metadata', { type: QueryTypes.SELECT }))[0] as { n: number }).n) : 0);
      const largeObjectsBefore = await lo();
      writeFileSync(path.join(dir, 'writers.yaml'), config(Object.entries(writers).map(([name, q]) => entity(name, `query: "${q}"`)).join('')));
      const loaded = await loadConfig(path.join(dir, 'writers.yaml'));
      const store = await StateStore.open('sqlite:state.db', dir);
      try {
        for (const dryRun of [true, false]) {
          const { report } = await runOnce(loaded, store, { logger: silentLogger(), dryRun });
          for (const e of report.entities) {
            // PostgreSQL lets lo_from_bytea run in a read-only transaction; the rollback that ends
            // every read undoes it (checked below), so that entity may even compare cleanly.
            if (e.name === 'lo') continue;
            expect(e.outcome, e.name).toBe('failed');
            expect(e.error, e.name).toMatch(/read-only transaction|READ ONLY transaction/i);
            expect(e.error, e.name).toContain("parity reads in a read-only transaction: a side's query must not write");
          }
        }
      } finally {
        await store.close();
      }
      const lines = await validateConfig(loaded);
      for (const name of Object.keys(writers).filter((n) => n !== 'lo')) {
        const line = lines.find((l) => l.subject === `${name}.source`)!;
        expect(line.ok, name).toBe(false);
        expect(line.detail, name).toMatch(/read-only transaction|READ ONLY transaction/i);
      }
      const [logged] = await env.db.query(`SELECT COUNT(*) AS n FROM ${p}log`, { type: QueryTypes.SELECT });
      expect(Number((logged as { n: number }).n)).toBe(0);
      if (dialect === 'postgres') {
        const [seq] = await env.db.query(`SELECT is_called FROM ${p}seq`, { type: QueryTypes.SELECT });
        expect((seq as { is_called: boolean }).is_called).toBe(false);
      } else {
        const [seq] = await env.db.query('SELECT next_not_cached_value AS n FROM seq', { type: QueryTypes.SELECT });
        expect(Number((seq as { n: number }).n)).toBe(1);
      }
      expect(await lo()).toBe(largeObjectsBefore);
    });

    it.skipIf(database.label === 'SQLite')('a statement past statementTimeoutS is cancelled by the database, with a clear error', async () => {
      const sleep = dialect === 'postgres' ? `SELECT id, qty FROM ${p}parts WHERE pg_sleep(10) IS NOT NULL` : 'SELECT id, qty FROM parts WHERE SLEEP(10) = 0';
      writeFileSync(path.join(dir, 'sleep.yaml'), config(entity('parts', `query: "${sleep}"`), ', statementTimeoutS: 2'));
      const loaded = await loadConfig(path.join(dir, 'sleep.yaml'));
      const store = await StateStore.open('sqlite:state.db', dir);
      const t0 = performance.now();
      try {
        const { report } = await runOnce(loaded, store, { logger: silentLogger(), dryRun: true });
        const elapsed = (performance.now() - t0) / 1000;
        expect(report.entities[0]!.outcome).toBe('failed');
        expect(report.entities[0]!.error).toContain('(it ran longer than statementTimeoutS, 2 s)');
        expect(elapsed).toBeGreaterThan(1.5);
        expect(elapsed).toBeLessThan(8);
      } finally {
        await store.close();
      }
    }, 30_000);
  });
}

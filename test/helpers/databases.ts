// The machine's PostgreSQL and MariaDB, when they answer on loopback. Tests that need them
// are skipped, and say so, when they do not; .ci/run reports which ran.
import { randomBytes } from 'node:crypto';
import { Sequelize } from 'sequelize';

export const PG_URL = process.env.PARITY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<boolean> {
  const db = new Sequelize(url, { logging: false, dialectOptions: url.startsWith('postgres') ? { connectionTimeoutMillis: 2000 } : { connectTimeout: 2000 } });
  try {
    await db.authenticate();
    return true;
  } catch {
    return false;
  } finally {
    await db.close().catch(() => undefined);
  }
}

export const pgAvailable = await reachable(PG_URL);
if (!pgAvailable) process.stderr.write(`[postgres] not reachable at ${PG_URL}: PostgreSQL tests are SKIPPED\n`);

/** A fresh PostgreSQL schema for one test file; drop() removes it and everything in it. */
export async function pgSchema(): Promise<{ db: Sequelize; schema: string; drop: () => Promise<void> }> {
  const schema = `parity_t_${randomBytes(4).toString('hex')}`;
  const db = new Sequelize(PG_URL, { logging: false });
  await db.query(`CREATE SCHEMA ${schema}`);
  return {
    db,
    schema,
    drop: async () => {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

export const MARIADB_URL = process.env.PARITY_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

export const mariadbAvailable = await reachable(MARIADB_URL);
if (!mariadbAvailable) process.stderr.write(`[mariadb] not reachable at ${MARIADB_URL}: MariaDB tests are SKIPPED\n`);

/** A fresh MariaDB database for one test file; drop() removes it. */
export async function mariadbDatabase(): Promise<{ db: Sequelize; url: string; drop: () => Promise<void> }> {
  const name = `parity_t_${randomBytes(4).toString('hex')}`;
  const admin = new Sequelize(MARIADB_URL, { logging: false });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = MARIADB_URL.replace(/\/[^/]*$/, `/${name}`);
  const db = new Sequelize(url, { logging: false });
  return {
    db,
    url,
    drop: async () => {
      await db.query(`DROP DATABASE ${name}`);
      await db.close();
    },
  };
}

export interface TestDatabase {
  label: string;
  /** For describe.skipIf. */
  available: boolean;
  /** Opens a fresh, empty place for one test file: the URL for parity, a table-name prefix,
   *  a connection to set up data, and a teardown that removes everything. */
  open(dir: string): Promise<{ url: string; prefix: string; db: Sequelize; baseDir: string; teardown: () => Promise<void> }>;
}

/** The three databases the SQL code runs on; tests loop over them. */
export const DATABASES: TestDatabase[] = [
  {
    label: 'SQLite',
    available: true,
    async open(dir) {
      const { default: path } = await import('node:path');
      const file = path.join(dir, `db-${randomBytes(3).toString('hex')}.sqlite`);
      const db = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
      return { url: `sqlite:${path.basename(file)}`, prefix: '', db, baseDir: dir, teardown: () => db.close() };
    },
  },
  {
    label: '[postgres] PostgreSQL',
    available: pgAvailable,
    async open() {
      const pg = await pgSchema();
      return { url: PG_URL, prefix: `${pg.schema}.`, db: pg.db, baseDir: '.', teardown: pg.drop };
    },
  },
  {
    label: '[mariadb] MariaDB',
    available: mariadbAvailable,
    async open() {
      const m = await mariadbDatabase();
      return { url: m.url, prefix: '', db: m.db, baseDir: '.', teardown: m.drop };
    },
  },
];

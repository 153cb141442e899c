// The machine's PostgreSQL and MariaDB, when they answer on loopback. Tests that need them
// are skipped, and say so, when they do not; .ci/run reports which ran.
import { randomBytes } from 'node:crypto';
import { Sequelize } from 'sequelize';

export const PG_URL = process.env.PARITY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<boolean> {
  const db = new Sequelize(url, { logging: false, dialectOptions: { connectionTimeoutMillis: 2000, connectTimeout: 2000 } });
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

// Opening the state store: a new SQLite file is made whole before anyone sees it, an existing
// file must be parity's, and pending migrations are applied. Migrations use Sequelize and
// umzug, which are loaded only when one is pending; a new SQLite file is made from the
// statements the migrations leave (sqlite-schema.ts) without them.
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Sequelize } from 'sequelize';
import type { UmzugStorage } from 'umzug';
import { describeError, ParityError } from '../../core/errors.js';
import { openSequelize, parseDatabaseUrl, type SqlTarget } from '../../core/sql.js';
import { openSqliteDb, poolDb, type StateDb } from './db.js';
import { refuseForeignFile, refuseForeignTables } from './integrity.js';
import { MIGRATION_NAMES } from './migration-names.js';
import { SQLITE_SCHEMA } from './sqlite-schema.js';

export async function openStateDb(url: string, baseDir: string): Promise<{ db: StateDb; display: string }> {
  let db: StateDb | undefined;
  try {
    const target = parseDatabaseUrl(url, baseDir);
    const file = target.dialect === 'sqlite' && target.storage !== ':memory:' ? target.storage! : null;
    if (file && !existsSync(file)) await createSqliteStore(target, file);
    if (file) refuseForeignFile(file, target.display);
    db = await openDb(target);
    if (file) await refuseForeignTables(db, file, target.display);
    // A new store is made in WAL mode; a store from before is switched once. Switching needs
    // the file to itself, so when another process holds it open the switch is left to a later
    // open (the store works in either mode) instead of failing this one with SQLITE_BUSY.
    if (target.dialect === 'sqlite') await db.run('PRAGMA journal_mode = WAL').catch((err: unknown) => ignoreBusy(err));
    if (!(await upToDate(db))) await migrate(target);
    return { db, display: target.display };
  } catch (err) {
    await db?.close().catch(() => undefined);
    if (err instanceof ParityError && err.code === 'PARITY_STATE_INVALID') throw err;
    throw new ParityError('PARITY_STATE_ERROR', `state store ${describeUrl(url)}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * A new SQLite store is made whole under another name and then linked into place, so that no
 * process ever sees it empty: one that did would take it for an emptied store and refuse it.
 * When two processes create it at once, the first link wins and the other uses that file.
 */
async function createSqliteStore(target: SqlTarget, file: string): Promise<void> {
  const scratch = `${file}.new-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await makeSqliteStore(target, scratch);
  } catch (err) {
    rmSync(scratch, { force: true });
    throw err;
  }
  try {
    linkSync(scratch, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    // A filesystem without hard links: a rename, unless another process has made it meanwhile.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (!existsSync(file)) renameSync(scratch, file);
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** The new store's tables, in WAL mode: from the statements the migrations leave when they
 *  are this version's (no Sequelize, no umzug: 0.25 s and 28 MB less), else by migrating. */
async function makeSqliteStore(target: SqlTarget, scratch: string): Promise<void> {
  if (sqliteSchemaIsCurrent()) {
    mkdirSync(path.dirname(scratch), { recursive: true });
    const db = await openSqliteDb({ ...target, storage: scratch }, undefined, true);
    try {
      await applySqliteSchema(db);
      await db.run('PRAGMA journal_mode = WAL');
    } finally {
      await db.close();
    }
    return;
  }
  const db = await openSequelize({ ...target, storage: scratch }, { owned: true });
  try {
    await runMigrations(db);
    await db.query('PRAGMA journal_mode = WAL');
  } finally {
    await db.close();
  }
}

/** Whether sqlite-schema.ts was written from this version's migrations. */
const sqliteSchemaIsCurrent = () => SQLITE_SCHEMA.migrations.join() === MIGRATION_NAMES.join();

/** Makes an empty SQLite store what the migrations would make it, and records them as applied. */
function applySqliteSchema(db: StateDb): Promise<void> {
  return db.transaction(async (t) => {
    for (const statement of SQLITE_SCHEMA.statements) await t.run(statement);
    for (const name of SQLITE_SCHEMA.migrations) await t.run('INSERT INTO "parity_migrations" ("name") VALUES (?)', [name]);
  });
}

/** What the migrations make of a new SQLite file: its statements in the order SQLite keeps
 *  them, and the migrations applied (for scripts/sqlite-schema.ts and its test). */
export async function migratedSqliteSchema(file: string): Promise<{ migrations: string[]; statements: string[] }> {
  const db = await openSequelize(parseDatabaseUrl(`sqlite:${file}`, '.'), { owned: true });
  try {
    await runMigrations(db);
    const [objects] = await db.query("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid");
    const [names] = await db.query('SELECT name FROM parity_migrations ORDER BY name');
    return { statements: (objects as { sql: string }[]).map((o) => o.sql), migrations: (names as { name: string }[]).map((n) => n.name) };
  } finally {
    await db.close();
  }
}

function ignoreBusy(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
}

/** The store's connection. An in-memory SQLite store is made on the connection that then
 *  serves it (another connection would see another database). */
async function openDb(target: SqlTarget): Promise<StateDb> {
  if (target.dialect === 'sqlite') {
    if (target.storage !== ':memory:') return openSqliteDb(target);
    if (sqliteSchemaIsCurrent()) {
      const db = await openSqliteDb(target);
      await applySqliteSchema(db);
      return db;
    }
    const memory = await openSequelize(target, { owned: true });
    await runMigrations(memory);
    return openSqliteDb(target, memory);
  }
  return poolDb(await openSequelize(target, { owned: true, matchedRows: true }), target.dialect);
}

async function runMigrations(db: Sequelize): Promise<void> {
  const [{ Umzug }, { migrations }] = await Promise.all([import('umzug'), import('./migrations.js')]);
  await new Umzug({ migrations, context: db.getQueryInterface(), storage: appliedMigrations(db), logger: undefined }).up();
}

/**
 * umzug's list of applied migrations, in plain SQL on the table its SequelizeStorage made
 * (`parity_migrations`, one `name` column, the key). SequelizeStorage syncs a model before
 * each step, and on PostgreSQL that looks up indexes in every schema of the database: a
 * schema another program dropped meanwhile failed the migration.
 */
function appliedMigrations(db: Sequelize): UmzugStorage {
  const q = db.getDialect() === 'mysql' ? '`' : '"';
  const [table, name] = [`${q}parity_migrations${q}`, `${q}name${q}`];
  let made: Promise<unknown> | null = null;
  const ready = () => (made ??= db.query(`CREATE TABLE IF NOT EXISTS ${table} (${name} VARCHAR(255) NOT NULL PRIMARY KEY)`));
  return {
    async executed() {
      await ready();
      const [rows] = await db.query(`SELECT ${name} AS name FROM ${table} ORDER BY ${name}`);
      return (rows as { name: string }[]).map((r) => r.name);
    },
    async logMigration({ name: applied }) {
      await ready();
      await db.query(`INSERT INTO ${table} (${name}) VALUES (?)`, { replacements: [applied] });
    },
    async unlogMigration({ name: undone }) {
      await ready();
      await db.query(`DELETE FROM ${table} WHERE ${name} = ?`, { replacements: [undone] });
    },
  };
}

/**
 * Applies pending migrations, on a connection of their own. On a shared PostgreSQL or MySQL
 * store several agents may start at once: that connection holds a database lock meanwhile,
 * so one agent migrates and the others find the work done.
 */
async function migrate(target: SqlTarget): Promise<void> {
  const single = await openSequelize(target, { owned: true, poolMax: 1 });
  try {
    if (target.dialect === 'sqlite') return await runMigrations(single);
    if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_lock(hashtext('parity_migrations'))");
    else await single.query("SELECT GET_LOCK('parity_migrations', 60)");
    try {
      await runMigrations(single);
    } finally {
      if (target.dialect === 'postgres') await single.query("SELECT pg_advisory_unlock(hashtext('parity_migrations'))").catch(() => undefined);
      else await single.query("SELECT RELEASE_LOCK('parity_migrations')").catch(() => undefined);
    }
  } finally {
    await single.close();
  }
}

/** Whether the store has every migration this version knows (umzug's table lists them). */
async function upToDate(db: StateDb): Promise<boolean> {
  try {
    const rows = await db.all<{ name: string }>('SELECT "name" FROM "parity_migrations"');
    const applied = new Set(rows.map((r) => r.name));
    return MIGRATION_NAMES.every((name) => applied.has(name));
  } catch {
    return false;
  }
}

function describeUrl(url: string): string {
  try {
    return parseDatabaseUrl(url, '.').display;
  } catch {
    return '(invalid url)';
  }
}

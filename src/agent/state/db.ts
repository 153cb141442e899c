// The state store's connection: plain SQL with `?` placeholders, one text for SQLite,
// PostgreSQL and MySQL/MariaDB. Identifiers are written in double quotes; on MySQL they become
// backticks. SQLite goes through the sqlite3 driver itself, so that a run against a SQLite
// store loads no ORM (a fifth of a second and 30 MB at start); PostgreSQL and MySQL go through
// a Sequelize pool, which escapes the values.
import type { Sequelize, Transaction } from 'sequelize';
import type sqlite3 from 'sqlite3';
import type { SqlDialect, SqlTarget } from '../../core/sql.js';

export type Param = string | number | boolean | Date | null;

export interface StateDb {
  readonly dialect: SqlDialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** A statement that writes; how many rows it changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
  /** All of `fn` or nothing. Inside, `tx` is the only handle to use. */
  transaction<T>(fn: (tx: StateDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** How Sequelize writes a DATE(3) to SQLite, so that stores written by either read alike and
 *  compare as text in order. */
export function sqliteDate(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} +00:00`;
}

/** A stored date as a Date: SQLite gives its text, PostgreSQL and MySQL a Date. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v as string);
}

type Db = sqlite3.Database;

function call<T>(fn: (done: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

const sqliteParams = (params: readonly Param[]) => params.map((p) => (p instanceof Date ? sqliteDate(p) : typeof p === 'boolean' ? (p ? 1 : 0) : p));

function sqliteAll<T>(db: Db, sql: string, params: readonly Param[]): Promise<T[]> {
  return call<T[]>((done) => db.all(sql, sqliteParams(params), (err, rows) => done(err, rows as T[])));
}

function sqliteRun(db: Db, sql: string, params: readonly Param[]): Promise<number> {
  return call<number>((done) =>
    db.run(sql, sqliteParams(params), function (this: sqlite3.RunResult, err: Error | null) {
      done(err, err ? undefined : this.changes);
    }),
  );
}

/**
 * One writing connection, whose statements go one at a time: a transaction holds it from
 * BEGIN to COMMIT, so no other statement of this process lands inside it. Reads outside a
 * transaction take a second connection, which (in WAL mode) neither waits for nor sees a
 * transaction still open on the first.
 */
class SqliteDb implements StateDb {
  readonly dialect = 'sqlite' as const;
  private tail: Promise<unknown> = Promise.resolve();
  private reader: Promise<Db> | null = null;

  constructor(
    private readonly db: Db,
    private readonly openReader: (() => Promise<Db>) | null,
    private readonly onClose: () => Promise<void>,
  ) {}

  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    if (!this.openReader) return this.queued(() => sqliteAll<T>(this.db, sql, params));
    this.reader ??= this.openReader();
    return sqliteAll<T>(await this.reader, sql, params);
  }

  run(sql: string, params: readonly Param[] = []): Promise<number> {
    return this.queued(() => sqliteRun(this.db, sql, params));
  }

  transaction<T>(fn: (tx: StateDb) => Promise<T>): Promise<T> {
    const db = this.db;
    const tx: StateDb = {
      dialect: 'sqlite',
      all: <R>(sql: string, params: readonly Param[] = []) => sqliteAll<R>(db, sql, params),
      run: (sql, params = []) => sqliteRun(db, sql, params),
      transaction: (inner) => inner(tx),
      close: () => Promise.reject(new Error('close() inside a transaction')),
    };
    return this.queued(async () => {
      // IMMEDIATE: the write lock is taken at BEGIN (waiting out the busy timeout), never
      // half-way through, where two readers wanting to write would deadlock.
      await sqliteRun(db, 'BEGIN IMMEDIATE', []);
      try {
        const result = await fn(tx);
        await sqliteRun(db, 'COMMIT', []);
        return result;
      } catch (err) {
        await sqliteRun(db, 'ROLLBACK', []).catch(() => undefined);
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queued(async () => undefined);
    const reader = await this.reader?.catch(() => null);
    if (reader) await call<void>((done) => reader.close(done));
    await this.onClose();
  }
}

async function openSqliteFile(driver: typeof sqlite3, file: string, mode: number): Promise<Db> {
  const db = await new Promise<Db>((resolve, reject) => {
    const opened: Db = new driver.Database(file, mode, (err) => (err ? reject(err) : resolve(opened)));
  });
  db.configure('busyTimeout', 5000);
  // As Sequelize has it: a run's entity rows must belong to a run.
  await sqliteRun(db, 'PRAGMA foreign_keys = ON', []);
  return db;
}

/** A SQLite store's connection. For ":memory:", one connection holds the database: the one
 *  Sequelize made to migrate it, when given, which is kept. */
export async function openSqliteDb(target: SqlTarget, memory?: Sequelize, create = false): Promise<StateDb> {
  const { default: driver } = await import('sqlite3');
  if (memory) {
    const manager = memory.connectionManager as unknown as { getConnection(o: object): Promise<Db> };
    return new SqliteDb(await manager.getConnection({}), null, () => memory.close());
  }
  const file = target.storage!;
  const db = await openSqliteFile(driver, file, create || file === ':memory:' ? driver.OPEN_READWRITE | driver.OPEN_CREATE : driver.OPEN_READWRITE);
  // In memory, the database is the connection's own: a second connection would see another.
  if (file === ':memory:') return new SqliteDb(db, null, () => call<void>((done) => db.close(done)));
  return new SqliteDb(db, () => openSqliteFile(driver, file, driver.OPEN_READONLY), () => call<void>((done) => db.close(done)));
}

/** A date as MySQL's DATETIME(3) holds it: UTC (Sequelize's session time zone), with the
 *  milliseconds, which Sequelize's own escaping of a Date leaves out. */
const mysqlDate = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');

/** A PostgreSQL or MySQL store's connection, through Sequelize's pool (opened with
 *  `matchedRows` on MySQL, so that `run` counts the rows an UPDATE matched, as elsewhere). */
export function poolDb(sequelize: Sequelize, dialect: 'postgres' | 'mysql', transaction?: Transaction): StateDb {
  const text = dialect === 'mysql' ? (sql: string) => sql.replaceAll('"', '`') : (sql: string) => sql;
  const values = dialect === 'mysql' ? (params: readonly Param[]) => params.map((p) => (p instanceof Date ? mysqlDate(p) : p)) : (params: readonly Param[]) => [...params];
  const types = { SELECT: 'SELECT', BULKUPDATE: 'BULKUPDATE' } as const;
  return {
    dialect,
    all: async <T>(sql: string, params: readonly Param[] = []) =>
      (await sequelize.query(text(sql), { replacements: values(params), type: types.SELECT as never, transaction: transaction ?? null })) as unknown as T[],
    // BULKUPDATE: both dialects then answer the number of rows the statement touched.
    run: async (sql, params = []) => Number(await sequelize.query(text(sql), { replacements: values(params), type: types.BULKUPDATE as never, transaction: transaction ?? null })),
    transaction: (fn) => (transaction ? fn(poolDb(sequelize, dialect, transaction)) : sequelize.transaction((t) => fn(poolDb(sequelize, dialect, t)))),
    close: () => sequelize.close(),
  };
}

/** `?, ?, ?` for n values. */
export const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * Inserts rows; where a row's `keys` already exist, sets the `update` columns instead (or,
 * with none, leaves the row as it is). One statement for all the rows given.
 */
export function upsert(db: StateDb, table: string, columns: readonly string[], keys: readonly string[], update: readonly string[], rows: readonly (readonly Param[])[]): Promise<number> {
  if (rows.length === 0) return Promise.resolve(0);
  const q = (c: string) => `"${c}"`;
  const values = rows.map(() => `(${marks(columns.length)})`).join(', ');
  let sql = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${values}`;
  if (db.dialect === 'mysql') {
    if (update.length === 0) sql = sql.replace(/^INSERT/, 'INSERT IGNORE');
    else sql += ` ON DUPLICATE KEY UPDATE ${update.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`;
  } else {
    sql += ` ON CONFLICT (${keys.map(q).join(', ')}) ${update.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${update.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`}`;
  }
  return db.run(sql, rows.flat());
}

/** Inserts rows, in one statement. */
export function insert(db: StateDb, table: string, columns: readonly string[], rows: readonly (readonly Param[])[]): Promise<number> {
  if (rows.length === 0) return Promise.resolve(0);
  const values = rows.map(() => `(${marks(columns.length)})`).join(', ');
  return db.run(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${values}`, rows.flat());
}

// Opens a Sequelize connection from a database URL (sqlite:, postgres://, mysql://,
// mariadb://). Shared by the SQL collector and the state store. Relative SQLite paths
// resolve against the config file's folder; SQLite gets WAL and a busy timeout.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Options, Sequelize } from 'sequelize';
import { ParityError } from './errors.js';
import { redactUrl } from './redact.js';

export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

export interface SqlTarget {
  dialect: SqlDialect;
  /** For SQLite: the absolute file path, or ":memory:". */
  storage?: string;
  url?: string;
  /** Safe to print. */
  display: string;
}

export function parseDatabaseUrl(url: string, baseDir: string): SqlTarget {
  const m = /^([a-z0-9+]+):(.*)$/i.exec(url.trim());
  const scheme = m?.[1]?.toLowerCase();
  if (!m || !scheme) throw new ParityError('PARITY_CONFIG_INVALID', `"${redactUrl(url)}" is not a database URL (use sqlite:path, postgres://…, mysql://… or mariadb://…)`);
  if (scheme === 'sqlite') {
    const rest = m[2]!.replace(/^\/\//, '');
    const storage = rest === ':memory:' || rest === '' ? ':memory:' : path.resolve(baseDir, rest);
    return { dialect: 'sqlite', storage, display: `sqlite:${rest || ':memory:'}` };
  }
  // MariaDB speaks the MySQL protocol: one driver (mysql2) serves both.
  const dialect = ({ postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql' } as const)[scheme as 'postgres'];
  if (!dialect) throw new ParityError('PARITY_CONFIG_INVALID', `unknown database scheme "${scheme}:" (use sqlite:, postgres://, mysql:// or mariadb://)`);
  const normalized = url.replace(/^postgresql:/i, 'postgres:').replace(/^mariadb:/i, 'mysql:');
  return { dialect, url: normalized, display: redactUrl(url) };
}

export interface OpenOptions {
  /** Creates a missing SQLite file (and its folder): for parity's own databases only. A
   *  system's database is never created or altered by opening it. */
  owned?: boolean;
  /** Connections in the pool (default 4). */
  poolMax?: number;
  /**
   * For a system's reads: every connection is read-only as the database sees it (SQLite opened
   * read-only with query_only; PostgreSQL and MySQL/MariaDB sessions whose transactions are
   * READ ONLY), and each statement is cut off after this many seconds (not on SQLite).
   */
  readOnly?: { statementTimeoutS: number };
  /** MySQL: an UPDATE answers the rows it matched (as PostgreSQL and SQLite do), not only the
   *  rows whose values it changed, which is what Sequelize asks of the driver. */
  matchedRows?: boolean;
}

type Callback = (err: Error | null) => void;
interface RawConnection {
  query(sql: string, callback?: Callback): unknown;
}

/** Runs a statement on a driver connection, whichever API it has (pg: promise; mysql2: callback). */
function raw(connection: RawConnection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const result = connection.query(sql, (err) => (err ? reject(err) : resolve()));
    if (result instanceof Promise) result.then(() => resolve(), reject);
  });
}

/** The session settings of a read-only connection. */
async function readOnlySession(dialect: SqlDialect, connection: RawConnection, timeoutS: number): Promise<void> {
  if (dialect === 'postgres') {
    await raw(connection, `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = ${Math.round(timeoutS * 1000)}`);
    return;
  }
  await raw(connection, 'SET SESSION TRANSACTION READ ONLY');
  // MariaDB counts seconds in max_statement_time; MySQL counts milliseconds in max_execution_time.
  await raw(connection, `SET SESSION max_statement_time = ${timeoutS}`).catch(() => raw(connection, `SET SESSION max_execution_time = ${Math.round(timeoutS * 1000)}`));
}

export async function openSequelize(target: SqlTarget, { owned = false, poolMax = 4, readOnly, matchedRows }: OpenOptions = {}): Promise<Sequelize> {
  // Loaded here, not at the top: a run whose store and systems need no Sequelize never loads it.
  const { Sequelize } = await import('sequelize');
  const common: Options = { logging: false };
  if (target.dialect === 'sqlite') {
    const file = target.storage!;
    if (file !== ':memory:') {
      if (owned) mkdirSync(path.dirname(file), { recursive: true });
      else if (!existsSync(file)) throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `SQLite file ${file} does not exist (check the path in the system's url)`);
      else if (statSync(file).isDirectory()) throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `${file} is a folder, not a SQLite file (check the path in the system's url)`);
    }
    // SQLITE_OPEN_READONLY (1) for every connection Sequelize opens on this file.
    const dialectOptions = readOnly && file !== ':memory:' ? { mode: 1 } : undefined;
    const sequelize = new Sequelize({ ...common, dialect: 'sqlite', storage: file, ...(dialectOptions ? { dialectOptions } : {}) });
    await sequelize.query('PRAGMA busy_timeout = 5000');
    if (readOnly) await sequelize.query('PRAGMA query_only = 1');
    return sequelize;
  }
  const dialectOptions = target.dialect === 'postgres' ? { connectionTimeoutMillis: 10000 } : { connectTimeout: 10000, ...(matchedRows ? { flags: '+FOUND_ROWS' } : {}) };
  const sequelize = new Sequelize(target.url!, { ...common, dialect: target.dialect, dialectOptions, pool: { max: poolMax, min: 0, idle: 10000 } });
  if (readOnly) {
    const dialect = target.dialect;
    sequelize.addHook('afterConnect', (connection: unknown) => readOnlySession(dialect, connection as RawConnection, readOnly.statementTimeoutS));
  }
  return sequelize;
}

/** A hint for the errors a read-only, time-limited read gives. */
export function readErrorHint(message: string, statementTimeoutS: number): string {
  if (/statement timeout|max_statement_time|maximum statement execution time/i.test(message)) return ` (it ran longer than statementTimeoutS, ${statementTimeoutS} s)`;
  if (/read-only transaction|READ ONLY transaction|attempt to write a readonly database|query_only/i.test(message)) return ' (parity reads in a read-only transaction: a side\'s query must not write)';
  return '';
}

/** Runs a SELECT on a SQLite database's connection with the sqlite3 driver's `all`. */
export async function sqliteAll<T>(db: Sequelize, sql: string, params: readonly unknown[]): Promise<T[]> {
  const manager = db.connectionManager as unknown as { getConnection(o: object): Promise<SqliteConnection> };
  const connection = await manager.getConnection({ type: 'read' });
  return new Promise<T[]>((resolve, reject) => connection.all(sql, params.map((p) => (p instanceof Date ? p.toISOString() : p)), (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
}

interface SqliteConnection {
  all(sql: string, params: unknown[], callback: (err: Error | null, rows: unknown[]) => void): void;
}

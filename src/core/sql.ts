// Opens a Sequelize connection from a database URL (sqlite:, postgres://, mysql://,
// mariadb://). Shared by the SQL collector and the state store. Relative SQLite paths
// resolve against the config file's folder; SQLite gets WAL and a busy timeout.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Sequelize, type Options } from 'sequelize';
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
  /** Creates a missing SQLite file (and its folder) and switches it to WAL: for parity's own
   *  databases only. A system's database is never created or altered by opening it. */
  owned?: boolean;
  /** Connections in the pool (default 4). */
  poolMax?: number;
}

export async function openSequelize(target: SqlTarget, { owned = false, poolMax = 4 }: OpenOptions = {}): Promise<Sequelize> {
  const common: Options = { logging: false };
  if (target.dialect === 'sqlite') {
    const file = target.storage!;
    if (file !== ':memory:') {
      if (owned) mkdirSync(path.dirname(file), { recursive: true });
      else if (!existsSync(file)) throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `SQLite file ${file} does not exist (check the path in the system's url)`);
    }
    const sequelize = new Sequelize({ ...common, dialect: 'sqlite', storage: file });
    if (owned) await sequelize.query('PRAGMA journal_mode = WAL');
    await sequelize.query('PRAGMA busy_timeout = 5000');
    return sequelize;
  }
  const dialectOptions = target.dialect === 'postgres' ? { connectionTimeoutMillis: 10000 } : { connectTimeout: 10000 };
  return new Sequelize(target.url!, { ...common, dialect: target.dialect, dialectOptions, pool: { max: poolMax, min: 0, idle: 10000 } });
}

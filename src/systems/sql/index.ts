// The SQL system type: SQLite, PostgreSQL, MySQL/MariaDB through Sequelize; read by keyset
// pages in a read-only session, written by bulk upserts keyed by a unique index.
import { ParityError } from '../../core/errors.js';
import type { Fail, PathPart } from '../../core/config-path.js';
import { parseDatabaseUrl, type SqlDialect } from '../../core/sql.js';
import type { SystemType } from '../types.js';
import { lazyCollector, lazyPusher, lazySink } from '../lazy.js';
import { sqlSideShape, sqlSystemSchema, sqlWriteSchema, sqlWriteShape, type SqlSideConfig, type SqlSideSpec, type SqlSystemConfig } from './schema.js';
import { checkQuery, singleStatement } from './statement.js';

const sql = (system: { type: string }) => system as SqlSystemConfig;

/** A side's `where:` and `query:` are one statement each, in the system's dialect. */
function checkSqlText(url: string, side: SqlSideConfig, at: PathPart[], urlAt: PathPart[], fail: Fail): void {
  let dialect: SqlDialect;
  try {
    dialect = parseDatabaseUrl(url, '.').dialect;
  } catch (err) {
    return fail(urlAt, err instanceof ParityError ? err.message : String(err));
  }
  if (side.where !== undefined) {
    const checked = singleStatement(side.where, dialect);
    if (checked.problem !== undefined) fail([...at, 'where'], `${checked.problem} (a where clause is one condition)`);
  }
  if (side.query !== undefined) {
    const checked = checkQuery(side.query, dialect);
    if (checked.problem !== undefined) fail([...at, 'query'], checked.problem);
  }
}

/** The password of a database URL: it runs to the last "@" before the host, behind any number of slashes. */
function urlPassword(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/*[^:/@]*:([^\s/]+)@/i.exec(url);
  if (!m) return [];
  try {
    return [m[1]!, decodeURIComponent(m[1]!)];
  } catch {
    // Not percent-encoded as a whole: the raw form is the secret.
    return [m[1]!];
  }
}

export const sqlSystem: SystemType = {
  type: 'sql',
  schema: sqlSystemSchema,
  sideShape: sqlSideShape,
  // The watermark becomes a condition of the query.
  capabilities: { canFilter: (side) => side.incremental !== undefined, nestedFields: false, binaryValues: true, checksums: true },
  describe: (system) => sql(system).url,
  describeSide: (side) => (side as SqlSideConfig).table ?? ((side as SqlSideConfig).query ? 'query' : null),
  secrets: (system) => urlPassword(sql(system).url),
  checkSystem: (system, at, fail) => {
    try {
      parseDatabaseUrl(sql(system).url, '.');
    } catch (err) {
      fail([...at, 'url'], err instanceof ParityError ? err.message : String(err));
    }
  },
  checkSide: (config, system, at, systemAt, fail) => {
    const side = config as SqlSideConfig;
    if (!side.table && !side.query) fail(at, `a sql side needs "table" (or "query")`);
    if (side.table && side.query) fail([...at, 'query'], `use either "table" or "query", not both`);
    checkSqlText(sql(system).url, side, at, [...systemAt, 'url'], fail);
  },
  createCollector: (side, context) => lazyCollector(async () => new (await import('./collector.js')).SqlCollector({ side: side as SqlSideSpec, keyChains: context.keyChains, baseDir: context.baseDir })),
  probe: async (_name, system, baseDir) => (await import('./probe.js')).probeSqlSystem(sql(system), baseDir),
  writer: {
    schema: sqlWriteSchema,
    shape: sqlWriteShape,
    async check(target, _baseDir, fail, at) {
      const side = target.side as SqlSideSpec;
      if (!target.write.table && !side.config.table) fail(at, 'a SQL target read through "query" needs write.table: the table to write');
      const entityAt = at.slice(0, 2);
      if (target.keyChains.length > 1) fail([...entityAt, 'keys'], 'a SQL target is written by one key (the unique index the upsert uses), not a fallback chain');
      const keyFields = new Set(target.keyChains.flat());
      const dotted = side.mappings?.find((m) => m.from.includes('.') && keyFields.has(m.name));
      if (dotted) fail([...entityAt, 'target', 'fields', dotted.name], `"${dotted.from}" is not a column of the table`);
      return null;
    },
    create: (target, context) => lazyPusher(async () => new (await import('./pusher.js')).SqlPusher(target, context)),
    uploader: (target, context) => lazySink(async () => new (await import('./upload.js')).SqlUploader(target, context.baseDir)),
  },
};

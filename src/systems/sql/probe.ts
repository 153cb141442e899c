// `parity validate`'s first check of a SQL system: it answers, read-only.
import type { Sequelize } from 'sequelize';
import { describeError } from '../../core/errors.js';
import type { ProbeResult } from '../../core/record.js';
import { openSequelize, parseDatabaseUrl } from '../../core/sql.js';
import type { SqlSystemConfig } from './schema.js';

/** Checks that the system answers at all, for `parity validate`. */
export async function probeSqlSystem(system: SqlSystemConfig, baseDir: string): Promise<ProbeResult> {
  const target = parseDatabaseUrl(system.url, baseDir);
  let db: Sequelize | undefined;
  try {
    db = await openSequelize(target, { readOnly: { statementTimeoutS: system.statementTimeoutS } });
    await db.authenticate();
    return { ok: true, check: 'connect', detail: `reached ${target.display}` };
  } catch (err) {
    return { ok: false, check: 'connect', detail: `${target.display}: ${describeError(err)}` };
  } finally {
    await db?.close();
  }
}

// What a failure means for the work in hand. For now the SQL side: a statement the database
// refused (a constraint, a type) is the rows' fault and they are refused; a connection that
// was lost, refused or timed out, or a database that is busy or shutting down, says nothing
// about the rows: they stay pending for a later run.
import { ConnectionError, TimeoutError } from 'sequelize';

export type FailureAction = 'retry-later' | 'refuse';

const LOST_CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'SQLITE_BUSY', 'SQLITE_LOCKED']);
/** PostgreSQL SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown, cancel). */
const LOST_CONNECTION_SQLSTATE = /^(08|57P)/;
const LOST_CONNECTION_TEXT = /Connection terminated|connection error and is not queryable|terminating connection|server closed the connection|Cannot enqueue Query after fatal error|Connection lost|Connection was killed/i;

/** Whether a SQL write failed because of the connection or the server's state, not the rows. */
export function classifySqlWriteError(err: unknown): FailureAction {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { parent?: unknown; original?: unknown }).parent ?? (e as { original?: unknown }).original) {
    seen.add(e);
    if (e instanceof ConnectionError || e instanceof TimeoutError) return 'retry-later';
    const code = String((e as { code?: unknown }).code ?? '');
    if (LOST_CONNECTION_CODES.has(code) || LOST_CONNECTION_SQLSTATE.test(code)) return 'retry-later';
    if (LOST_CONNECTION_TEXT.test(String((e as { message?: unknown }).message ?? ''))) return 'retry-later';
  }
  return 'refuse';
}

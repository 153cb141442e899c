// The one failure classifier: an HTTP error or a SQL error in, what it means out: the code
// (and from it the kind and the action, core/errors.ts). The read retry, the push retry,
// the circuit breaker's filter, the push's pending/quarantine decision, the SQL loader and
// the messages all ask it.
import type { AxiosError } from 'axios';
import { ERROR_CODES, ParityError, type ErrorCode, type ErrorKind, type FailureAction } from './errors.js';

export interface Failure {
  action: FailureAction;
  kind: ErrorKind;
  code: ErrorCode;
}

/** The longest Retry-After a run waits for; a longer one keeps the work for a later run. */
export const MAX_RETRY_AFTER_MS = 60_000;

export function failureOf(code: ErrorCode, action: FailureAction = ERROR_CODES[code].action): Failure {
  return { action, kind: ERROR_CODES[code].kind, code };
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_NETWORK']);

/**
 * An HTTP failure. `write`: a push, where 409 (the same batch still in flight at the target)
 * is worth another attempt, and a refused request sets its batch aside.
 */
export function classifyHttp(error: AxiosError, op: 'read' | 'write'): Failure {
  // Already classified where it was raised (the origin guard, the token endpoint).
  const raised = error instanceof ParityError ? error : error.cause instanceof ParityError ? error.cause : null;
  if (raised) return failureOf(raised.code);
  if (error.code === 'ERR_CANCELED') return failureOf('PARITY_ABORTED');
  if (error.code === 'EOPENBREAKER') return failureOf('PARITY_BREAKER_OPEN');
  const status = error.response?.status;
  if (status === undefined) {
    // A failure before any answer: the network, a timeout, or a request that could not be made.
    return error.code === undefined || NETWORK_CODES.has(error.code) ? failureOf('PARITY_SYSTEM_UNREACHABLE') : failureOf('PARITY_SYSTEM_UNREACHABLE', 'fail');
  }
  // A success status whose answer could not be read (a body that does not decompress, say).
  if (status >= 200 && status < 300) return failureOf('PARITY_HTTP_BAD_RESPONSE');
  if (status >= 300 && status < 400) return failureOf('PARITY_ORIGIN_REFUSED');
  if (status >= 500 || RETRYABLE_STATUS.has(status) || (op === 'write' && status === 409)) {
    return failureOf('PARITY_HTTP_STATUS', retryAfterMs(error) > MAX_RETRY_AFTER_MS ? 'retry-later' : 'retry');
  }
  if (status === 401 || status === 403) return failureOf('PARITY_HTTP_AUTH');
  if (status === 400 || status === 422) return failureOf('PARITY_HTTP_REFUSED');
  return failureOf('PARITY_HTTP_ENDPOINT');
}

/** Whether a failure says the system is unwell (it counts towards opening the breaker):
 *  the network, timeouts, 408, 409, 425, 429 and 5xx; not the request's own fault. */
export function countsAgainstSystem(f: Failure): boolean {
  return f.code === 'PARITY_SYSTEM_UNREACHABLE' || f.code === 'PARITY_HTTP_STATUS';
}

/** Retry-After in seconds or as an HTTP date, in ms; 0 when absent. */
export function retryAfterMs(error: AxiosError, now = Date.now()): number {
  const header = error.response?.headers?.['retry-after'];
  if (header === undefined || header === null || header === '') return 0;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}

/** The names of Sequelize's ConnectionError, its subclasses and TimeoutError: told by name,
 *  so that classifying a failure does not load Sequelize (an HTTP compare never needs it). */
const SEQUELIZE_CONNECTION_ERRORS = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeAccessDeniedError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeInvalidConnectionError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeTimeoutError',
]);
const LOST_CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'SQLITE_BUSY', 'SQLITE_LOCKED']);
/** PostgreSQL SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown, cancel). */
const LOST_CONNECTION_SQLSTATE = /^(08|57P)/;
const LOST_CONNECTION_TEXT = /Connection terminated|connection error and is not queryable|terminating connection|server closed the connection|Cannot enqueue Query after fatal error|Connection lost|Connection was killed/i;

/**
 * A SQL write failure. A statement the database refused (a constraint, a type) is the rows'
 * fault: they are refused. A connection that was lost, refused or timed out, or a database
 * that is busy or shutting down, says nothing about the rows: they wait for a later run.
 */
export function classifySql(err: unknown): Failure {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { parent?: unknown; original?: unknown }).parent ?? (e as { original?: unknown }).original) {
    seen.add(e);
    if (e instanceof Error && SEQUELIZE_CONNECTION_ERRORS.has(e.name)) return failureOf('PARITY_SQL_CONNECTION_LOST');
    const code = String((e as { code?: unknown }).code ?? '');
    if (LOST_CONNECTION_CODES.has(code) || LOST_CONNECTION_SQLSTATE.test(code)) return failureOf('PARITY_SQL_CONNECTION_LOST');
    if (LOST_CONNECTION_TEXT.test(String((e as { message?: unknown }).message ?? ''))) return failureOf('PARITY_SQL_CONNECTION_LOST');
  }
  return failureOf('PARITY_SQL_ERROR');
}

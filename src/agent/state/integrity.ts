// Guards of the state store's integrity: an existing file that is empty, not SQLite or not
// parity's is refused (never re-initialised), and every database error names the store.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { describeError, ParityError } from '../../core/errors.js';
import type { StateDb } from './db.js';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

function invalidState(display: string, file: string, what: string): ParityError {
  return new ParityError(
    'PARITY_STATE_INVALID',
    `state store ${display} (PARITY_STATE_INVALID): ${file} ${what}. parity does not re-create it, so no run history, outbox, sync ledger, watermark or key index is lost without a word: restore the file from a backup, point "state" at another path, or delete the file if starting afresh is what you want`,
  );
}

/** An existing file must be a SQLite database: an emptied or overwritten store is never re-initialised. */
export function refuseForeignFile(file: string, display: string): void {
  const size = statSync(file).size;
  if (size === 0) throw invalidState(display, file, 'is empty (0 bytes)');
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_HEADER)) throw invalidState(display, file, 'is not a SQLite database');
}

/** An existing SQLite file must hold parity's tables: another program's database is left alone. */
export async function refuseForeignTables(db: StateDb, file: string, display: string): Promise<void> {
  const rows = await db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'parity_migrations'");
  if (rows.length === 0) throw invalidState(display, file, 'is a SQLite database but not a parity state store (it has no parity_migrations table)');
}

/**
 * Every database error a store method meets says that it comes from the state store (and
 * not from a system parity reads), with the store's URL.
 */
export function labelErrors<T extends object>(store: T, display: string): T {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter((name) => name !== 'constructor');
  const label = (err: unknown) => (err instanceof ParityError ? err : new ParityError('PARITY_STATE_ERROR', `state store ${display}: ${describeError(err)}`, { cause: err }));
  const target = store as unknown as Record<string, unknown>;
  for (const name of methods) {
    const method = target[name];
    if (typeof method !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      try {
        const result: unknown = method.apply(store, args);
        return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(label(err))) : result;
      } catch (err) {
        throw label(err);
      }
    };
  }
  return store;
}


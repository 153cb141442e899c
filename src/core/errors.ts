// One error family for every stage: a stable code, a kind that says who can fix it,
// and a message that tells the user what to do. Messages pass through redact().
import { redact } from './redact.js';

/** config: the user must change the config or the command line. transient: retrying may help.
 *  system: a system is unreachable or refused. data: a record or a response is malformed. */
export type ErrorKind = 'config' | 'transient' | 'system' | 'data';

/** Every code parity raises, with its kind. docs/errors.md documents each one (a test checks). */
export const ERROR_CODES = {
  PARITY_USAGE: 'config',
  PARITY_CONFIG_NOT_FOUND: 'config',
  PARITY_CONFIG_INVALID: 'config',
  PARITY_CONFIG_UNSUPPORTED: 'config',
  PARITY_ENV_MISSING: 'config',
  PARITY_SYSTEM_UNREACHABLE: 'system',
  PARITY_HTTP_STATUS: 'system',
  PARITY_HTTP_BAD_RESPONSE: 'data',
  PARITY_ORIGIN_REFUSED: 'system',
  PARITY_DEADLINE: 'system',
  PARITY_SQL_ERROR: 'system',
  PARITY_FILE_INVALID: 'data',
  PARITY_STATE_ERROR: 'system',
  PARITY_STATE_INVALID: 'config',
  PARITY_ABORTED: 'transient',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ParityError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(redact(message), options);
    this.name = 'ParityError';
    this.code = code;
    this.kind = ERROR_CODES[code];
  }
}

export function isParityError(err: unknown): err is ParityError {
  return err instanceof ParityError;
}

/** A one-line, secret-free description of any thrown value, for reports and logs. */
export function describeError(err: unknown): string {
  if (err instanceof ParityError) return err.message;
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) {
    // Sequelize wraps the driver's error ("Validation error"); the driver's says what broke.
    const parent = (err as { parent?: unknown }).parent;
    if (parent instanceof Error && parent.message) return describeError(parent);
    const code = (err as NodeJS.ErrnoException).code;
    const message = err.message || code || err.name;
    return redact(code && !message.includes(code) ? `${code}: ${message}` : message);
  }
  return redact(String(err));
}

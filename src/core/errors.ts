// One error family for every stage: a stable code, a kind that says who can fix it,
// and a message that tells the user what to do. Messages pass through redact().
import { redact } from './redact.js';

/** config: the user must change the config, the command line or a credential. transient:
 *  retrying may help. system: a system is unreachable or refused. data: a record or a
 *  response is malformed. */
export type ErrorKind = 'config' | 'transient' | 'system' | 'data';

/** What a failure means for the work in hand. retry: again now, with backoff. retry-later:
 *  kept pending for a later run (nothing is lost, nothing counted as refused). refuse: the
 *  records or batch are set aside, not sent again until they change. fail: the entity fails
 *  (a read that cannot go on always fails its entity). */
export type FailureAction = 'retry' | 'retry-later' | 'refuse' | 'fail';

const code = (kind: ErrorKind, action: FailureAction) => ({ kind, action });

/** Every code parity raises, with its kind and action. docs/errors.md documents each one (a test checks). */
export const ERROR_CODES = {
  PARITY_USAGE: code('config', 'fail'),
  PARITY_CONFIG_NOT_FOUND: code('config', 'fail'),
  PARITY_CONFIG_INVALID: code('config', 'fail'),
  PARITY_CONFIG_UNSUPPORTED: code('config', 'fail'),
  PARITY_ENV_MISSING: code('config', 'fail'),
  PARITY_SYSTEM_UNREACHABLE: code('system', 'retry'),
  PARITY_HTTP_STATUS: code('system', 'retry'),
  PARITY_HTTP_AUTH: code('config', 'refuse'),
  PARITY_HTTP_REFUSED: code('data', 'refuse'),
  PARITY_HTTP_ENDPOINT: code('config', 'fail'),
  PARITY_HTTP_BAD_RESPONSE: code('data', 'fail'),
  PARITY_BREAKER_OPEN: code('system', 'retry-later'),
  PARITY_ORIGIN_REFUSED: code('system', 'retry-later'),
  PARITY_DEADLINE: code('system', 'fail'),
  PARITY_SQL_ERROR: code('system', 'refuse'),
  PARITY_SQL_CONNECTION_LOST: code('system', 'retry-later'),
  PARITY_FILE_INVALID: code('data', 'fail'),
  PARITY_STATE_ERROR: code('system', 'fail'),
  PARITY_STATE_INVALID: code('config', 'fail'),
  PARITY_ABORTED: code('transient', 'retry-later'),
} as const satisfies Record<string, { kind: ErrorKind; action: FailureAction }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ParityError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(redact(message), options);
    this.name = 'ParityError';
    this.code = code;
    this.kind = ERROR_CODES[code].kind;
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

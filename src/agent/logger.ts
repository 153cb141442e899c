// Structured logs on stderr: JSON lines when not a TTY, pretty on a TTY. Every line passes
// through redact() on its way out, so a secret can never reach the log.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redact } from '../core/redact.js';

export type { Logger } from 'pino';

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.PARITY_LOG_LEVEL ?? 'info';
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { level, base: undefined, hooks: { streamWrite: (line: string) => redact(line) } };
  if (usePretty) {
    return pino(base, pretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', sync: true }));
  }
  return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

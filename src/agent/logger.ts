// Structured logs on stderr: JSON lines when not a TTY, pretty on a TTY. Every line passes
// through redact() on its way out, so a secret can never reach the log.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redact } from '../core/redact.js';

export type { Logger } from 'pino';

export function createLogger(options: { level?: string; pretty?: boolean; write?: (line: string) => void } = {}): Logger {
  const level = options.level ?? process.env.PARITY_LOG_LEVEL ?? 'info';
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { level, base: undefined, hooks: { streamWrite: (line: string) => redact(line) } };
  // `write`: where each formatted line goes instead of stderr (above a progress bar).
  const destination = options.write ? new Writable({ write: (chunk: Buffer, _e, done) => (options.write!(chunk.toString()), done()) }) : 2;
  if (usePretty) {
    return pino(base, pretty({ destination, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', sync: true }));
  }
  if (options.write) return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, destination as Writable);
  return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

// Structured logs on stderr: JSON lines when not a TTY, pretty on a TTY. Every line passes
// through redact() on its way out, so a secret can never reach the log.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type Pretty from 'pino-pretty';
import { redact } from '../core/redact.js';

export type { Logger } from 'pino';

const LEVELS: Record<string, number> = pino.levels.values;

/**
 * `files`: a second sink for the JSON lines (the run's log file, log-files.ts), which gets
 * info and above whatever stderr's level (or debug and above when the level asks for it).
 */
export function createLogger(options: { level?: string; pretty?: boolean; write?: (line: string) => void; files?: { write(line: string): void } } = {}): Logger {
  const level = options.level ?? process.env.PARITY_LOG_LEVEL ?? 'info';
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { base: undefined, hooks: { streamWrite: (line: string) => redact(line) } };
  // `write`: where each formatted line goes instead of stderr (above a progress bar).
  const destination = options.write ? new Writable({ write: (chunk: Buffer, _e, done) => (options.write!(chunk.toString()), done()) }) : 2;
  const main = usePretty
    ? // pino-pretty is loaded for a terminal only: JSON lines do not need it.
      (createRequire(import.meta.url)('pino-pretty') as typeof Pretty)({ destination, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', sync: true })
    : options.write
      ? (destination as Writable)
      : pino.destination({ dest: 2, sync: true });
  const timestamp = pino.stdTimeFunctions.isoTime;
  if (!options.files) return pino({ ...base, level, ...(usePretty ? {} : { timestamp }) }, main);
  const fileLevel = (LEVELS[level] ?? LEVELS.info!) < LEVELS.info! ? level : 'info';
  const lowest = (LEVELS[level] ?? 0) < (LEVELS[fileLevel] ?? 0) ? level : fileLevel;
  // JSON lines with an ISO time for both: pino-pretty formats them on a terminal.
  return pino({ ...base, level: lowest, timestamp }, pino.multistream([{ level: level as pino.Level, stream: main }, { level: fileLevel as pino.Level, stream: options.files }]));
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

// Log files (config `logs`): each run's JSON log lines also go to a file in logs.dir, one
// file a day (parity-2026-12-05.log) or one a run (<UTC stamp>-<runId>.log), through pino's
// own file destination; files whose last line is older than retentionDays are removed.
// The lines are the ones stderr gets, redacted on their way out (logger.ts).
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';

type Destination = ReturnType<typeof pino.destination>;

/** Only files of these shapes are parity's: nothing else in the folder is ever removed. */
const LOG_FILE = /^(parity-\d{4}-\d{2}-\d{2}|\d{8}T\d{6}Z-[\w-]+)\.log$/;

export interface LogFilesConfig {
  dir: string;
  retentionDays: number;
  rotate: 'day' | 'run';
}

export class RunLogFiles {
  private current: Destination | null = null;
  /** The sink the logger writes to: lines reach the current run's file, or nowhere between runs. */
  readonly sink = { write: (line: string) => this.current?.write(line) };

  constructor(private readonly config: LogFilesConfig & { dir: string }) {}

  get dir(): string {
    return this.config.dir;
  }

  /** Opens the run's file (appending to the day's) and returns its path. */
  open(runId: string, started: Date): string {
    this.closeNow();
    const iso = started.toISOString();
    const name = this.config.rotate === 'day' ? `parity-${iso.slice(0, 10)}.log` : `${iso.slice(0, 19).replace(/[-:]/g, '')}Z-${runId}.log`;
    const file = path.join(this.config.dir, name);
    // Synchronous writes: a process killed mid-run leaves every line logged before.
    this.current = pino.destination({ dest: file, mkdir: true, sync: true, append: true });
    return file;
  }

  /** Closes the run's file. */
  close(): void {
    this.closeNow();
  }

  private closeNow(): void {
    const d = this.current;
    this.current = null;
    if (!d) return;
    try {
      d.flushSync();
    } catch {
      /* nothing buffered */
    }
    d.end();
  }

  /** Removes parity's log files last written more than retentionDays ago; returns their names. */
  prune(now = new Date()): string[] {
    if (this.config.retentionDays <= 0) return [];
    const cutoff = now.getTime() - this.config.retentionDays * 86_400_000;
    let names: string[];
    try {
      names = readdirSync(this.config.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!LOG_FILE.test(name)) continue;
      const file = path.join(this.config.dir, name);
      try {
        if (statSync(file).mtimeMs < cutoff) {
          rmSync(file, { force: true });
          removed.push(name);
        }
      } catch {
        /* removed meanwhile */
      }
    }
    return removed;
  }
}

// What the Excel and CSV collectors share: resolving mapped columns against a header row
// (by name, trimmed and case-folded, or by column letter), and the refresh command that
// updates an export before it is read.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { ParityError } from '../core/errors.js';

export function fileError(file: string, message: string, cause?: unknown): ParityError {
  return new ParityError('PARITY_FILE_INVALID', `file ${file}: ${message}`, cause === undefined ? undefined : { cause });
}

/** "A" → 1, "AB" → 28. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

export function columnLetters(n: number): string {
  let s = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s;
  return s;
}

const fold = (s: string) => s.trim().toLowerCase();

/**
 * Where each wanted column is (1-based), from the header cells. A name matches a header
 * after trimming and case-folding; failing that, a name of one to three capital letters is
 * a column letter. A wanted column found nowhere is an error listing the headers found.
 */
export function resolveColumns(file: string, headerLine: number, headers: (string | null)[], wanted: readonly string[]): Map<string, number> {
  const byName = new Map<string, number>();
  headers.forEach((h, i) => {
    if (h !== null && h.trim() !== '' && !byName.has(fold(h))) byName.set(fold(h), i + 1);
  });
  const out = new Map<string, number>();
  const missing: string[] = [];
  for (const name of wanted) {
    const found = byName.get(fold(name)) ?? (/^[A-Z]{1,3}$/.test(name) ? columnNumber(name) : undefined);
    if (found === undefined) missing.push(name);
    else out.set(name, found);
  }
  if (missing.length) {
    const present = headers.filter((h): h is string => h !== null && h.trim() !== '').map((h) => `"${h.trim()}"`);
    throw fileError(file, `column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} not found in the header (line ${headerLine}); found ${present.length ? present.join(', ') : 'no headers'}`);
  }
  return out;
}

export interface RefreshOptions {
  command: string;
  timeoutS: number;
  waitNewer: boolean;
}

/** Runs the refresh command (the way a D365 or Power Query export is refreshed), then, if
 *  asked, waits until the file is newer than the last completed run. */
export async function refreshFile(file: string, cwd: string, refresh: RefreshOptions, lastRunAt: Date | null, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + refresh.timeoutS * 1000;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(refresh.command, { shell: true, cwd, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-400);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(fileError(file, `the refresh command did not finish within ${refresh.timeoutS} s (refresh.timeoutS)`));
    }, refresh.timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(fileError(file, `the refresh command could not start: ${err.message}`, err));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (sig !== 'SIGKILL') reject(fileError(file, `the refresh command failed (exit ${code ?? sig})${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`));
    });
  });
  if (!refresh.waitNewer || !lastRunAt) return;
  for (;;) {
    const mtime = statSafe(file);
    if (mtime && mtime > lastRunAt.getTime()) return;
    if (Date.now() > deadline) throw fileError(file, `is not newer than the last run (${lastRunAt.toISOString()}) after ${refresh.timeoutS} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function statSafe(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

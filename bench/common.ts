// What every bench part shares: a figure printed beside its baseline or bar, and a phase
// measured in its own child process (bench/child.mjs) so that its peak RSS is its own.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  bar: string;
  pass: boolean | null;
}

export function say(line = '') {
  process.stdout.write(`${line}\n`);
}

export function recordFigure(figures: Figure[], f: Figure) {
  figures.push(f);
  const verdict = f.pass === null ? '' : f.pass ? '  OK' : '  OVER THE BAR';
  const vs = f.baseline === null ? '' : `  (baseline ${f.baseline.toFixed(2)}, ratio ${f.ratio!.toFixed(2)})`;
  say(`  ${f.name.padEnd(38)} ${f.value.toFixed(f.unit === 'rows/s' || f.unit === 'req/s' ? 0 : 2).padStart(10)} ${f.unit.padEnd(7)}${vs}  bar: ${f.bar}${verdict}`);
}

export interface Measured {
  ms: number;
  maxRssMb: number;
  records: number;
  diff?: Record<string, number>;
  match?: number;
  error?: string | null;
  mode?: string;
  read?: { source: number; target: number };
  join?: { strategy: string; maxPending: number };
}

// Asynchronous on purpose: a receiver may answer from the bench's process while the child runs.
export async function measurePhase(here: string, phase: string, configFile: string, ...args: string[]): Promise<Measured> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(here, 'child.mjs'), phase, configFile, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
}

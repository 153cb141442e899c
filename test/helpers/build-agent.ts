// Vitest's global setup: transpiles src/ once per test run (esbuild, the same transform tsx
// applies, without the type check that `tsc --noEmit` does), so the many tests that start the
// agent as a child process run plain JavaScript instead of loading tsx each time (about 0.6 s
// and 30 MB apiece). Rebuilt at the start of every run: what is tested is always the source.
import { rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { AGENT_BUILD, ROOT } from './cli.js';

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => path.join(e.parentPath, e.name));
}

export default async function setup(): Promise<void> {
  rmSync(AGENT_BUILD, { recursive: true, force: true });
  await build({
    entryPoints: await sources(path.join(ROOT, 'src')),
    outbase: path.join(ROOT, 'src'),
    outdir: AGENT_BUILD,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
}

// Vitest's global setup: transpiles src/ once per test run (esbuild, the same transform tsx
// applies, without the type check that `tsc --noEmit` does), so the many tests that start the
// agent as a child process run plain JavaScript instead of loading tsx each time (about 0.6 s
// and 30 MB apiece); then bundles it as `npm run build` bundles dist/ (scripts/bundle.ts), so
// those tests start the CLI the way an installed `parity` does. Each run builds into a folder
// of its own, removed when it ends: what is tested is always the source, and two runs in one
// checkout do not share a build.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { bundleCli } from '../../scripts/bundle.js';
import { ROOT } from './cli.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder holding this run's transpiled src/ (agent/main.js and the rest), and the CLI
     *  bundled from it (cli/main.js). */
    agentBuild: string;
  }
}

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')).map((e) => path.join(e.parentPath, e.name));
}

export default async function setup(project: TestProject): Promise<() => void> {
  // Inside node_modules, so that the agent's own imports resolve as they do from src/.
  const parent = path.join(ROOT, 'node_modules/.cache/parity-test');
  mkdirSync(parent, { recursive: true });
  // Builds of runs killed before their teardown: gone once a day old (a run now going on is younger).
  for (const name of readdirSync(parent)) {
    const dir = path.join(parent, name);
    if (name.startsWith('run-') && Date.now() - statSync(dir).mtimeMs > 86_400_000) rmSync(dir, { recursive: true, force: true });
  }
  const out = mkdtempSync(path.join(parent, 'run-'));
  await build({
    entryPoints: await sources(path.join(ROOT, 'src')),
    outbase: path.join(ROOT, 'src'),
    outdir: out,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'error',
  });
  await bundleCli(path.join(out, 'agent/main.js'), path.join(out, 'cli'));
  project.provide('agentBuild', out);
  return () => rmSync(out, { recursive: true, force: true });
}

#!/usr/bin/env node
// Runs the compiled CLI (built by `npm ci`/`npm run build` into dist/): the bundle in dist/cli/
// (see scripts/bundle.ts), or what tsc wrote when there is no bundle; in a checkout without a
// build, the TypeScript source through tsx.
import { existsSync } from 'node:fs';

const built = [new URL('../dist/cli/main.js', import.meta.url), new URL('../dist/agent/main.js', import.meta.url)].find((u) => existsSync(u));
if (built) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/agent/main.ts', import.meta.url).href);
}

#!/usr/bin/env node
// Runs the compiled CLI (built by `npm ci`/`npm run build` into dist/), or, in a checkout
// without a build, the TypeScript source through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/agent/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/agent/main.ts', import.meta.url).href);
}

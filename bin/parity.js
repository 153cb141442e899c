#!/usr/bin/env node
// Runs the compiled CLI when it is built (npm run build), else the TypeScript source via tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/agent/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/agent/main.ts', import.meta.url).href);
}

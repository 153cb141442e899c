#!/usr/bin/env node
// Runs the compiled CLI when it is built (npm run build), else the TypeScript source. tsx's
// loader is registered either way, so a config's `transforms: ./hooks.ts` module can load.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const built = new URL('../dist/agent/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/agent/main.ts', import.meta.url).href);

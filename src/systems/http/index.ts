// The HTTP system type: a paginated REST API, read page by page and written in idempotent
// batches through the outbox.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { exportedFunction, importUserModule } from '../../core/modules.js';
import type { SystemType } from '../types.js';
import { HttpCollector, probeHttpSystem } from './collector.js';
import type { PushHooks } from './push/hooks.js';
import { HttpPusher } from './pusher.js';
import { HttpRuntime } from './runtime.js';
import { httpSideShape, httpSystemSchema, httpWriteSchema, httpWriteShape, type HttpSideConfig, type HttpSideSpec, type HttpSystemConfig, type HttpWriteConfig } from './schema.js';

const http = (system: { type: string }) => system as HttpSystemConfig;

export const httpSystem: SystemType = {
  type: 'http',
  schema: httpSystemSchema,
  sideShape: httpSideShape,
  // The watermark goes to the API as a query parameter; without one, every read is in full.
  capabilities: { canFilter: (side) => Boolean(side.incremental?.param), nestedFields: true },
  describe: (system) => http(system).baseUrl,
  describeSide: (side) => (side as HttpSideConfig).path ?? null,
  secrets: (system) => {
    const a = http(system).auth;
    if (a.type === 'bearer') return [a.token];
    if (a.type === 'header') return [a.value];
    if (a.type === 'token-endpoint') return [a.password, a.clientSecret];
    if (a.type === 'oauth2-refresh') return [a.clientSecret, a.refreshToken];
    return [];
  },
  checkSystem: (system, at, fail) => {
    const a = http(system).auth;
    if (a.type !== 'token-endpoint') return;
    const password = a.username !== undefined && a.password !== undefined;
    const client = a.clientId !== undefined && a.clientSecret !== undefined;
    if (password === client) fail([...at, 'auth'], 'a token-endpoint needs either username and password, or clientId and clientSecret');
  },
  checkSide: (side, _system, at, _systemAt, fail) => {
    if (!(side as HttpSideConfig).path) fail(at, 'an http side needs "path" (the list endpoint, e.g. /items)');
  },
  createRuntime: (name, system) => new HttpRuntime(name, http(system)),
  createCollector: (side, context) => new HttpCollector(side as HttpSideSpec, context.runtime as HttpRuntime | undefined),
  probe: (name, system, _baseDir, runtime) => probeHttpSystem(http(system), name, runtime as HttpRuntime | undefined),
  writer: {
    schema: httpWriteSchema,
    shape: httpWriteShape,
    async check(target, baseDir, fail, at) {
      const write = target.write as HttpWriteConfig;
      if (!write.path) fail(at, 'an http target needs "path" to sync into (the sync endpoint, e.g. /sync/items)');
      const hooks: PushHooks = {};
      for (const k of ['request', 'response'] as const) {
        const spec = write[k];
        if (spec === undefined) continue;
        const m = /^(.+)#([A-Za-z_$][\w$]*)$/.exec(spec);
        if (!m) return fail([...at, k], `"${spec}" is not a hook (use ./hooks.ts#functionName)`);
        const modulePath = path.resolve(baseDir, m[1]!);
        if (!existsSync(modulePath)) fail([...at, k], `module ${m[1]} not found (looked for ${modulePath})`);
        let fn: unknown;
        try {
          fn = exportedFunction(await importUserModule(modulePath), m[2]!);
        } catch (err) {
          fail([...at, k], `module ${m[1]} could not be loaded: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        }
        if (typeof fn !== 'function') fail([...at, k], `module ${m[1]} exports no function "${m[2]}"`);
        hooks[k] = fn as never;
      }
      return hooks;
    },
    create: (target, context) => new HttpPusher(target, context),
  },
};

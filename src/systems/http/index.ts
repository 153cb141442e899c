// The HTTP system type: a paginated REST API, read page by page and written in idempotent
// batches through the outbox.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { exportedFunction, importUserModule } from '../../core/modules.js';
import type { Fail, PathPart } from '../../core/config-path.js';
import type { SystemType } from '../types.js';
import type { PushHooks } from './push/hooks.js';
import { lazyCollector, lazyPusher, lazySink } from '../lazy.js';
import type { HttpRuntime } from './runtime.js';
import { httpSideShape, httpSystemSchema, httpWriteSchema, httpWriteShape, type HttpSideConfig, type HttpSideSpec, type HttpSystemConfig, type HttpWriteConfig } from './schema.js';

const http = (system: { type: string }) => system as HttpSystemConfig;

/** What a per-record write block needs besides its schema. */
function checkPerRecord(write: HttpWriteConfig, keyChains: readonly (readonly string[])[], fail: Fail, at: PathPart[]): void {
  for (const k of ['create', 'update', 'remoteId', 'lookup'] as const) {
    if (write[k] === undefined) fail([...at, k], `mode: per-record needs "${k}" (see the README's per-record targets: create, update, remoteId and lookup)`);
  }
  for (const k of ['path', 'request', 'response'] as const) if (write[k] !== undefined) fail([...at, k], `"${k}" is for mode: batch; a per-record target takes create, update and delete requests`);
  if (write.delete === 'soft' || write.delete === 'hard') fail([...at, 'delete'], 'a per-record target deletes with a request: delete: { method: DELETE, path: "/items/{remoteId}" } (or none)');
  if (!write.update!.path.includes('{remoteId}')) fail([...at, 'update', 'path'], 'the update path needs {remoteId}, where the record\'s ID goes (/items/{remoteId})');
  if (typeof write.delete === 'object' && !write.delete.path.includes('{remoteId}')) fail([...at, 'delete', 'path'], 'the delete path needs {remoteId}, where the record\'s ID goes (/items/{remoteId})');
  if (keyChains.length !== 1 || keyChains[0]!.length !== 1) fail(at, 'a per-record target looks records up by one key field: the entity needs a single-field key');
}

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
  // The HTTP client (axios, opossum) is loaded by the first command that talks to an HTTP system.
  createRuntime: async (name, system) => new (await import('./runtime.js')).HttpRuntime(name, http(system)),
  fileOrigin: (name, system, runtime) => ({ name, config: http(system), runtime: runtime as HttpRuntime | undefined }),
  createCollector: (side, context) => lazyCollector(async () => new (await import('./collector.js')).HttpCollector(side as HttpSideSpec, context.runtime as HttpRuntime | undefined)),
  probe: async (name, system, _baseDir, runtime) => (await import('./collector.js')).probeHttpSystem(http(system), name, runtime as HttpRuntime | undefined),
  writer: {
    schema: httpWriteSchema,
    shape: httpWriteShape,
    async check(target, baseDir, fail, at) {
      const write = target.write as HttpWriteConfig;
      if (target.attachments.length && !write.upload) {
        fail([...at, 'upload'], `the entity has attachments (${target.attachments.join(', ')}): add upload: { method: PUT, path: "/items/{remoteId}/${target.attachments[0]}" }, the request that writes one file`);
      }
      if (write.upload && !target.attachments.length) fail([...at, 'upload'], 'no field is an attachment: mark one in fields ({ from: image_url, attachment: true }), or remove upload');
      if (write.upload && write.mode === 'per-record' && !/\{remoteId\}/.test(write.upload.path)) fail([...at, 'upload', 'path'], 'a per-record target\'s upload path needs {remoteId}, where the record\'s ID goes');
      if (write.mode === 'per-record') {
        checkPerRecord(write, target.keyChains, fail, at);
        return {};
      }
      if (!write.path) fail(at, 'an http target needs "path" to sync into (the sync endpoint, e.g. /sync/items), or mode: per-record with create and update requests');
      if (typeof write.delete === 'object') fail([...at, 'delete'], 'a delete request is for mode: per-record; batch mode takes delete: none, soft or hard');
      for (const k of ['create', 'update', 'remoteId', 'lookup', 'result'] as const) if (write[k] !== undefined) fail([...at, k], `"${k}" is for mode: per-record (add mode: per-record, or remove it)`);
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
    create: (target, context) => lazyPusher(async () => new (await import('./pusher.js')).HttpPusher(target, context)),
    uploader: (target, context) =>
      lazySink(async () => {
        const side = target.side as HttpSideSpec;
        const upload = (target.write as HttpWriteConfig).upload!;
        const runtime = (context.runtime as HttpRuntime | undefined) ?? new (await import('./runtime.js')).HttpRuntime(side.systemName, side.system);
        return new (await import('./push/upload.js')).HttpUploader(side.system, side.systemName, upload, runtime);
      }),
  },
};

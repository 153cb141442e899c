// The status API (Hono on @hono/node-server), routes as DESIGN's status API. With a token,
// every route but /healthz needs `Authorization: Bearer <token>`, compared in constant time;
// without one, POST /runs is off (and the agent only binds loopback).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import type { StateStore } from './state/store.js';
import { RUN_RECORD_STATUSES, type RunRecordStatus } from './state/run-records.js';
import { findReport } from './reports.js';
import { describeError } from '../core/errors.js';

/** What the status API needs of the agent (daemon.ts's Agent), without importing it. */
export interface StatusAgent {
  status(): Record<string, unknown>;
  readonly store: Pick<StateStore, 'listRuns' | 'getRun' | 'resolveRunId' | 'runRecords' | 'runRecordCounts'>;
  readonly loaded: { entities: readonly { name: string }[] };
  readonly running: { runId: string } | null;
  trigger(request: { mode: 'incremental' | 'full'; entities: string[]; dryRun: boolean; trigger: 'api' }): string | null;
  readonly metrics: { registry: Registry };
}

export interface StatusAppOptions {
  token: string | undefined;
  reportsDir: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (of digests, so the length of the token leaks nothing either). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

const runRequestSchema = z.strictObject({
  mode: z.enum(['incremental', 'full']).default('incremental'),
  entities: z.array(z.string().min(1)).default([]),
  dryRun: z.boolean().default(false),
});

const MAX_BODY_BYTES = 64 * 1024;
/** A run ID, whole or its first 8 characters or more (as `parity runs` shows them). */
const RUN_ID = /^[0-9a-f]{8}(-?[0-9a-f]){0,24}-?$/;
const TYPES = { json: 'application/json; charset=utf-8', md: 'text/markdown; charset=utf-8', html: 'text/html; charset=utf-8' } as const;

export function createStatusApp(agent: StatusAgent, options: StatusAppOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));

  app.use('*', async (c, next) => {
    if (!options.token) return next();
    const header = c.req.header('authorization');
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    if (!tokenMatches(given, options.token)) return c.json({ error: 'unauthorized: send Authorization: Bearer <server.token>' }, 401, { 'WWW-Authenticate': 'Bearer' });
    return next();
  });

  // Checked before a byte is read: a 200 MB body gets 413 at once, not a full read first.
  app.use(
    '*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `the request body is over ${MAX_BODY_BYTES / 1024} KB` }, 413) }),
  );

  app.get('/status', (c) => c.json(agent.status()));

  app.get('/runs', async (c) => {
    const limit = Number(c.req.query('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return c.json({ error: 'limit must be a whole number from 1 to 1000' }, 400);
    return c.json({ runs: await agent.store.listRuns(limit) });
  });

  /** The run a whole ID or prefix names, or an error answer. */
  const findRun = async (id: string): Promise<{ id: string } | { error: string; status: 400 | 404 }> => {
    if (!RUN_ID.test(id)) return { error: 'not a run id', status: 400 };
    const found = await agent.store.resolveRunId(id);
    if (found === 'ambiguous') return { error: `run ID prefix ${id} matches several runs: give more of it`, status: 400 };
    return found ? { id: found } : { error: `no run ${id}`, status: 404 };
  };

  app.get('/runs/:id', async (c) => {
    const found = await findRun(c.req.param('id'));
    const run = 'id' in found ? await agent.store.getRun(found.id) : null;
    if (!run) return 'error' in found ? c.json({ error: found.error }, found.status) : c.json({ error: `no run ${c.req.param('id')}` }, 404);
    return c.json({ ...run, records: await agent.store.runRecordCounts(run.run.id) });
  });

  // The run's per-record history, a page at a time: ?status=rejected&entity=items&limit=100&after=<next>.
  app.get('/runs/:id/records', async (c) => {
    const found = await findRun(c.req.param('id'));
    if ('error' in found) return c.json({ error: found.error }, found.status);
    const status = c.req.query('status');
    if (status !== undefined && !(RUN_RECORD_STATUSES as readonly string[]).includes(status)) return c.json({ error: `status must be one of ${RUN_RECORD_STATUSES.join(', ')}` }, 400);
    const limit = Number(c.req.query('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return c.json({ error: 'limit must be a whole number from 1 to 1000' }, 400);
    const after = c.req.query('after');
    if (after !== undefined && !/^\d+$/.test(after)) return c.json({ error: 'after must be the next value of the page before' }, 400);
    const page = await agent.store.runRecords(found.id, { status: status as RunRecordStatus | undefined, entity: c.req.query('entity'), limit, after: after === undefined ? undefined : Number(after) });
    return c.json({ runId: found.id, ...page });
  });

  app.post('/runs', async (c) => {
    if (!options.token) return c.json({ error: 'starting runs over the API is off: set server.token to turn it on' }, 403);
    let body: unknown = {};
    const text = await c.req.text();
    if (text.trim()) {
      try {
        body = JSON.parse(text);
      } catch {
        return c.json({ error: 'the body is not JSON' }, 400);
      }
    }
    const parsed = runRequestSchema.safeParse(body);
    if (!parsed.success) return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') }, 400);
    const known = new Set(agent.loaded.entities.map((e) => e.name));
    const unknown = parsed.data.entities.filter((e) => !known.has(e));
    if (unknown.length) return c.json({ error: `unknown entities: ${unknown.join(', ')}` }, 400);
    const current = agent.running;
    if (current) return c.json({ error: 'a run is in progress', runId: current.runId }, 409);
    const runId = agent.trigger({ ...parsed.data, trigger: 'api' });
    if (!runId) return c.json({ error: 'a run is in progress, or the agent is shutting down' }, 409);
    return c.json({ runId }, 202);
  });

  app.get('/reports/:name', (c) => {
    const name = c.req.param('name');
    const m = /^(latest|[0-9a-f-]{8,36})(?:\.(md|html|json))?$/.exec(name);
    if (!m || (m[1] !== 'latest' && !RUN_ID.test(m[1]!))) return c.json({ error: 'not a report name: use latest or a run id, with .md or .html for those formats' }, 400);
    const format = (m[2] ?? 'json') as keyof typeof TYPES;
    // findReport only ever picks a name from the reports folder's own listing.
    let file: string | null;
    try {
      file = findReport(options.reportsDir, m[1]!, format);
    } catch (err) {
      return c.json({ error: describeError(err) }, 400);
    }
    if (!file) return c.json({ error: `no ${format} report for ${m[1]}` }, 404);
    return c.body(readFileSync(file), 200, { 'Content-Type': TYPES[format] });
  });

  app.get('/metrics', async (c) => c.body(await agent.metrics.registry.metrics(), 200, { 'Content-Type': agent.metrics.registry.contentType }));

  app.notFound((c) => c.json({ error: 'no such route' }, 404));
  app.onError((err, c) => c.json({ error: describeError(err) }, 500));
  return app;
}

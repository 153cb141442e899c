// The HTTP pusher against the real receiver behind a fault layer on loopback: whatever the
// faults, after the run(s) the receiver holds exactly the source's records, each applied
// once, and every re-sent batch carried its original Idempotency-Key.
import type { HttpBindings } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { silentLogger } from '../../src/agent/logger.js';
import { HttpPushClient, type PushSystem } from '../../src/systems/http/push/client.js';
import { pushEntity } from '../../src/systems/http/push/push.js';
import type { PushRecord } from '../../src/push/types.js';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { onClock, useFakeClock } from '../helpers/clock.js';

type Fault = (call: number) => 'fail503' | 'retry-after' | 'drop' | 'apply-then-drop' | 'slow' | 'long-wait' | null;

const N = 230;
const source: PushRecord[] = Array.from({ length: N }, (_, i) => ({ localId: `L${String(i).padStart(4, '0')}`, op: 'upsert', hash: `h${i}`, data: { n: i } }));

let receivers: Receiver[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});

async function setup(fault: Fault, system: Partial<PushSystem> = {}) {
  const receiver = await createReceiver();
  receivers.push(receiver);
  const keys = new Map<string, Set<string>>();
  /** When each POST arrived (Date.now(): the fake clock's time when it is on), and its batch. */
  const arrivals: { at: number; batchId: string }[] = [];
  let calls = 0;
  const layer: MiddlewareHandler<{ Bindings: HttpBindings }> = async (c, next) => {
    if (c.req.method !== 'POST') return next();
    calls++;
    const body = (await c.req.raw.clone().json()) as { batchId: string };
    const set = keys.get(body.batchId) ?? new Set();
    set.add(c.req.header('idempotency-key') ?? '');
    keys.set(body.batchId, set);
    arrivals.push({ at: Date.now(), batchId: body.batchId });
    switch (fault(calls)) {
      case 'fail503':
        return c.json({ error: 'busy' }, 503);
      case 'retry-after':
        return c.json({ error: 'slow down' }, 429, { 'Retry-After': '30' });
      case 'long-wait':
        return c.json({ error: 'quota' }, 429, { 'Retry-After': '3600' });
      case 'drop':
        c.env.incoming.socket.destroy();
        return new Promise<Response>(() => undefined);
      case 'apply-then-drop':
        await next();
        c.env.incoming.socket.destroy();
        return new Promise<Response>(() => undefined);
      case 'slow':
        await new Promise((r) => setTimeout(r, 400));
        return next();
      default:
        return next();
    }
  };
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.use('*', layer);
  app.route('/', receiver.app);
  const url = await serveApp(app);
  const pushSystem: PushSystem = { auth: { type: 'none' }, baseUrl: url, headers: {}, timeoutMs: 3000, retry: { retries: 4, baseMs: 10, maxMs: 100 }, ...system };
  const store = await StateStore.open('sqlite:state.db', tempDir());
  const client = new HttpPushClient(pushSystem, 'shop', '/sync/items');
  const run = (runId: string) => pushEntity({ entity: 'items', system: 'shop', records: source, batchSize: 50, outbox: store, client, runId, log: silentLogger() });
  return { receiver, keys, run, store, pushSystem, arrivals, calls: () => calls };
}

async function expectExactlyOnce(receiver: Receiver, keys: Map<string, Set<string>>) {
  const held = await receiver.records('items');
  expect(held.size).toBe(N);
  for (const r of source) expect(held.get(r.localId)).toEqual(r.data);
  const applied = await receiver.applications('items');
  expect([...applied.values()].every((n) => n === 1)).toBe(true);
  expect(applied.size).toBe(N);
  for (const [batchId, set] of keys) expect(set.size, `batch ${batchId} was sent with ${set.size} keys`).toBe(1);
}

describe('push faults', () => {
  it('the first calls fail with 503: retried, every record once', async () => {
    const t = await setup((n) => (n <= 3 ? 'fail503' : null));
    const s = await t.run('r1');
    expect(s).toMatchObject({ created: N, pending: 0, deferred: false });
    expect(t.calls()).toBe(5 + 3);
    await expectExactlyOnce(t.receiver, t.keys);
    await t.store.close();
  });

  it('429 with Retry-After: 30 is honoured (on a fake clock)', async () => {
    const t = await setup((n) => (n === 2 ? 'retry-after' : null));
    useFakeClock();
    expect((await onClock(t.run('r1'))).created).toBe(N);
    // The batch answered 429 came back no sooner than the 30 s it was told to wait.
    const refused = t.arrivals[1]!;
    const again = t.arrivals.slice(2).find((a) => a.batchId === refused.batchId)!;
    expect(again.at - refused.at).toBeGreaterThanOrEqual(30_000);
    await expectExactlyOnce(t.receiver, t.keys);
    await t.store.close();
  });

  it('a dropped socket, and a batch applied whose answer is lost: re-sent with the same key, applied once', async () => {
    const t = await setup((n) => (n === 1 ? 'drop' : n === 3 ? 'apply-then-drop' : null));
    const s = await t.run('r1');
    // The lost answer's batch comes back from the receiver's stored answer: created, not twice.
    expect(s.created).toBe(N);
    await expectExactlyOnce(t.receiver, t.keys);
    await t.store.close();
  });

  it('an answer slower than the timeout: the retry meets 409 or the stored answer, never a second application', async () => {
    const t = await setup((n) => (n === 2 ? 'slow' : null), { timeoutMs: 250 });
    const s = await t.run('r1');
    expect(s.pending + s.created + s.unchanged).toBeGreaterThanOrEqual(N);
    if (s.pending) expect((await t.run('r2')).pending).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    await expectExactlyOnce(t.receiver, t.keys);
    await t.store.close();
  });

  it('a Retry-After over a minute keeps the batch pending for a later run, with its key', async () => {
    const t = await setup((n) => (n === 1 ? 'long-wait' : null));
    const first = await t.run('r1');
    expect(first.pending).toBe(50);
    expect(first.created).toBe(N - 50);
    const [waiting] = await t.store.pending('items');
    expect(waiting!.notBefore!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    await t.store.close();
  });
});

describe('the circuit breaker', () => {
  it('opens after repeated 5xx, defers the rest to the outbox, and the next run sends them first', async () => {
    let down = true;
    const t = await setup(() => (down ? 'fail503' : null), { retry: { retries: 1, baseMs: 500, maxMs: 2000 }, breaker: { errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 5 } });
    useFakeClock();
    const first = await onClock(t.run('r1'));
    expect(first.deferred).toBe(true);
    expect(first.pending).toBe(N);
    const pending = await t.store.pending('items');
    expect(pending.map((b) => b.records)).toEqual([50, 50, 50, 50, 30]);
    const callsWhileOpen = t.calls();
    expect(callsWhileOpen).toBeLessThan(10);
    down = false;
    // Before resetTimeoutMs the breaker stays open: a run sends nothing.
    await vi.advanceTimersByTimeAsync(20_000);
    const early = await onClock(t.run('r1b'));
    expect(early).toMatchObject({ deferred: true, created: 0 });
    expect(t.calls()).toBe(callsWhileOpen);
    // At 60 s it lets one request through (half-open); that succeeds and closes it.
    await vi.advanceTimersByTimeAsync(40_000);
    const second = await onClock(t.run('r2'));
    expect(second).toMatchObject({ created: N, pending: 0, deferred: false });
    expect(await t.store.pending('items')).toEqual([]);
    await expectExactlyOnce(t.receiver, t.keys);
    await t.store.close();
  });
});

describe('the breaker settings are the user\'s', () => {
  it('volumeThreshold: 2 opens the breaker after two failed calls (it was raised to 5 before)', async () => {
    const t = await setup(() => 'fail503', { retry: { retries: 0, baseMs: 5, maxMs: 10 }, breaker: { errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 2 } });
    const s = await t.run('r1');
    expect(s.deferred).toBe(true);
    expect(t.calls()).toBe(2);
    await t.store.close();
  });
});

describe('auth failures on push', () => {
  /** The receiver behind a layer that accepts only `Bearer <valid>`, and a token endpoint that issues t1, t2, … */
  async function withTokens(valid: (token: string) => boolean, status = 401) {
    const receiver = await createReceiver();
    receivers.push(receiver);
    let issued = 0;
    let syncCalls = 0;
    const app = new Hono();
    app.post('/token', (c) => c.json({ access_token: `t${++issued}`, expires_in: 3600 }));
    app.use('/sync/*', async (c, next) => {
      syncCalls++;
      const token = c.req.header('authorization')?.replace(/^Bearer /, '') ?? '';
      return valid(token) ? next() : c.json({ error: 'no' }, status as 401);
    });
    app.route('/', receiver.app);
    const url = await serveApp(app);
    const system: PushSystem = {
      auth: { type: 'token-endpoint', url: `${url}/token`, clientId: 'parity', clientSecret: 'client-secret-x1', tokenPath: 'access_token', scheme: 'Bearer' },
      baseUrl: url,
      headers: {},
      timeoutMs: 3000,
      retry: { retries: 2, baseMs: 5, maxMs: 20 },
    };
    const store = await StateStore.open('sqlite:state.db', tempDir());
    const client = new HttpPushClient(system, 'shop', '/sync/items');
    const run = (runId: string) => pushEntity({ entity: 'items', system: 'shop', records: source, batchSize: 50, outbox: store, client, runId, log: silentLogger() });
    return { receiver, store, client, run, issued: () => issued, syncCalls: () => syncCalls };
  }

  it('a push answered 401 fetches a new token once and goes through', async () => {
    // The first token is refused (revoked early); the second is good.
    const t = await withTokens((token) => token !== 't1');
    const s = await t.run('r1');
    expect(s).toMatchObject({ created: N, pending: 0, quarantined: [] });
    expect(t.issued()).toBe(2);
    const applied = await t.receiver.applications('items');
    expect(applied.size).toBe(N);
    expect([...applied.values()].every((n) => n === 1)).toBe(true);
    await t.store.close();
  });

  it('a push answered 403 is quarantined with the reason, not sent again in the next run', async () => {
    const t = await withTokens(() => false, 403);
    const first = await t.run('r1');
    expect(first.pending).toBe(0);
    expect(first.quarantined).toHaveLength(5);
    expect(first.quarantined[0]).toMatch(/^system "shop": POST \/sync\/items: HTTP 403: .*\(the credentials may not write here/);
    const calls = t.syncCalls();
    expect(calls).toBe(5);
    // The next run sends none of those versions again: not one request.
    const second = await t.run('r2');
    expect(second).toMatchObject({ created: 0, pending: 0, quarantined: [] });
    expect(t.syncCalls()).toBe(calls);
    expect(await t.store.pending('items')).toEqual([]);
    // A record whose content changed is sent again (and refused again, here).
    const changed = source.map((r, i) => (i === 0 ? { ...r, hash: 'h0-new', data: { n: -1 } } : r));
    const third = await pushEntity({ entity: 'items', system: 'shop', records: changed, batchSize: 50, outbox: t.store, client: t.client, runId: 'r3', log: silentLogger() });
    expect(third.quarantined).toHaveLength(1);
    expect(t.syncCalls()).toBe(calls + 1);
    await t.store.close();
  });
});

describe('a push to an endpoint that does not exist', () => {
  it('stops at the first 404 with the failure, keeps the batch pending, and sends it once the path is fixed', async () => {
    const t = await setup(() => null);
    const push = (path: string, runId: string) =>
      pushEntity({ entity: 'items', system: 'shop', records: source, batchSize: 50, outbox: t.store, client: new HttpPushClient(t.pushSystem, 'shop', path), runId, log: silentLogger(), concurrency: 1 });
    const first = await push('/synk/items', 'r1');
    expect(first.failed).toMatchObject({ code: 'PARITY_HTTP_ENDPOINT' });
    expect(first.failed!.error).toMatch(/^system "shop": POST \/synk\/items: HTTP 404.*check write\.path/);
    // One request: not retried, nothing else sent, nothing quarantined, every batch kept.
    expect(t.calls()).toBe(1);
    expect(first.quarantined).toEqual([]);
    expect((await t.store.pending('items')).reduce((n, b) => n + b.records, 0)).toBe(N);
    const second = await push('/sync/items', 'r2');
    expect(second).toMatchObject({ created: N, pending: 0, failed: null });
    const applied = await t.receiver.applications('items');
    expect(applied.size).toBe(N);
    expect([...applied.values()].every((n) => n === 1)).toBe(true);
    await t.store.close();
  });
});

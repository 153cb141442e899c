// The reference receiver's push contract, through Hono's app.request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../../examples/receiver/server.js';

let receiver: Receiver;
let hold: Promise<void> | null = null;
beforeAll(async () => {
  receiver = await createReceiver({ token: 'recv-token-123', beforeApply: async () => void (await hold) });
});
afterAll(() => receiver.close());

const auth = { Authorization: 'Bearer recv-token-123', 'Content-Type': 'application/json' };

function push(key: string, records: unknown[], entity = 'items') {
  return receiver.app.request(`/sync/${entity}`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': key }, body: JSON.stringify({ entity, batchId: `b-${key}`, records }) });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();

const upsert = (localId: string, hash: string, data: Record<string, unknown> = { name: localId }) => ({ localId, op: 'upsert', hash, data });

describe('the receiver push contract', () => {
  it('creates and updates records, and answers a replayed key with the stored answer without applying it again', async () => {
    const first = await push('k1', [upsert('A', 'h1'), upsert('B', 'h1')]);
    expect(first.status).toBe(200);
    const body = await json(first);
    expect(body.results.map((r: { localId: string; status: string }) => [r.localId, r.status])).toEqual([['A', 'created'], ['B', 'created']]);
    const again = await push('k1', [upsert('A', 'h1'), upsert('B', 'h1')]);
    expect(await json(again)).toEqual(body);
    const update = await push('k2', [upsert('A', 'h2', { name: 'A2' })]);
    expect((await json(update)).results[0]).toMatchObject({ localId: 'A', status: 'updated', remoteId: body.results[0].remoteId });
    expect(await receiver.applications('items')).toEqual(new Map([['A|h1', 1], ['B|h1', 1], ['A|h2', 1]]));
    expect((await receiver.records('items')).get('A')).toEqual({ name: 'A2' });
  });

  it('says unchanged for a hash it holds, deleted for a delete, rejected for a record without a localId', async () => {
    const res = await push('k3', [upsert('B', 'h1'), { localId: 'A', op: 'delete' }, upsert('', 'h9'), { op: 'upsert', hash: 'x', data: {} }]);
    expect((await json(res)).results.map((r: { status: string; error?: string }) => [r.status, r.error ?? null])).toEqual([
      ['unchanged', null],
      ['deleted', null],
      ['rejected', 'a record needs a localId'],
      ['rejected', 'a record needs a localId'],
    ]);
    expect([...(await receiver.records('items')).keys()]).toEqual(['B']);
  });

  it('answers 422 for a known key with another payload, and 409 while the same key is in flight', async () => {
    expect((await push('k1', [upsert('A', 'other')])).status).toBe(422);
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const slow = push('k4', [upsert('C', 'h1')]);
    await new Promise((r) => setTimeout(r, 50));
    expect((await push('k4', [upsert('C', 'h1')])).status).toBe(409);
    release();
    hold = null;
    expect((await slow).status).toBe(200);
    expect((await push('k4', [upsert('C', 'h1')])).status).toBe(200);
    expect((await receiver.applications('items')).get('C|h1')).toBe(1);
  });

  it('frees the key when applying fails, so the same batch can be sent again', async () => {
    hold = Promise.reject(new Error('disk full'));
    hold.catch(() => undefined);
    expect((await push('k5', [upsert('D', 'h1')])).status).toBe(500);
    hold = null;
    expect((await push('k5', [upsert('D', 'h1')])).status).toBe(200);
    expect((await receiver.applications('items')).get('D|h1')).toBe(1);
  });

  it('needs the bearer token and an Idempotency-Key', async () => {
    const noAuth = await receiver.app.request('/sync/items', { method: 'POST', headers: { 'Idempotency-Key': 'x', 'Content-Type': 'application/json' }, body: '{"records":[]}' });
    expect(noAuth.status).toBe(401);
    const noKey = await receiver.app.request('/sync/items', { method: 'POST', headers: auth, body: '{"records":[]}' });
    expect(noKey.status).toBe(400);
    expect((await receiver.app.request('/healthz')).status).toBe(200);
  });
});

// A whole run that pushes: the demo's config, an ERP in SQLite, the receiver over loopback.
// A dry run changes nothing anywhere; a real run syncs, and the next run finds all in step.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import type { Receiver } from '../../examples/receiver/server.js';
import { runCli } from '../helpers/cli.js';
import { demoWorld } from '../helpers/demo.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const TOKEN = 'push-e2e-token-5521';
let receiver: Receiver;
let env: Record<string, string>;
const configFile = path.join(dir, 'parity.yaml');

beforeAll(async () => {
  ({ receiver, env } = await demoWorld(dir, TOKEN, { products: 600, customers: 200, stockSkus: 200 }, [5, 6]));
});
afterAll(() => receiver.close());

async function snapshot() {
  const out: Record<string, unknown> = {};
  for (const e of ['items', 'customers', 'stock']) out[e] = { records: [...(await receiver.records(e))].sort(), applied: [...(await receiver.applications(e))].sort() };
  return JSON.stringify(out);
}

describe('a run that pushes', () => {
  it('--dry-run writes nothing anywhere and says what it would sync', async () => {
    const before = await snapshot();
    const result = await runCli(['run', '--dry-run', '--json', '--config', configFile], { env });
    expect(result.code).toBe(0);
    const report = parseReport(result.stdout);
    const items = report.entities[0];
    expect(items.outcome).toBe('report-only');
    expect(items.sync).toMatchObject({ created: items.diff.missing, updated: items.diff.changed, deleted: items.diff.extra });
    expect(await snapshot()).toBe(before);
    const store = await StateStore.open('sqlite:.data/state.db', dir);
    expect(await store.pendingCount()).toBe(0);
    expect(await store.pending('items')).toEqual([]);
    await store.close();
  });

  it('syncs every tripped entity, each record applied once, and the next run finds all in step', async () => {
    const first = await runCli(['run', '--json', '--config', configFile], { env });
    expect(first.code).toBe(0);
    const r1 = parseReport(first.stdout);
    for (const e of r1.entities) {
      expect(e.outcome, e.name).toBe('synced');
      expect(e.sync, e.name).toMatchObject({ created: e.diff.missing, updated: e.diff.changed, pending: 0, rejected: 0 });
    }
    expect(r1.entities[0].sync.deleted).toBe(r1.entities[0].diff.extra);
    for (const e of ['items', 'customers', 'stock']) {
      expect([...(await receiver.applications(e)).values()].every((n) => n === 1), e).toBe(true);
    }
    const second = await runCli(['run', '--json', '--config', configFile], { env });
    const r2 = parseReport(second.stdout);
    expect(r2.health).toMatchObject({ score: 100, status: 'perfect' });
    expect(r2.entities.map((e: { outcome: string }) => e.outcome)).toEqual(['in-sync', 'in-sync', 'in-sync']);
    const store = await StateStore.open('sqlite:.data/state.db', dir);
    expect(await store.pendingCount()).toBe(0);
    await store.close();
  });

  it('maxDeleteRatio blocks a run that would delete too much of the target', async () => {
    // The shop now holds 60 records the ERP no longer lists: 10% of the items.
    await receiver.seed('items', Array.from({ length: 60 }, (_, i) => ({ localId: `GONE-${i}`, data: { sku: `GONE-${i}`, title: 'gone', price: '1.00', category: 'toys' } })));
    const result = await runCli(['run', '--json', '--entities', 'items', '--config', configFile], { env });
    const items = parseReport(result.stdout).entities[0];
    expect(items.outcome).toBe('blocked');
    expect(items.blocked).toMatch(/^the run would delete 60 of \d+ target records \([\d.]+%\), more than safety\.maxDeleteRatio 5%: nothing is synced for this entity \(raise maxDeleteRatio, or let this run through with --force\)$/);
    expect((await receiver.records('items')).has('GONE-0')).toBe(true);
  });
});

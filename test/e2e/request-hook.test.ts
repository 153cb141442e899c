// A receiver that speaks another dialect, reached through `write.request` and `write.response`
// hooks in a TypeScript module; the closed loop reads the pushed keys back and names the one
// record the receiver said it stored but did not.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/agent/config/load.js';
import { silentLogger } from '../../src/agent/logger.js';
import { runOnce } from '../../src/agent/run.js';
import { StateStore } from '../../src/agent/state/store.js';
import { expectValidReport } from '../helpers/report-schema.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const held = new Map<string, { code: string; label: string }>();
const requests: { body: unknown; key: string | undefined; dialect: string | undefined }[] = [];
let url = '';

/** The config: the ERP's parts pushed to the portal with this write block. */
const config = (write: string) => `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  portal: { type: http, baseUrl: "${url}" }
entities:
  parts:
    key: [code]
    # The portal holds 2 records, one of them stale: deleting it is half the target.
    safety: { maxDeleteRatio: 0.5 }
    source: { system: erp, table: parts }
    target:
      system: portal
      path: /api/parts
      list: rows
      write: ${write}
`;

beforeAll(async () => {
  const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
  await erp.query('CREATE TABLE parts (code TEXT PRIMARY KEY, label TEXT)');
  await erp.query(`INSERT INTO parts VALUES ${Array.from({ length: 30 }, (_, i) => `('P${String(i).padStart(2, '0')}', 'part ${i}')`).join(', ')}`);
  await erp.close();
  held.set('P00', { code: 'P00', label: 'part 0' });
  held.set('OLD', { code: 'OLD', label: 'gone' });

  // The other dialect: { operations: [{ ref, action: put|remove, attrs }] } answered with
  // { outcome: [{ ref, result: ok|error, message }] }. It drops P07 silently.
  const app = new Hono();
  app.get('/api/parts', (c) => c.json({ rows: [...held.values()].sort((a, b) => (a.code < b.code ? -1 : 1)) }));
  app.post('/api/bulk', async (c) => {
    const body = (await c.req.json()) as { operations: { ref: string; action: string; attrs?: { code: string; label: string } }[] };
    requests.push({ body, key: c.req.header('idempotency-key'), dialect: c.req.header('x-dialect') });
    const outcome = body.operations.map((op) => {
      if (op.action === 'remove') {
        held.delete(op.ref);
        return { ref: op.ref, result: 'ok' };
      }
      if (op.attrs?.label === 'part 13') return { ref: op.ref, result: 'error', message: 'label blocked' };
      if (op.ref !== 'P07') held.set(op.ref, op.attrs!);
      return { ref: op.ref, result: 'ok' };
    });
    return c.json({ outcome });
  });
  url = await serveApp(app);

  writeFileSync(
    path.join(dir, 'hooks.ts'),
    `interface Rec { localId: string; op: 'upsert' | 'delete'; data?: Record<string, unknown> }
export function toBulk(batch: { entity: string; records: Rec[] }) {
  return {
    body: { operations: batch.records.map((r) => (r.op === 'delete' ? { ref: r.localId, action: 'remove' } : { ref: r.localId, action: 'put', attrs: r.data })) },
    headers: { 'X-Dialect': 'bulk-v2' },
  };
}
export function fromBulk(answer: { outcome: { ref: string; result: string; message?: string }[] }, batch: { records: Rec[] }) {
  const ops = new Map(batch.records.map((r) => [r.localId, r.op]));
  return answer.outcome.map((o) => ({
    localId: o.ref,
    status: o.result !== 'ok' ? 'rejected' : ops.get(o.ref) === 'delete' ? 'deleted' : 'updated',
    error: o.message,
  }));
}
`,
  );
  writeFileSync(path.join(dir, 'parity.yaml'), config('{ path: /api/bulk, batchSize: 8, delete: hard, request: ./hooks.ts#toBulk, response: ./hooks.ts#fromBulk }'));
});

describe('write.request and write.response hooks', () => {
  it('push in the receiver dialect, with the Idempotency-Key, and the closed loop names what still differs', async () => {
    const loaded = await loadConfig(path.join(dir, 'parity.yaml'));
    const store = await StateStore.open('sqlite:state.db', dir);
    try {
      const { report } = await runOnce(loaded, store, { logger: silentLogger() });
      expectValidReport(report);
      const parts = report.entities[0]!;
      expect(parts.diff).toMatchObject({ missing: 29, extra: 1, matched: 1 });
      // 29 upserts and 1 delete in batches of 8: 4 requests, each in the other dialect.
      expect(requests).toHaveLength(4);
      for (const r of requests) {
        expect(r.dialect).toBe('bulk-v2');
        expect(r.key).toMatch(/^[0-9a-f]{64}$/);
        expect(Object.keys(r.body as object)).toEqual(['operations']);
      }
      expect(parts.sync).toMatchObject({ updated: 28, deleted: 1, rejected: 1, pending: 0 });
      expect(parts.rejections).toEqual([{ localId: 'P13', error: 'label blocked' }]);
      // 28 updated + 1 deleted were delivered; P07 was answered "ok" but is not there.
      expect(parts.sync.verified).toBe(28);
      expect(parts.sync.stillDiffer).toEqual(['P07']);
      expect(held.has('OLD')).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('a hook that is not exported is a config error naming the path', async () => {
    writeFileSync(path.join(dir, 'bad.yaml'), config('{ path: /api/bulk, request: ./hooks.ts#toNothing }'));
    await expect(loadConfig(path.join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml:17: entities\.parts\.target\.write\.request: module \.\/hooks\.ts exports no function "toNothing"$/);
  });
});

// Two agents with the same config share one PostgreSQL state store, each on a 1-second
// schedule, for a minute (PARITY_TEST_AGENTS_S changes it): no entity ever runs in both at
// once (checked from the run records), and killing one hands its entities to the other once
// its leases expire.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { createReceiver } from '../../examples/receiver/server.js';
import { agentArgs, ROOT } from '../helpers/cli.js';
import { PG_URL, pgAvailable, pgSchema } from '../helpers/databases.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const SECONDS = Number(process.env.PARITY_TEST_AGENTS_S ?? 60);
const TTL_S = 3;
const ENTITIES = ['alpha', 'beta', 'gamma'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pgAvailable)('[postgres] two agents on one state store', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it(`for ${SECONDS} s no entity runs twice at once, and a killed agent's entities move to the other`, async () => {
    const dir = tempDir();
    const pg = await pgSchema();
    try {
      const erp = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'erp.db'), logging: false });
      for (const e of ENTITIES) {
        await erp.query(`CREATE TABLE ${e} (sku TEXT PRIMARY KEY, qty INTEGER)`);
        await erp.query(`INSERT INTO ${e} VALUES ${Array.from({ length: 200 }, (_, i) => `('S${String(i).padStart(4, '0')}', ${i})`).join(', ')}`);
      }
      await erp.close();
      // The target lists slowly (150 ms a page of 50), so an entity takes about half a second.
      const receiver = await createReceiver();
      const app = new Hono();
      app.use('*', async (c, next) => {
        if (c.req.method === 'GET') await sleep(150);
        return next();
      });
      app.route('/', receiver.app);
      const shop = await serveApp(app);
      const state = `${PG_URL}?options=-c%20search_path%3D${pg.schema}`;
      writeFileSync(
        path.join(dir, 'parity.yaml'),
        `version: 1
state: "${state}"
reports: { dir: reports, formats: [json] }
server: { host: 127.0.0.1, port: 0, token: two-agents-token }
schedule: { incremental: every 1s }
agent: { leaseTtlS: ${TTL_S}, shutdownTimeoutS: 5 }
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop: { type: http, baseUrl: "${shop}" }
entities:
${ENTITIES.map(
  (e) => `  ${e}:
    key: [sku]
    source: { system: erp, table: ${e}, fields: { sku: sku, qty: { from: qty, transform: int } } }
    target: { system: shop, path: /${e}, list: items, pagination: { type: page, size: 50 }, fields: { sku: sku, qty: { from: qty, transform: int } }, write: { path: /sync/${e}, batchSize: 50 } }
`,
).join('')}`,
      );
      const start = () => {
        const c = spawn(process.execPath, agentArgs('start', '--config', path.join(dir, 'parity.yaml')), {
          cwd: ROOT,
          env: { ...process.env, PARITY_CONFIG: '', PARITY_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        c.stderr!.on('data', (b: Buffer) => (err += b.toString()));
        children.push(c);
        return { child: c, stderr: () => err };
      };
      const a = start();
      const b = start();
      const db = pg.db;
      const holders = async () =>
        (await db.query<{ holder: string }>(`SELECT DISTINCT holder FROM ${pg.schema}.parity_runs WHERE holder IS NOT NULL`, { type: QueryTypes.SELECT })).map((r) => r.holder);

      // Both agents run; then one is killed with SIGKILL while it may hold leases.
      await sleep(Math.max(10, SECONDS - 15) * 1000);
      const beforeKill = await holders();
      expect(beforeKill.length, `both agents ran: ${a.stderr().slice(-500)} ${b.stderr().slice(-500)}`).toBe(2);
      const killedAt = new Date();
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));
      const pid = String(a.child.pid);
      const killedHolder = beforeKill.find((h) => h.split(':')[1] === pid)!;
      const survivor = beforeKill.find((h) => h !== killedHolder)!;
      await sleep(15_000);
      b.child.kill('SIGTERM');
      expect(await new Promise((r) => b.child.once('exit', r))).toBe(0);

      const rows = await db.query<{ entity: string; started_at: Date; finished_at: Date; outcome: string; holder: string }>(
        `SELECT e.entity, e.started_at, e.finished_at, e.outcome, r.holder FROM ${pg.schema}.parity_entity_runs e JOIN ${pg.schema}.parity_runs r ON r.id = e.run_id WHERE e.outcome <> 'skipped' ORDER BY e.started_at`,
        { type: QueryTypes.SELECT },
      );
      expect(rows.length).toBeGreaterThan(10);
      // Never two at once: per entity, each run starts after the one before it finished.
      for (const e of ENTITIES) {
        const runs = rows.filter((r) => r.entity === e);
        expect(new Set(runs.map((r) => r.holder)).size, `${e} was run by both agents`).toBe(2);
        for (let i = 1; i < runs.length; i++) {
          expect(new Date(runs[i]!.started_at).getTime(), `${e}: run ${i} started before run ${i - 1} finished`).toBeGreaterThanOrEqual(new Date(runs[i - 1]!.finished_at).getTime());
        }
        // After the kill, the survivor runs every entity, a held one included, within the lease's TTL.
        const later = runs.filter((r) => r.holder === survivor && new Date(r.started_at) > killedAt);
        expect(later.length, `${e} after the kill`).toBeGreaterThan(0);
        expect(new Date(later[0]!.started_at).getTime() - killedAt.getTime(), `${e} handed over`).toBeLessThan((TTL_S + 5) * 1000);
      }
      // The busy entities were skipped and said so (or, at the end, skipped for the shutdown).
      const skipped = await db.query<{ error: string }>(`SELECT error FROM ${pg.schema}.parity_entity_runs WHERE outcome = 'skipped'`, { type: QueryTypes.SELECT });
      expect(skipped.filter((s) => /^busy: another agent \(.+\) is running this entity$/.test(s.error)).length).toBeGreaterThan(0);
      for (const s of skipped) expect(s.error).toMatch(/^busy: another agent \(.+\) is running this entity$|^the agent is shutting down$/);
      await receiver.close();
    } finally {
      await pg.drop();
    }
  }, (SECONDS + 60) * 1000);
});

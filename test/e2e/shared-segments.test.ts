// Two agents with the same config on one PostgreSQL state store share a 2,000,000-row bisected
// entity: each of its segments is done exactly once (the segment records say by whom), both
// agents do some, and the entity's report equals a single agent's. Killing the leader with
// SIGKILL mid-run hands the entity to the other agent, which finishes it within the lease TTL.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import type { EntityReport, RunReport } from '../../src/reconcile/report.js';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { PG_URL, pgAvailable, pgSchema } from '../helpers/databases.js';
import { tempDir } from '../helpers/tmp.js';

const ROWS = 2_000_000;
const TTL_S = 20;

interface Agent {
  child: ChildProcess;
  done: Promise<{ code: number | null; report: RunReport | null; stderr: string }>;
}

function agent(config: string): Agent {
  const child = spawn(process.execPath, agentArgs('compare', '--json', '--config', config), {
    cwd: ROOT,
    env: { ...process.env, PARITY_CONFIG: '', PARITY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ code: number | null; report: RunReport | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, report: out.trim() ? (JSON.parse(out) as RunReport) : null, stderr: err })),
  );
  return { child, done };
}

/** What must not depend on how many agents did the work. */
const essence = (e: EntityReport) => ({ diff: e.diff, samples: e.samples, match: e.match, source: e.source.count, target: e.target.count, segments: e.join?.segments, rowsRead: e.join?.rowsRead, strategy: e.join?.strategy });

describe.skipIf(!pgAvailable)('[postgres] two agents share one bisected entity', () => {
  const dir = tempDir();
  let pg: Awaited<ReturnType<typeof pgSchema>>;
  let shared = '';
  let single: EntityReport;
  const children: ChildProcess[] = [];

  const segments = async (job: string) =>
    pg.db.query<{ idx: number; status: string; done_by: string | null; attempts: number }>(`SELECT idx, status, done_by, attempts FROM ${pg.schema}.parity_segments WHERE job_id = ? ORDER BY idx`, { type: QueryTypes.SELECT, replacements: [job] });
  const lastJob = async () => (await pg.db.query<{ id: string; leader: string; parts: number; status: string }>(`SELECT id, leader, parts, status FROM ${pg.schema}.parity_segment_jobs ORDER BY created_at DESC LIMIT 1`, { type: QueryTypes.SELECT }))[0];

  beforeAll(async () => {
    pg = await pgSchema();
    const s = pg.schema;
    // Source: 2,000,000 items; target: the same but 1,000 missing, 1,000 changed (in clusters) and 500 extra.
    await pg.db.query(`CREATE TABLE ${s}.src (id BIGINT PRIMARY KEY, name TEXT, price NUMERIC(12,2), qty INTEGER)`);
    await pg.db.query(`INSERT INTO ${s}.src SELECT g, 'item ' || g, round(MOD(g * 7919, 100000) / 100.0, 2), MOD(g, 1000) FROM generate_series(1::bigint, ${ROWS}) g`);
    await pg.db.query(`CREATE TABLE ${s}.dst (id BIGINT PRIMARY KEY, name TEXT, price NUMERIC(12,2), qty INTEGER)`);
    await pg.db.query(
      `INSERT INTO ${s}.dst SELECT id, name, CASE WHEN MOD(id, 200000) BETWEEN 500 AND 599 THEN price + 1 ELSE price END, qty FROM ${s}.src WHERE MOD(id, 200000) NOT BETWEEN 1 AND 100`,
    );
    await pg.db.query(`INSERT INTO ${s}.dst SELECT g, 'extra ' || g, 1.5, 1 FROM generate_series(${ROWS + 1}::bigint, ${ROWS + 500}) g`);
    await pg.db.query(`ANALYZE ${s}.src`);
    await pg.db.query(`ANALYZE ${s}.dst`);
    const entity = `entities:
  items:
    key: id
    source: { system: db, table: ${s}.src }
    target: { system: db, table: ${s}.dst }
`;
    const systems = `systems:\n  db: { type: sql, url: "${PG_URL}" }\n`;
    // One agent alone, on its own SQLite store: the report the shared runs must equal.
    writeFileSync(path.join(dir, 'single.yaml'), `version: 1\nstate: sqlite:single-state.db\nreports: { dir: single-reports, formats: [json] }\n${systems}${entity}`);
    shared = path.join(dir, 'shared.yaml');
    writeFileSync(shared, `version: 1\nstate: "${PG_URL}?options=-c%20search_path%3D${s}"\nreports: { dir: shared-reports, formats: [json] }\nagent: { leaseTtlS: ${TTL_S} }\n${systems}${entity}`);
    // The shared store's tables exist before two agents open it at once.
    await (await StateStore.open(`${PG_URL}?options=-c%20search_path%3D${s}`, dir)).close();
    const alone = await runCli(['compare', '--json', '--config', path.join(dir, 'single.yaml')]);
    expect(alone.code, alone.stderr).toBe(0);
    single = (JSON.parse(alone.stdout) as RunReport).entities[0]!;
    expect(single.join?.strategy).toBe('bisection');
    expect(single.diff).toMatchObject({ missing: 1000, changed: 1000, extra: 500 });
  }, 180_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await pg?.drop();
  });

  it('each segment is done once, both agents do some, and the report is the one agent would write', async () => {
    const [a, b] = [agent(shared), agent(shared)];
    children.push(a.child, b.child);
    const results = await Promise.all([a.done, b.done]);
    for (const r of results) expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const [leader, helper] = results[0]!.report!.entities[0]!.outcome === 'skipped' ? [results[1]!, results[0]!] : [results[0]!, results[1]!];
    expect(essence(leader.report!.entities[0]!)).toEqual(essence(single));
    const helped = helper.report!.entities[0]!;
    expect(helped.outcome).toBe('skipped');
    expect(helped.error).toMatch(/^busy: another agent \(.+\) is running this entity; this agent bisected [1-9]\d* of its \d+ segments$/);

    const job = (await lastJob())!;
    expect(job.status).toBe('done');
    const rows = await segments(job.id);
    expect(rows.map((r) => r.idx)).toEqual(Array.from({ length: job.parts }, (_, i) => i));
    for (const r of rows) expect([r.status, r.attempts]).toEqual(['done', 1]);
    const by = new Set(rows.map((r) => r.done_by));
    expect(by.size, 'both agents did segments').toBe(2);
  }, 180_000);

  it('when the leader is killed with SIGKILL, the other agent finishes the entity within the lease TTL', async () => {
    const [a, b] = [agent(shared), agent(shared)];
    children.push(a.child, b.child);
    // Wait until the job is under way: some segments done, most not.
    let job: Awaited<ReturnType<typeof lastJob>>;
    for (;;) {
      job = await lastJob();
      if (job && job.status === 'open') {
        const rows = await segments(job.id);
        if (rows.filter((r) => r.status === 'done').length >= 3) break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const leaderPid = Number(job!.leader.split(':')[1]);
    const [killed, survivor] = a.child.pid === leaderPid ? [a, b] : [b, a];
    expect(killed.child.pid).toBe(leaderPid);
    const killedAt = Date.now();
    killed.child.kill('SIGKILL');
    const after = await survivor.done;
    const took = Date.now() - killedAt;
    expect(after.code, after.stderr.slice(-2000)).toBe(0);
    expect(took, 'finished within the lease TTL').toBeLessThan(TTL_S * 1000);
    const entity = after.report!.entities[0]!;
    expect(entity.outcome, entity.error ?? '').not.toBe('skipped');
    expect(essence(entity)).toEqual(essence(single));

    const rows = await segments(job!.id);
    expect((await lastJob())!.id, 'the survivor took up the same job').toBe(job!.id);
    expect(rows.map((r) => r.idx)).toEqual(Array.from({ length: job!.parts }, (_, i) => i));
    for (const r of rows) expect(r.status).toBe('done');
    // The killed agent's finished segments were kept; at most its one unfinished segment was redone.
    const killedHolder = job!.leader;
    expect(rows.some((r) => r.done_by === killedHolder)).toBe(true);
    expect(rows.filter((r) => r.attempts > 1).length).toBeLessThanOrEqual(1);
  }, 180_000);
});

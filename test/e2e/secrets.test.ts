// Secrets in the forms masking used to miss: a value URL-encoded inside a URL, values from
// variables whose names do not look secret (in a system's query and a side's params), a
// database password holding a raw "@", a URL written with one slash. Runs fail in every way
// (unreachable, 401, 500, bad SQL, a bad config); no secret may appear, in any form, in what
// the CLI prints at debug level, in any report, in the state store or in any API answer.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentArgs, ROOT, runCli } from '../helpers/cli.js';
import { serveApp } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const PG_AT_PASSWORD = 'p@ss-W0rd-3b9';
const PG_SLASH_PASSWORD = 'one-slash-pw-6d02';
const SECRETS: Record<string, string> = {
  SHOP_ACCOUNT: 'Ab+cd/efKEY==zz91',
  REGION: 'region-private-55e1',
  HEADER_VALUE: 'hdr-val+/=-0c8e2a',
  BEARER: 'bearer/+tok==7f31',
  ERP_URL: `postgres://parity:${PG_AT_PASSWORD}@127.0.0.1:1/x`,
  ERP_URL_SLASH: `postgres:/parity:${PG_SLASH_PASSWORD}@127.0.0.1:1/x`,
  FILTER: 'filter-secret-1a7c',
  SERVER_TOKEN: 'server-token-e5d4c3b2',
};

/** Each secret as it could travel: raw, URL-encoded (both hex cases), form-encoded, base64. */
function forms(value: string): string[] {
  const encoded = encodeURIComponent(value);
  return [value, encoded, encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), new URLSearchParams({ v: value }).toString().slice(2), Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url')];
}
const FORBIDDEN = [...Object.values(SECRETS), PG_AT_PASSWORD, PG_SLASH_PASSWORD].flatMap(forms);

const dir = tempDir();
let api = '';

beforeAll(async () => {
  const app = new Hono();
  app.get('/r401/*', (c) => c.json({ error: 'no' }, 401));
  app.get('/r500/*', (c) => c.text('boom', 500));
  app.get('/ok/items', (c) => c.json({ items: [{ id: 1, qty: 10 }] }));
  api = await serveApp(app);
  writeFileSync(path.join(dir, 'copy.csv'), 'id,qty\n1,10\n');
  const lite = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'lite.db'), logging: false });
  await lite.query('CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER)');
  await lite.close();
  const fields = 'fields: { id: { from: id, transform: int }, qty: { from: qty, transform: int } }';
  const entity = (name: string, source: string) => `  ${name}:\n    key: [id]\n    source: { ${source}, ${fields} }\n    target: { system: copy, ${fields} }\n`;
  const retry = 'retry: { retries: 1, baseMs: 5, maxMs: 10 }';
  writeFileSync(
    path.join(dir, 'parity.yaml'),
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md, html] }
logs: { dir: logs }
server: { host: 127.0.0.1, port: 0, token: "\${SERVER_TOKEN}" }
schedule: { incremental: every 1h, runOnStart: true }
systems:
  copy: { type: csv, path: copy.csv }
  down: { type: http, baseUrl: "http://127.0.0.1:1", query: { api_key: "\${SHOP_ACCOUNT}" }, ${retry} }
  unauth: { type: http, baseUrl: "${api}", auth: { type: header, name: X-Key, value: "\${HEADER_VALUE}" }, ${retry} }
  broken: { type: http, baseUrl: "${api}", auth: { type: bearer, token: "\${BEARER}" }, query: { api_key: "\${SHOP_ACCOUNT}" }, ${retry} }
  pg_at: { type: sql, url: "\${ERP_URL}" }
  pg_slash: { type: sql, url: "\${ERP_URL_SLASH}" }
  lite: { type: sql, url: "sqlite:lite.db" }
  okshop: { type: http, baseUrl: "${api}", auth: { type: bearer, token: "\${BEARER}" }, query: { api_key: "\${SHOP_ACCOUNT}" } }
entities:
${entity('fine', 'system: okshop, path: /ok/items, list: items, params: { region: "${REGION}" }')}${entity('down', 'system: down, path: /items')}${entity('unauth', 'system: unauth, path: /r401/items, params: { region: "${REGION}" }')}${entity('broken', 'system: broken, path: /r500/items')}${entity('pg_at', 'system: pg_at, table: items')}${entity('pg_slash', 'system: pg_slash, table: items')}${entity('bad_sql', 'system: lite, table: items, where: "missing_column = \'${FILTER}\'"')}`,
  );
  // A bad config whose error would quote the value it refuses.
  writeFileSync(
    path.join(dir, 'bad.yaml'),
    `version: 1\nsystems:\n  shop: { type: http, baseUrl: "http://127.0.0.1:1", followRedirects: "\${BEARER}" }\nentities: {}\n`,
  );
});

/** `parity start` until its run on start has finished; then every API answer, then SIGTERM. */
async function daemonAnswers(env: Record<string, string>): Promise<{ stderr: string; answers: string[] }> {
  const child = spawn(process.execPath, agentArgs('start', '--log-level', 'debug', '--config', path.join(dir, 'parity.yaml')), {
    cwd: ROOT,
    env: { ...process.env, PARITY_CONFIG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const end = Date.now() + 60_000;
    let url = '';
    while (!url && Date.now() < end) {
      url = /agent serving (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, stderr).not.toBe('');
    const auth = { Authorization: `Bearer ${SECRETS.SERVER_TOKEN}` };
    const get = async (route: string) => (await fetch(`${url}${route}`, { headers: auth })).text();
    let runs = '';
    while (Date.now() < end) {
      runs = await get('/runs');
      if (/"status":"(failed|completed)"/.test(runs)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const runId = /"id":"([0-9a-f-]{36})"/.exec(runs)?.[1];
    expect(runId).toBeDefined();
    const answers = [runs];
    for (const route of ['/status', `/runs/${runId}`, '/reports/latest', '/reports/latest.md', '/reports/latest.html', '/metrics', '/runs/not-a-run', '/nowhere']) answers.push(await get(route));
    return { stderr, answers };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('masking by value, in every form', () => {
  it('no secret appears anywhere after runs that fail in every way', async () => {
    const env = { ...SECRETS };
    // The two runs one after the other: at once, one would find the other's entities busy.
    const [[run, json], validate, bad] = await Promise.all([
      (async () => [
        await runCli(['run', '--log-level', 'debug', '--config', path.join(dir, 'parity.yaml')], { env }),
        await runCli(['run', '--json', '--log-level', 'debug', '--config', path.join(dir, 'parity.yaml')], { env }),
      ])(),
      runCli(['validate', '--log-level', 'debug', '--config', path.join(dir, 'parity.yaml')], { env }),
      runCli(['run', '--log-level', 'debug', '--config', path.join(dir, 'bad.yaml')], { env }),
    ]);
    const daemon = await daemonAnswers(env);

    // Each failure really happened, so its error path ran.
    expect(run.code, run.stderr).toBe(1);
    expect(json.stdout, json.stderr).not.toBe('');
    const report = JSON.parse(json.stdout) as { entities: { name: string; outcome: string; error: string | null }[] };
    const errors = Object.fromEntries(report.entities.map((e) => [e.name, e.error ?? '']));
    expect(report.entities.filter((e) => e.outcome === 'failed').map((e) => e.name).sort()).toEqual(['bad_sql', 'broken', 'down', 'pg_at', 'pg_slash', 'unauth']);
    expect(errors.fine).toBe('');
    expect(errors.down).toMatch(/ECONNREFUSED/);
    expect(errors.down).toContain('api_key=***');
    expect(errors.unauth).toMatch(/HTTP 401/);
    expect(errors.unauth).toContain('region=***');
    expect(errors.broken).toMatch(/HTTP 500/);
    expect(errors.pg_at).toMatch(/cannot connect/);
    expect(errors.pg_slash).toMatch(/cannot connect|connect/);
    expect(errors.bad_sql).toMatch(/no such column: missing_column/);
    expect(validate.code).toBe(1);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/followRedirects: "\*\*\*" is not allowed/);

    const reports = readdirSync(path.join(dir, 'reports')).map((f) => readFileSync(path.join(dir, 'reports', f), 'utf8'));
    expect(reports.length).toBeGreaterThanOrEqual(6);
    const state = ['state.db', 'state.db-wal', 'state.db-shm'].filter((f) => existsSync(path.join(dir, f))).map((f) => readFileSync(path.join(dir, f)).toString('latin1'));
    const logs = readdirSync(path.join(dir, 'logs')).map((f) => readFileSync(path.join(dir, 'logs', f), 'utf8'));
    expect(logs.join('')).toMatch(/"level":20,.*"msg":"page read"/);
    const everything = [run, json, validate, bad].flatMap((r) => [r.stdout, r.stderr]).concat(daemon.stderr, daemon.answers, reports, state, logs).join('\n');
    // Debug lines were written, with the URLs read (their secret values masked).
    expect(everything).toMatch(/"level":20,.*"from":"http:\/\/127\.0\.0\.1:\d+\/ok\/items\?api_key=\*\*\*&region=\*\*\*/);
    for (const secret of FORBIDDEN) expect(everything, `a form of a secret: ${secret.slice(0, 3)}…`).not.toContain(secret);
  }, 120_000);
});

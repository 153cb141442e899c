// What the people who run parity read: the run history as a table, logs that say what really
// happened, run ID prefixes, counts in good English, help that says each default once.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const config = path.join(dir, 'parity.yaml');

beforeAll(async () => {
  const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'data.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, qty INTEGER)');
  await db.query("INSERT INTO products VALUES ('A', 1), ('B', 2)");
  await db.query('CREATE TABLE copy (sku TEXT PRIMARY KEY, qty INTEGER)');
  await db.close();
  writeFileSync(
    config,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
systems:
  db: { type: sql, url: "sqlite:data.db" }
entities:
  items:
    key: sku
    source: { system: db, table: products }
    target: { system: db, table: copy, write: {} }
`,
  );
});

describe('messages and output', () => {
  it('logs the mode the run uses and the outcome each entity ended with', async () => {
    const r = await runCli(['run', '--log-level', 'info', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const logs = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => l.msg === 'run started')).toMatchObject({ mode: 'full' });
    // The compare found a difference; what the entity ended with is that it was synced.
    expect(logs.find((l) => l.msg === 'entity compared')).not.toHaveProperty('outcome');
    expect(logs.find((l) => l.msg === 'entity done')).toMatchObject({ outcome: 'synced', sync: { created: 2 } });
  });

  it('parity runs has a header and fixed columns, a dry run included', async () => {
    const dry = await runCli(['compare', '--dry-run', '--config', config]);
    expect(dry.code, dry.stderr).toBe(0);
    const r = await runCli(['runs', '--config', config]);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^run +started +status +mode +dry run +trigger +took +health +error$/);
    expect(rows).toHaveLength(2);
    // Every column starts where its title does, dry run or not.
    for (const title of ['status', 'mode', 'dry run', 'trigger', 'health']) {
      const at = header!.indexOf(title);
      for (const row of rows) expect(row[at - 1], `${title} in ${row}`).toBe(' ');
    }
    expect(rows[0]!.slice(header!.indexOf('dry run'), header!.indexOf('dry run') + 7)).toBe('dry-run');
    expect(rows[1]!.slice(header!.indexOf('dry run'), header!.indexOf('dry run') + 7).trim()).toBe('-');
  });

  it('takes the first 8 characters of a run ID, and says when they are not enough', async () => {
    const runs = JSON.parse((await runCli(['runs', '--json', '--config', config])).stdout) as { id: string }[];
    const prefix = runs[1]!.id.slice(0, 8);
    const report = await runCli(['report', prefix, '--config', config]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(runs[1]!.id);
    const short = await runCli(['report', prefix.slice(0, 5), '--config', config]);
    expect(short.code).toBe(2);
  });

  it('counts read as English, and --help says each default once', async () => {
    const v = await runCli(['validate', '--config', config]);
    expect(v.stdout).toContain(': 1 system, 1 entity');
    const help = await runCli(['runs', '--help']);
    expect(help.stdout.match(/default/g)).toHaveLength(1);
    expect(help.stdout).toContain('how many runs (default: 20)');
  });
});

// A SQL target without the unique index its upsert is keyed by: `parity validate` fails on
// that check with the CREATE UNIQUE INDEX hint; `parity run` fails that entity with the same
// line (naming the config file and path), runs the next one, writes the report and exits 1.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('a SQL target that lacks its unique index', () => {
  const dir = tempDir();
  const config = path.join(dir, 'parity.yaml');

  beforeAll(async () => {
    const db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'data.db'), logging: false });
    await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT)');
    await db.query("INSERT INTO products VALUES ('A1', 'one'), ('A2', 'two'), ('A3', 'three')");
    // No unique index on sku: an upsert cannot be keyed.
    await db.query('CREATE TABLE shop_items (sku TEXT, name TEXT)');
    await db.query("INSERT INTO shop_items VALUES ('A1', 'one')");
    // The second entity's target is fine.
    await db.query('CREATE TABLE mirror (sku TEXT PRIMARY KEY, name TEXT)');
    await db.close();
    writeFileSync(
      config,
      `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  db: { type: sql, url: "sqlite:data.db" }
entities:
  items:
    key: sku
    source: { system: db, table: products }
    target:
      system: db
      table: shop_items
      write: { delete: none }
  mirror:
    key: sku
    source: { system: db, table: products }
    target: { system: db, table: mirror, write: {} }
`,
    );
  });

  it('parity validate fails on the write check with the CREATE UNIQUE INDEX hint and exits 1', async () => {
    const r = await runCli(['validate', '--config', config]);
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.includes('items.target') && l.includes('write:'));
    expect(line).toMatch(/^FAIL/);
    expect(line).toContain('has no unique index on (sku)');
    expect(line).toContain('CREATE UNIQUE INDEX shop_items_parity_key ON shop_items (sku)');
    // The good target passes its write check.
    expect(r.stdout.split('\n').find((l) => l.includes('mirror.target') && l.includes('write:'))).toMatch(/^ok/);
  });

  it('parity run fails that entity with the same line, runs the next one, writes the report and exits 1', async () => {
    const r = await runCli(['run', '--config', config]);
    expect(r.code).toBe(1);
    const reports = readdirSync(path.join(dir, 'reports')).filter((f) => f.endsWith('.json') && f !== 'latest.json');
    expect(reports).toHaveLength(1);
    const report = JSON.parse(readFileSync(path.join(dir, 'reports', reports[0]!), 'utf8')) as { entities: { name: string; outcome: string; error?: string; sync?: { created: number } }[] };
    const [items, mirror] = report.entities;
    expect(items!.outcome).toBe('failed');
    // Named like every other config error: the file, its line, the path.
    expect(items!.error).toMatch(/parity\.yaml:\d+: entities\.items\.target\.write: table "shop_items" has no unique index on \(sku\).*CREATE UNIQUE INDEX/);
    expect(mirror!.name).toBe('mirror');
    expect(mirror!.outcome).toBe('synced');
    expect(mirror!.sync!.created).toBe(3);
    expect(r.stderr + r.stdout).toContain('has no unique index on (sku)');
  });
});

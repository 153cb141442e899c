// Ad-hoc selection from the command line, as the old sync scripts had it: --source runs the
// entities reading from one system; --filter/--filters limit both sides to records whose
// fields equal the values (asked of a SQL source in its query). A filtered run never deletes
// and moves no watermark; a filter on a field the entity does not have is a usage error.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const config = path.join(dir, 'parity.yaml');
let db: Sequelize;

beforeAll(async () => {
  db = new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'data.db'), logging: false });
  await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, status TEXT, qty INTEGER)');
  await db.query("INSERT INTO products VALUES ('A', 'active', 1), ('B', 'active', 2), ('C', 'retired', 3), ('D', 'active', 4)");
  await db.query('CREATE TABLE shop (sku TEXT PRIMARY KEY, status TEXT, qty INTEGER)');
  // The shop lacks B (active) and C (retired) and holds X, which the ERP no longer lists.
  await db.query("INSERT INTO shop VALUES ('A', 'active', 1), ('D', 'active', 4), ('X', 'active', 9)");
  writeFileSync(path.join(dir, 'crm.csv'), 'id,name\n1,Ann\n');
  writeFileSync(
    config,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json] }
systems:
  erp: { type: sql, url: "sqlite:data.db" }
  crm: { type: csv, path: crm.csv }
entities:
  items:
    key: sku
    source: { system: erp, table: products }
    target: { system: erp, table: shop, write: { delete: hard } }
    safety: { maxDeleteRatio: 1 }
  people:
    key: id
    source: { system: crm }
    target: { system: crm }
`,
  );
});
afterAll(() => db.close());

const shop = async () => (await db.query<{ sku: string }>('SELECT sku FROM shop ORDER BY sku', { type: QueryTypes.SELECT })).map((r) => r.sku);

describe('--source and --filter', () => {
  it('--source runs the entities whose source is that system, and the report says so', async () => {
    const r = await runCli(['run', '--dry-run', '--json', '--source', 'crm', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    expect(report.entities.map((e: { name: string }) => e.name)).toEqual(['people']);
    expect(report.selection).toEqual({ source: 'crm' });
  });

  it('--filter compares and pushes only the matching records, on both sides, and deletes nothing', async () => {
    const r = await runCli(['run', '--json', '--source', 'erp', '--filter', 'status=active', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    const items = report.entities.find((e: { name: string }) => e.name === 'items');
    expect(report.selection).toEqual({ source: 'erp', filters: { status: 'active' } });
    // Source A, B, D; target A, D, X: B is missing, X extra; C (retired) is not looked at.
    expect(items.diff).toMatchObject({ matched: 2, missing: 1, extra: 1 });
    expect(items.sync).toMatchObject({ created: 1, deleted: 0 });
    // X stays: a filtered run sees part of each side, so it never deletes.
    expect(await shop()).toEqual(['A', 'B', 'D', 'X']);
    // The same with --filters: B is there now; X still is.
    const json = await runCli(['run', '--json', '--source', 'erp', '--filters', '{"status":"active"}', '--config', config]);
    expect(json.code, json.stderr).toBe(0);
    expect(parseReport(json.stdout).entities[0].diff).toMatchObject({ matched: 3, missing: 0, extra: 1 });
  });

  it('an unknown field, bad JSON or an unknown source is a usage error: exit 2, one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--filters', '{"colour":"red"}', '--source', 'erp'], /^parity: --filter colour: entity "items" has no field "colour" \(its fields: sku, status, qty\)$/],
      [['--filter', 'status=active'], /^parity: --filter status: entity "people" has no field "status" \(its fields: id, name\)$/],
      [['--filters', 'status=active'], /^parity: --filters: not JSON/],
      [['--filter', 'status'], /^parity: --filter status: write field=value$/],
      [['--source', 'nope'], /^parity: --source nope: no entity reads from a system of that name \(sources: erp, crm\)$/],
    ];
    for (const [args, says] of cases) {
      const r = await runCli(['run', ...args, '--config', config]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(says);
    }
  });
});

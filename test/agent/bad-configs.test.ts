// More than a hundred bad configs (bad-configs.cases.ts): each one is refused at load with
// one line that names the file, the line and the path, and says what to fix; never a stack
// trace. A few go through the CLI too: exit 2, nothing recorded, earlier runs kept.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/agent/config/load.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { BAD_CONFIGS, BASE, type BadConfig } from './bad-configs.cases.js';

const dir = tempDir();
const ENV = { SHOP_TOKEN: 'tok-123456' };

function textOf(c: BadConfig): string {
  if (typeof c.edit === 'string') return c.edit;
  let text = BASE;
  for (const [from, to] of c.edit) {
    if (!text.includes(from)) throw new Error(`case "${c.name}": "${from}" is not in the base config`);
    text = text.replace(from, to);
  }
  return text;
}

describe('bad configs', () => {
  it('the base config loads', async () => {
    writeFileSync(path.join(dir, 'base.yaml'), BASE);
    await expect(loadConfig(path.join(dir, 'base.yaml'), ENV)).resolves.toBeTruthy();
  });

  it(`has at least 100 cases, each with its own name`, () => {
    expect(BAD_CONFIGS.length).toBeGreaterThanOrEqual(100);
    expect(new Set(BAD_CONFIGS.map((c) => c.name)).size).toBe(BAD_CONFIGS.length);
  });

  it.each(BAD_CONFIGS.map((c, i) => [c.name, i] as const))('%s: one line naming the file, line and path', async (_name, i) => {
    const c = BAD_CONFIGS[i]!;
    const file = path.join(dir, `bad-${i}.yaml`);
    writeFileSync(file, textOf(c));
    const error = await loadConfig(file, ENV).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error, 'the config loaded').toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).kind).toBe('config');
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/\bat .*\.(ts|js):\d+/);
    // The file and a line (an empty file has no line to point at).
    expect(message.startsWith(`${file}:`) || message.startsWith(`${file}: `)).toBe(true);
    if (textOf(c).trim() !== '') expect(message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+`));
    for (const s of c.says) {
      if (typeof s === 'string') expect(message).toContain(s);
      else expect(message).toMatch(s);
    }
  });

  describe('through the CLI', () => {
    const cli = path.join(dir, 'cli');
    beforeAll(async () => {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(cli, { recursive: true });
      const db = new Sequelize({ dialect: 'sqlite', storage: path.join(cli, 'erp.db'), logging: false });
      await db.query('CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT)');
      await db.query("INSERT INTO products VALUES ('A', 'a')");
      await db.close();
      writeFileSync(
        path.join(cli, 'parity.yaml'),
        `version: 1\nstate: sqlite:state.db\nreports: { dir: reports, formats: [json] }\nsystems:\n  erp: { type: sql, url: "sqlite:erp.db" }\nentities:\n  items:\n    key: sku\n    source: { system: erp, table: products }\n    target: { system: erp, table: products }\n`,
      );
      const first = await runCli(['run', '--config', path.join(cli, 'parity.yaml')]);
      expect(first.code, first.stderr).toBe(0);
    }, 60_000);

    it.each([
      ['an alias without its anchor', (t: string) => t.replace('table: products }\n    target', 'table: *tbl }\n    target'), /bad\.yaml:\d+:\d+: invalid YAML: the alias \*tbl has no anchor/],
      ['an oracle URL', (t: string) => t.replace('url: "sqlite:erp.db"', 'url: "oracle://u@h/x"'), /bad\.yaml:\d+: systems\.erp\.url: unknown database scheme "oracle:"/],
      ['a query that writes', (t: string) => t.replace('source: { system: erp, table: products }', 'source: { system: erp, query: "DELETE FROM products RETURNING sku" }'), /bad\.yaml:\d+: entities\.items\.source\.query: /],
    ])('%s: exit 2, one line, no run recorded, the earlier run kept', async (_name, change, says) => {
      const good = path.join(cli, 'parity.yaml');
      const { readFileSync } = await import('node:fs');
      const bad = path.join(cli, 'bad.yaml');
      writeFileSync(bad, change(readFileSync(good, 'utf8')));
      const r = await runCli(['run', '--config', bad]);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(says);
      const runs = await runCli(['runs', '--json', '--config', good]);
      const history = JSON.parse(runs.stdout) as { status: string }[];
      expect(history).toHaveLength(1);
      expect(history[0]!.status).toBe('completed');
    });
  });
});

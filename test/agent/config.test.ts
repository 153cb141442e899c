import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/agent/config/load.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
let n = 0;
function write(text: string): string {
  const file = path.join(dir, `c${++n}.yaml`);
  writeFileSync(file, text);
  return file;
}

const GOOD = `version: 1
systems:
  erp: { type: sql, url: "sqlite:erp.db" }
  shop:
    type: http
    baseUrl: http://127.0.0.1:9/v1
    auth: { type: bearer, token: "\${SHOP_TOKEN}" }
entities:
  items:
    key: [sku]
    source:
      system: erp
      table: products
      fields: { sku: sku, name: name, price: { from: base_price, transform: decimal(2) } }
    target:
      system: shop
      path: /items
      list: items
      fields: { sku: sku, name: title, price: { from: price, transform: decimal(2) } }
  stock:
    key: [sku, warehouse]
    dependsOn: [items]
    source: { system: erp, table: stock }
    target: { system: shop, path: /stock, fields: { sku: sku, warehouse: wh, qty: quantity } }
`;

async function loadError(text: string, env: Record<string, string> = { SHOP_TOKEN: 'tok-123456' }): Promise<string> {
  const file = write(text);
  try {
    await loadConfig(file, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config loaded, but an error was expected');
}

describe('config loading', () => {
  it('loads a valid config, resolves mappings and orders entities by dependency', async () => {
    const loaded = await loadConfig(write(GOOD), { SHOP_TOKEN: 'tok-123456' });
    const items = loaded.entities.find((e) => e.name === 'items')!;
    expect(loaded.entities.map((e) => e.name)).toEqual(['items', 'stock']);
    expect(items.keyFields).toEqual(['sku']);
    expect(items.compare).toEqual(['name', 'price']);
    expect(items.target.mappings?.map((m) => [m.name, m.from])).toEqual([['sku', 'sku'], ['name', 'title'], ['price', 'price']]);
    const shop = loaded.config.systems.shop!;
    expect(shop).toMatchObject({ type: 'http', auth: { type: 'bearer', token: 'tok-123456' } });
    // stock's source has no fields: compare comes from the one mapped side
    expect(loaded.entities[1]!.compare).toEqual(['qty']);
    expect(loaded.config.reports).toEqual({ dir: 'reports', retentionDays: 30, formats: ['json', 'md', 'html'] });
  });

  it('puts dependencies first whatever the file order', async () => {
    const text = GOOD.replace('  items:\n', '  zz:\n    key: [sku]\n    dependsOn: [stock]\n    source: { system: erp, table: t }\n    target: { system: shop, path: /t, fields: { sku: sku, a: a } }\n  items:\n');
    expect((await loadConfig(write(text), { SHOP_TOKEN: 'x' })).entities.map((e) => e.name)).toEqual(['items', 'stock', 'zz']);
  });

  it('accepts JSON too', async () => {
    const json = JSON.stringify({ version: 1, systems: { a: { type: 'sql', url: 'sqlite:a.db' } }, entities: { e: { key: 'id', source: { system: 'a', table: 't' }, target: { system: 'a', table: 'u' } } } });
    const file = path.join(dir, 'c.json');
    writeFileSync(file, json);
    expect((await loadConfig(file, {})).entities[0]!.keyFields).toEqual(['id']);
  });

  it('interpolates ${VAR} and ${VAR:-default}', async () => {
    const text = GOOD.replace('sqlite:erp.db', '${ERP_URL:-sqlite:default.db}').replace('127.0.0.1:9', '127.0.0.1:${PORT}');
    const loaded = await loadConfig(write(text), { SHOP_TOKEN: 't', PORT: '4321' });
    const erp = loaded.config.systems.erp!;
    expect(erp.type === 'sql' && erp.url).toBe('sqlite:default.db');
    const shop = loaded.config.systems.shop!;
    expect(shop.type === 'http' && shop.baseUrl).toBe('http://127.0.0.1:4321/v1');
  });

  it('invalid YAML: names the file, line and column', async () => {
    const message = await loadError('version: 1\nsystems:\n  erp: { type: sql, url: "x"\nentities: {}\n');
    expect(message).toMatch(new RegExp(`c${n}\\.yaml:4:1: invalid YAML: `));
  });

  it('unknown system: names the path and line', async () => {
    const message = await loadError(GOOD.replace('system: erp\n      table: products', 'system: erp2\n      table: products'));
    expect(message).toMatch(new RegExp(`c${n}\\.yaml:12: entities\\.items\\.source\\.system: unknown system "erp2" \\(systems: erp, shop\\)$`));
  });

  it('unknown transform: names the field', async () => {
    const message = await loadError(GOOD.replace('transform: decimal(2) } }\n    target', 'transform: decimal(2) | shout } }\n    target'));
    expect(message).toContain('entities.items.source.fields.price.transform: unknown transform "shout"');
  });

  it('missing environment variable: names it and the path', async () => {
    const message = await loadError(GOOD, {});
    expect(message).toContain('systems.shop.auth.token: environment variable SHOP_TOKEN is not set');
  });

  it('a key field not in the mapping', async () => {
    const message = await loadError(GOOD.replace('fields: { sku: sku, name: title,', 'fields: { code: sku, name: title,'));
    expect(message).toContain('entities.items.target.fields: key field "sku" is not in the mapping (add sku: <column>)');
  });

  it('an unknown key, a wrong type and a bad system type', async () => {
    expect(await loadError(GOOD.replace('version: 1', 'version: 1\nreprots: {}'))).toContain('(top level): unknown key "reprots"');
    expect(await loadError(GOOD.replace('table: products', 'table: 5'))).toContain('entities.items.source.table: expected text, got a number');
    expect(await loadError(GOOD.replace('type: sql', 'type: oracle'))).toContain('systems.erp.type: unknown type "oracle" (use sql, http, excel, csv)');
  });

  it('a part not built yet is refused, never ignored', async () => {
    expect(await loadError(GOOD.replace('    source: { system: erp, table: stock }', '    source: { system: erp, table: stock, write: { table: x } }'))).toContain('not supported yet: entities.stock.source.write (a source is only read)');
  });

  it('a schedule, timezone or webhook that cannot work is named', async () => {
    expect(await loadError(GOOD.replace('version: 1', 'version: 1\nschedule: { incremental: every 30 minutes }'))).toMatch(/schedule\.incremental: "every 30 minutes" is neither "every <n>\(s\|m\|h\|d\)" nor a cron expression/);
    expect(await loadError(GOOD.replace('version: 1', 'version: 1\nschedule: { incremental: every 30m, timezone: Mars/Olympus }'))).toContain('schedule.timezone: unknown timezone "Mars/Olympus"');
    expect(await loadError(GOOD.replace('version: 1', 'version: 1\nalerts: { webhook: "ftp://hooks.example/x" }'))).toContain('alerts.webhook: is not an http(s) URL');
    const loaded = await loadConfig(write(GOOD.replace('version: 1', 'version: 1\nschedule: { incremental: every 30m, full: "0 2 * * *", timezone: Europe/Berlin }')), { SHOP_TOKEN: 't' });
    expect(loaded.config.schedule).toMatchObject({ incremental: 'every 30m', full: '0 2 * * *', timezone: 'Europe/Berlin' });
  });

  it('a write block that does not fit its target is named', async () => {
    const sqlTarget = GOOD.replace('    target: { system: shop, path: /stock, fields: { sku: sku, warehouse: wh, qty: quantity } }', '    target: { system: erp, table: stock_copy, write: { path: /sync } }');
    expect(await loadError(sqlTarget)).toContain('entities.stock.target.write.path: "path" does not apply to a sql target (it is a key of http targets)');
    const noPath = GOOD.replace('      list: items\n', '      list: items\n      write: { batchSize: 5 }\n');
    expect(await loadError(noPath)).toContain('entities.items.target.write: an http target needs "path" to sync into');
    const chain = GOOD.replace('    key: [sku, warehouse]', '    keys: [[sku, warehouse], [sku]]').replace('    target: { system: shop, path: /stock, fields: { sku: sku, warehouse: wh, qty: quantity } }', '    target: { system: erp, table: stock_copy, write: { delete: hard } }');
    expect(await loadError(chain)).toContain('entities.stock.keys: a SQL target is written by one key');
  });

  it('a dependency cycle is named', async () => {
    const message = await loadError(GOOD.replace('  items:\n    key: [sku]', '  items:\n    key: [sku]\n    dependsOn: [stock]'));
    expect(message).toMatch(/dependency cycle: (items -> stock -> items|stock -> items -> stock)/);
  });

  it('a side that does not fit its system', async () => {
    expect(await loadError(GOOD.replace('      table: products', '      path: /products'))).toContain('entities.items.source.path: "path" does not apply to sql system "erp"');
  });

  it('a folder or a file far too large for a config is refused before it is read', async () => {
    await expect(loadConfig(dir)).rejects.toThrow(/: is a folder, not a config file \(pass --config PATH to the parity\.yaml in it\)$/);
    const big = path.join(dir, 'export.csv');
    writeFileSync(big, 'sku,qty\n'.repeat(200_000));
    await expect(loadConfig(big)).rejects.toThrow(/export\.csv: 1\.5 MB is more than a config file can be \(1 MB\): check that --config names parity\.yaml/);
  });

  it('a missing file says how to point at one', async () => {
    await expect(loadConfig(path.join(dir, 'nope.yaml'))).rejects.toThrow(/config file not found \(pass --config PATH or set PARITY_CONFIG\)/);
  });
});

describe('config errors on the command line', () => {
  it('print one line naming file and path, and exit 2', async () => {
    const file = write(GOOD.replace('system: erp\n      table: products', 'system: erp2\n      table: products'));
    const result = await runCli(['run', '--config', file], { env: { SHOP_TOKEN: 'x-secret' } });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^parity: .*c\d+\.yaml:12: entities\.items\.source\.system: unknown system "erp2"/);
    expect(result.stdout).toBe('');
  });

  it('each kind of bad config exits 2 with one line naming the file', async () => {
    const cases: [string, string, Record<string, string>][] = [
      ['version: 1\nsystems: [\n', 'invalid YAML', {}],
      [GOOD.replace('transform: decimal(2) } }\n    target', 'transform: shout } }\n    target'), 'unknown transform "shout"', { SHOP_TOKEN: 'x' }],
      [GOOD, 'environment variable SHOP_TOKEN is not set', {}],
      [GOOD.replace('fields: { sku: sku, name: title,', 'fields: { code: sku, name: title,'), 'key field "sku" is not in the mapping', { SHOP_TOKEN: 'x' }],
    ];
    const results = await Promise.all(cases.map(([text, , env]) => runCli(['validate', '--config', write(text)], { env: { SHOP_TOKEN: '', ...env } })));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![1]).toBe(2);
      expect(result.stderr.trim().split('\n'), cases[i]![1]).toHaveLength(1);
      expect(result.stderr).toMatch(/^parity: .*c\d+\.yaml:\d+(:\d+)?: /);
      expect(result.stderr).toContain(cases[i]![1]);
    });
  });

  it('a usage error exits 2 with a hint', async () => {
    const result = await runCli(['run', '--fail-under', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--fail-under <score>' argument 'lots' is invalid");
  });
});

describe('custom transforms module', () => {
  it('loads named transforms from the module and uses them in chains', async () => {
    writeFileSync(path.join(dir, 'hooks.ts'), "export function shopSku(v: unknown) { return `SHOP-${String(v)}`; }\nexport const pad = (v: unknown, n?: unknown) => String(v).padStart(Number(n ?? 5), '0');\nexport function strict(v: unknown) { if (v === 'bad') throw new Error('bad value'); return v; }\n");
    const text = GOOD.replace('version: 1', 'version: 1\ntransforms: ./hooks.ts').replace('fields: { sku: sku, name: name,', 'fields: { sku: { from: sku, transform: "trim | shopSku" }, name: { from: name, transform: "strict | pad(8)" },');
    const loaded = await loadConfig(write(text), { SHOP_TOKEN: 'x' });
    const mappings = loaded.entities[0]!.source.mappings!;
    const apply = (field: string, v: unknown) => mappings.find((m) => m.name === field)!.transforms.reduce((x, t) => t.apply(x), v);
    expect(apply('sku', ' 12 ')).toBe('SHOP-12');
    expect(apply('name', '42')).toBe('00000042');
    expect(() => apply('name', 'bad')).toThrow('bad value');
  });

  it('a transform the module does not export is a config error naming the field', async () => {
    const text = GOOD.replace('version: 1', 'version: 1\ntransforms: ./hooks.ts').replace('transform: decimal(2) } }\n    target', 'transform: missingOne } }\n    target');
    expect(await loadError(text)).toContain('entities.items.source.fields.price.transform: unknown transform "missingOne" (known: trim, lower');
  });

  it('a missing module is named', async () => {
    expect(await loadError(GOOD.replace('version: 1', 'version: 1\ntransforms: ./nowhere.ts'))).toMatch(/transforms: module \.\/nowhere\.ts not found \(looked for .*nowhere\.ts\)/);
  });
});

// One measured phase of the benchmark, in its own process so its peak RSS is its own. Plain
// JavaScript on the compiled code in dist/ (what `parity` runs once installed, built by
// `npm run bench`), so no TypeScript loader's memory is counted.
// Phases: read-source, read-target, read-both (drain sides with the collectors and no diff:
// the floor), run (a full parity run), compare (the same as a dry run). Prints one JSON line: { ms, maxRssMb, records, ... }.
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { loadConfig } = await import(dist('agent/config/load.js'));
const { silentLogger } = await import(dist('agent/logger.js'));
const { runOnce } = await import(dist('agent/run.js'));
const { StateStore } = await import(dist('agent/state/store.js'));
const { RecordMapper } = await import(dist('collectors/index.js'));
const { createCollector } = await import(dist('systems/registry.js'));
const { dottedGetter, plainGetter } = await import(dist('collectors/mapper.js'));

const [phase, configFile] = process.argv.slice(2);

if (phase === 'diff-core') {
  // The in-memory diff alone: N records a side, 1% changed, in step, no I/O.
  const { DiffBuilder } = await import(dist('reconcile/diff.js'));
  const n = Number(configFile);
  const make = (side) => Array.from({ length: n }, (_, i) => ({ key: `SKU-${String(i).padStart(8, '0')}`, hash: side === 'target' && i % 100 === 7 ? 'changed' : `h${i}`, fields: { price: String(i) } }));
  const source = make('source');
  const target = make('target');
  const t0 = performance.now();
  const builder = new DiffBuilder(40_000);
  for (let i = 0; i < n; i++) {
    builder.add('source', source[i]);
    builder.add('target', target[i]);
  }
  const diff = builder.finish();
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, records: 2 * n, diff: diff.counts })}\n`);
  process.exit(0);
}

if (phase === 'push-http') {
  // Pushes N upserts to the receiver at `url`: `parity` batches them through the outbox; the
  // baseline is what the old scripts did, one POST per record.
  const [, , url, n, mode] = process.argv.slice(2);
  const count = Number(n);
  const records = Array.from({ length: count }, (_, i) => ({ localId: `P-${mode}-${String(i).padStart(7, '0')}`, op: 'upsert', hash: `h${i}`, data: { sku: `P-${i}`, name: `product ${i}`, price: (i % 1000) / 10 } }));
  const t0 = performance.now();
  if (mode === 'per-record') {
    const { default: axios } = await import('axios');
    const http = await import('node:http');
    const client = axios.create({ baseURL: url, httpAgent: new http.Agent({ keepAlive: true }) });
    for (const r of records) {
      await client.post('/sync/items', { entity: 'items', batchId: r.localId, records: [r] }, { headers: { 'Idempotency-Key': `k-${r.localId}` } });
    }
  } else {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { HttpPushClient } = await import(dist('systems/http/push/client.js'));
    const { pushEntity } = await import(dist('systems/http/push/push.js'));
    const store = await StateStore.open('sqlite:state.db', mkdtempSync(path.join(tmpdir(), 'parity-bench-push-')));
    const client = new HttpPushClient({ auth: { type: 'none' }, baseUrl: url, headers: {}, timeoutMs: 60000 }, 'shop', '/sync/items');
    const summary = await pushEntity({ entity: 'items', system: 'shop', records, batchSize: 250, concurrency: 4, outbox: store, client, runId: 'bench', log: silentLogger() });
    await store.close();
    if (summary.created !== count) throw new Error(`pushed ${summary.created} of ${count}`);
  }
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, records: count })}\n`);
  process.exit(0);
}

if (phase === 'push-sql') {
  // Upserts N rows into a SQLite table: `parity`'s bulk loader, against the baseline of a
  // per-record find-then-save loop (what an ORM script does).
  const [, file, n, mode] = process.argv.slice(2);
  const count = Number(n);
  const { Sequelize, DataTypes } = await import('sequelize');
  const db = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
  const table = `items_${mode.replaceAll('-', '_')}`;
  await db.query(`CREATE TABLE ${table} (sku TEXT NOT NULL UNIQUE, name TEXT, price NUMERIC, qty INTEGER)`);
  // Half the rows exist already, with another price: the load updates them and inserts the rest.
  const rows = Array.from({ length: count }, (_, i) => ({ sku: `SKU-${String(i).padStart(8, '0')}`, name: `product ${i}`, price: ((i % 1000) / 10 + 1).toFixed(2), qty: i % 50 }));
  for (let i = 0; i < count / 2; i += 2000) {
    const chunk = rows.slice(i, Math.min(i + 2000, count / 2));
    await db.query(`INSERT INTO ${table} VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}`, { replacements: chunk.flatMap((r) => [r.sku, r.name, '0', r.qty]) });
  }
  const t0 = performance.now();
  if (mode === 'find-then-save') {
    const Item = db.define('Item', { sku: { type: DataTypes.STRING, primaryKey: true }, name: DataTypes.STRING, price: DataTypes.DECIMAL, qty: DataTypes.INTEGER }, { tableName: table, timestamps: false });
    for (const r of rows) {
      const found = await Item.findOne({ where: { sku: r.sku } });
      if (found) await found.update({ name: r.name, price: r.price, qty: r.qty });
      else await Item.create(r);
    }
  } else {
    const { SqlLoader } = await import(dist('systems/sql/loader.js'));
    const loader = new SqlLoader({ sequelize: db, table, keyColumns: ['sku'], columns: ['sku', 'name', 'price', 'qty'], chunkSize: 1000, delete: 'none', where: 'bench' });
    const summary = await loader.load(rows.map((r, i) => ({ localId: r.sku, values: r, exists: i < count / 2 })), []);
    if (summary.rejected) throw new Error(summary.rejections[0].error);
  }
  const ms = performance.now() - t0;
  const [{ n: held }] = await db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE price <> '0'`, { type: 'SELECT' });
  await db.close();
  if (Number(held) !== count) throw new Error(`${mode}: ${held} of ${count} rows hold the new values`);
  process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, records: count })}\n`);
  process.exit(0);
}

const loaded = await loadConfig(configFile);
const entity = loaded.entities[0];
const t0 = performance.now();
let extra = {};

if (phase === 'export-csv' || phase === 'export-xlsx') {
  // `parity export` of the source side to a file: args are the config and the output file.
  const { exportSide } = await import(dist('agent/export.js'));
  const out = process.argv[4];
  const result = await exportSide(loaded, entity.name, 'source', out);
  extra = { records: result.rows };
} else if (phase === 'run' || phase === 'compare') {
  const store = await StateStore.open(loaded.config.state, loaded.baseDir);
  const result = await runOnce(loaded, store, { logger: silentLogger(), dryRun: phase === 'compare' });
  await store.close();
  const e = result.report.entities[0];
  extra = { records: e.source.count + e.target.count, diff: e.diff, match: e.match, error: e.error, mode: e.mode, read: e.read, join: e.join };
} else {
  const sides = phase === 'read-source' ? [entity.source] : phase === 'read-target' ? [entity.target] : [entity.source, entity.target];
  let records = 0;
  await Promise.all(
    sides.map(async (side) => {
      const collector = createCollector(side, { keyChains: entity.keyChains, baseDir: loaded.baseDir });
      const mapper = new RecordMapper({ keyChains: entity.keyChains, compareFields: entity.compare, mappings: side.mappings, getter: side.system.type === 'http' ? dottedGetter : plainGetter });
      for await (const page of collector.read({ mapper })) records += page.records.length + page.invalid.length;
      await collector.close();
    }),
  );
  extra = { records };
}

const ms = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, ...extra })}\n`);
process.exit(0);

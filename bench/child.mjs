// One measured phase of the benchmark, in its own process so its peak RSS is its own. Plain
// JavaScript on the compiled code in dist/ (what `parity` runs once installed, built by
// `npm run bench`), so no TypeScript loader's memory is counted.
// Phases: read-source, read-target, read-both (drain sides with the collectors and no diff:
// the floor), run (a full parity run). Prints one JSON line: { ms, maxRssMb, records, ... }.
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { loadConfig } = await import(dist('agent/config/load.js'));
const { silentLogger } = await import(dist('agent/logger.js'));
const { runOnce } = await import(dist('agent/run.js'));
const { StateStore } = await import(dist('agent/state/store.js'));
const { createCollector, RecordMapper } = await import(dist('collectors/index.js'));
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

const loaded = await loadConfig(configFile);
const entity = loaded.entities[0];
const t0 = performance.now();
let extra = {};

if (phase === 'run') {
  const store = await StateStore.open(loaded.config.state, loaded.baseDir);
  const result = await runOnce(loaded, store, { logger: silentLogger() });
  await store.close();
  const e = result.report.entities[0];
  extra = { records: e.source.count + e.target.count, diff: e.diff, match: e.match, error: e.error, mode: e.mode, read: e.read };
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

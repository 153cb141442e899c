// The `bisection` part of the bench (issue #15): a BENCH_BISECTION_ROWS (default 5,000,000)
// products table in PostgreSQL and in MariaDB (the machine's own servers), generated in the
// databases (generate_series, MariaDB's sequence engine), compared three ways in one run:
//   drift in clusters (0.1%: 20 runs of 250 consecutive ids, missing, changed or extra), with
//     the default settings: bisection against the streaming diff of the same entity;
//   drift spread evenly (0.1%, every id equally likely) with bisectionThreshold 100;
//   no drift: bisection against `SELECT count(*)` on both sides.
// Every way must find the same counts as the streaming diff. Skipped, saying so, when either
// database does not answer.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { say, type Figure, type Measured } from './common.js';

interface Context {
  dir: string;
  record: (f: Figure) => void;
  measure: (phase: string, configFile: string, ...args: string[]) => Promise<Measured>;
}

const PG = process.env.PARITY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MARIADB = process.env.PARITY_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ROWS = Number(process.env.BENCH_BISECTION_ROWS ?? 5_000_000);

async function reachable(url: string): Promise<Sequelize | null> {
  const db = new Sequelize(url, { logging: false });
  try {
    await db.authenticate();
    return db;
  } catch {
    await db.close().catch(() => undefined);
    return null;
  }
}

/** Drift on an id: 0 none, 1 missing in the target, 2 changed, 3 extra (absent from the source). */
type Div = (a: string, b: number) => string;
const pgDiv: Div = (a, b) => `(${a} / ${b})`;
const myDiv: Div = (a, b) => `(${a} DIV ${b})`;
const clustered = (id: string, div: Div) => `CASE WHEN MOD(${id}, ${Math.floor(ROWS / 20)}) BETWEEN 1 AND 250 THEN 1 + MOD(${div(id, Math.floor(ROWS / 20))}, 3) ELSE 0 END`;
const spread = (id: string, div: Div) => `CASE WHEN MOD(${id} * 7919, 1000) = 0 THEN 1 + MOD(${div(id, 1000)}, 3) ELSE 0 END`;

async function build(pg: Sequelize, my: Sequelize, table: string, drift: ((id: string, div: Div) => string) | null): Promise<{ missing: number; changed: number; extra: number }> {
  await pg.query(`DROP TABLE IF EXISTS ${table}`);
  await my.query(`DROP TABLE IF EXISTS ${table}`);
  await pg.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, sku VARCHAR(20) NOT NULL, name TEXT, price NUMERIC(12,2), stock INTEGER, updated_at TIMESTAMP(6) WITH TIME ZONE)`);
  await my.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, sku VARCHAR(20) NOT NULL, name VARCHAR(100), price DECIMAL(12,2), stock INT, updated_at DATETIME(6)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const d = (id: string) => (drift ? drift(id, id === 'seq' ? myDiv : pgDiv) : '0');
  // Source (PostgreSQL): every id but the extras.
  await pg.query(
    `INSERT INTO ${table} SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 'product ' || g, round(MOD(g * 7919, 100000) / 100.0, 2), MOD(g * 31, 1000), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' + MOD(g, 997) * interval '1 microsecond' FROM generate_series(1::bigint, ${ROWS}) g WHERE (${d('g')}) <> 3`,
  );
  // Target (MariaDB): every id but the missing ones; changed ones have another price.
  await my.query(
    `INSERT INTO ${table} SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), CONCAT('product ', seq), ROUND(MOD(seq * 7919, 100000) / 100.0, 2) + (CASE WHEN (${d('seq')}) = 2 THEN 1 ELSE 0 END), MOD(seq * 31, 1000), TIMESTAMP('2026-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL MOD(seq, 997) MICROSECOND FROM seq_1_to_${ROWS} WHERE (${d('seq')}) <> 1`,
  );
  await pg.query(`ANALYZE ${table}`);
  await my.query(`ANALYZE TABLE ${table}`);
  const [rows] = await pg.query(`SELECT ${d('g')} AS kind, COUNT(*) AS n FROM generate_series(1::bigint, ${ROWS}) g GROUP BY 1`);
  const count = (k: number) => Number((rows as { kind: number; n: string }[]).find((r) => Number(r.kind) === k)?.n ?? 0);
  return { missing: count(1), changed: count(2), extra: count(3) };
}

export async function bisectionBench(o: Context): Promise<void> {
  say(`\nbisection: ${ROWS.toLocaleString('en')} products, PostgreSQL source ↔ MariaDB target`);
  const pg = await reachable(PG);
  const my = await reachable(MARIADB);
  if (!pg || !my) {
    say(`  skipped: ${!pg ? `PostgreSQL (${PG})` : ''}${!pg && !my ? ' and ' : ''}${!my ? `MariaDB (${MARIADB})` : ''} not reachable`);
    await pg?.close();
    await my?.close();
    return;
  }
  const table = 'parity_bench_products';
  const config = (name: string, entity: Record<string, unknown>) => {
    const file = path.join(o.dir, `bisection-${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        state: `sqlite:bisection-${name}-state.db`,
        reports: { dir: `bisection-${name}-reports`, formats: ['json'] },
        systems: { pg: { type: 'sql', url: PG }, maria: { type: 'sql', url: MARIADB } },
        entities: { products: { key: 'id', source: { system: 'pg', table }, target: { system: 'maria', table }, ...entity } },
      }),
    );
    return file;
  };
  const check = (who: string, m: Measured, expected: { missing: number; changed: number; extra: number }) => {
    if (m.error) throw new Error(`${who} failed: ${m.error}`);
    const got = { missing: m.diff!.missing!, changed: m.diff!.changed!, extra: m.diff!.extra! };
    const same = got.missing === expected.missing && got.changed === expected.changed && got.extra === expected.extra;
    say(`    ${who.padEnd(30)} ${(m.ms / 1000).toFixed(2).padStart(8)} s  missing ${got.missing}, changed ${got.changed}, extra ${got.extra}${same ? '' : `  DISAGREES (expected ${JSON.stringify(expected)})`}`);
    if (!same) throw new Error(`${who} disagrees`);
  };
  const join = (m: Measured) => m.join as unknown as { strategy: string; rowsRead?: { source: number; target: number }; segments?: { checked: number; read: number }; queries?: number; fallback?: string };
  try {
    for (const [label, drift, settings] of [
      ['clustered', clustered, {}],
      ['spread', spread, { bisectionThreshold: 100 }],
    ] as const) {
      const t0 = performance.now();
      const expected = await build(pg, my, table, drift);
      say(`\n  0.1% drift ${label} (${JSON.stringify(expected)}; tables built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      const streamed = await o.measure('compare', config(`${label}-stream`, { bisection: false }));
      check('streaming diff', streamed, expected);
      const bisected = await o.measure('compare', config(`${label}-bisect`, settings));
      check(`bisection ${JSON.stringify(settings)}`, bisected, expected);
      const j = join(bisected);
      if (j.strategy !== 'bisection') throw new Error(`not bisected: ${j.fallback}`);
      const share = (j.rowsRead!.source + j.rowsRead!.target) / (2 * ROWS);
      say(`    segments ${j.segments!.read} read of ${j.segments!.checked} checked, ${j.queries} queries; rows read ${j.rowsRead!.source} + ${j.rowsRead!.target}`);
      o.record({ name: `bisection ${label}: vs streaming`, value: bisected.ms / 1000, unit: 's', baseline: streamed.ms / 1000, ratio: bisected.ms / streamed.ms, bar: `>= 10 x faster; peak RSS ${bisected.maxRssMb.toFixed(0)} MB (streaming ${streamed.maxRssMb.toFixed(0)} MB)`, pass: streamed.ms >= 10 * bisected.ms });
      o.record({ name: `bisection ${label}: rows read`, value: share * 100, unit: '%', baseline: 2, ratio: (share * 100) / 2, bar: '< 2% of the rows', pass: share < 0.02 });
    }
    const t0 = performance.now();
    const none = await build(pg, my, table, null);
    say(`\n  no drift (tables built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const c0 = performance.now();
    await Promise.all([pg.query(`SELECT COUNT(*) FROM ${table}`), my.query(`SELECT COUNT(*) FROM ${table}`)]);
    const countMs = performance.now() - c0;
    say(`    count(*) on both sides ${(countMs / 1000).toFixed(2).padStart(14)} s`);
    // The floor of any checksum over every row: one MD5 of the bare concatenated columns per
    // row, summed, on both sides at once (no type tags, no canonical forms).
    const f0 = performance.now();
    const bare = 'CONCAT(id, sku, name, price, stock, updated_at)';
    await Promise.all([
      pg.query(`SELECT SUM(('x' || substr(md5(${bare}), 1, 15))::bit(60)::bigint) FROM ${table}`),
      my.query(`SELECT SUM(CAST(CONV(SUBSTRING(MD5(${bare}), 1, 15), 16, 10) AS UNSIGNED)) FROM ${table}`),
    ]);
    const md5Ms = performance.now() - f0;
    say(`    MD5 of every row on both sides ${(md5Ms / 1000).toFixed(2).padStart(7)} s  (the floor of a checksum pass)`);
    const equal = await o.measure('compare', config('none', {}));
    check('bisection', equal, none);
    o.record({ name: 'bisection no drift: vs count(*)', value: equal.ms / 1000, unit: 's', baseline: countMs / 1000, ratio: equal.ms / countMs, bar: 'within 3 x count(*) on both sides', pass: equal.ms <= 3 * countMs });
    o.record({ name: 'bisection no drift: vs one MD5 pass', value: equal.ms / 1000, unit: 's', baseline: md5Ms / 1000, ratio: equal.ms / md5Ms, bar: 'none (the floor of a checksum pass)', pass: null });
  } finally {
    await pg.query(`DROP TABLE IF EXISTS ${table}`);
    await my.query(`DROP TABLE IF EXISTS ${table}`);
    await pg.close();
    await my.close();
  }
}

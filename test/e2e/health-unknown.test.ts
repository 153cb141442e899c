// A run never reports more than it knows: a failed entity leaves the overall match unknown
// (not 100%), and a run that compared nothing (another agent held every entity) has no health
// at all, which --fail-under treats as failing.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../../src/agent/state/store.js';
import { runCli } from '../helpers/cli.js';
import { parseReport } from '../helpers/report-schema.js';
import { tempDir } from '../helpers/tmp.js';

describe('health that is not known', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'a.csv'), 'id,qty\n1,1\n2,2\n');
  const config = path.join(dir, 'parity.yaml');
  writeFileSync(
    config,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
systems:
  file: { type: csv, path: a.csv }
  gone: { type: csv, path: missing.csv }
entities:
  fine:
    key: id
    source: { system: file }
    target: { system: file }
  broken:
    key: id
    source: { system: gone }
    target: { system: file }
`,
  );

  it('a failed entity: the overall match is unknown, in the summary and the report', async () => {
    const r = await runCli(['run', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^health 50\.00 \(critical\), overall match unknown \(not compared: broken\), full$/m);
    const json = await runCli(['run', '--json', '--config', config]);
    const report = parseReport(json.stdout);
    expect(report.health).toEqual({ score: 50, status: 'critical', overallMatch: null });
  });

  it('nothing compared (another agent holds every entity): health none, and --fail-under exits 3 saying why', async () => {
    const store = await StateStore.open('sqlite:state.db', dir);
    for (const e of ['fine', 'broken']) expect(await store.acquireLease(`entity:${e}`, 'other-host:4242:agent', 600_000)).toBe(true);
    await store.close();
    const r = await runCli(['run', '--json', '--fail-under', '90', '--config', config]);
    const report = parseReport(r.stdout);
    expect(report.entities.map((e: { outcome: string }) => e.outcome)).toEqual(['skipped', 'skipped']);
    expect(report.health).toEqual({ score: null, status: null, overallMatch: null });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('parity: exit 3: no entity was compared (health none)');
    const plain = await runCli(['run', '--config', config]);
    expect(plain.stdout).toMatch(/^health none: nothing was compared, overall match unknown/m);
  });
});

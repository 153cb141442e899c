// The compiled CLI (what `parity` runs once installed): compiled by tsc and bundled as
// `npm run build` does, into a temp folder here, so a stale dist/ can never be what is tested.
// It must still load a TypeScript transforms module.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { parseReport } from '../helpers/report-schema.js';
import { bundleCli } from '../../scripts/bundle.js';

const run = promisify(execFile);
const dir = tempDir();
// Inside the project (git-ignored), so the compiled modules find its node_modules.
const out = path.join(ROOT, '.ci/out', `test-dist-${randomBytes(4).toString('hex')}`);
afterAll(() => rmSync(out, { recursive: true, force: true }));

beforeAll(async () => {
  await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT });
  await bundleCli(path.join(out, 'agent/main.js'), path.join(out, 'cli'));
}, 120_000);

describe('the compiled CLI', () => {
  it('runs, and loads a TypeScript transforms module through tsx', async () => {
    writeFileSync(path.join(dir, 'hooks.ts'), "export function shout(v: unknown): string { return `${String(v).toUpperCase()}!`; }\n");
    writeFileSync(path.join(dir, 'a.csv'), 'id,n\n1,x\n2,y\n');
    writeFileSync(path.join(dir, 'b.csv'), 'id,n\n1,X!\n2,y\n');
    writeFileSync(
      path.join(dir, 'parity.yaml'),
      `version: 1
transforms: ./hooks.ts
systems: { a: { type: csv, path: a.csv }, b: { type: csv, path: b.csv } }
entities:
  e: { key: [id], source: { system: a, fields: { id: id, n: { from: n, transform: shout } } }, target: { system: b, fields: { id: id, n: n } } }
`,
    );
    const { stdout } = await run(process.execPath, [path.join(out, 'cli/main.js'), 'run', '--json', '--config', path.join(dir, 'parity.yaml')], { cwd: dir }).catch((e: { stderr: string }) => {
      throw new Error(`${e.stderr}`);
    });
    const report = parseReport(stdout);
    expect(report.entities[0].diff).toMatchObject({ matched: 1, changed: 1 });
    expect(report.entities[0].samples.changed).toEqual([{ key: '2', fields: { n: ['Y!', 'y'] } }]);
  });
});

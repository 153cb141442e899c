// Commands that only read the state store and the reports (list, runs, report, status) work
// without the systems' environment, as after the demo; a run still needs it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('state-only commands without the systems\' environment', () => {
  const dir = tempDir();
  const config = path.join(dir, 'parity.yaml');
  writeFileSync(path.join(dir, 'a.csv'), 'id,qty\n1,1\n');
  writeFileSync(
    config,
    `version: 1
state: sqlite:state.db
reports: { dir: reports, formats: [json, md] }
server: { host: 127.0.0.1, port: 1, token: "\${AGENT_TOKEN}" }
public: [SHOP_PORT]
systems:
  file: { type: csv, path: a.csv }
  shop: { type: http, baseUrl: "http://127.0.0.1:\${SHOP_PORT}", auth: { type: bearer, token: "\${SHOP_TOKEN}" } }
entities:
  local:
    key: id
    source: { system: file }
    target: { system: file }
`,
  );
  const env = { SHOP_PORT: '', SHOP_TOKEN: '', AGENT_TOKEN: '' };

  it('list, runs, report and status answer; run still says what is missing', async () => {
    const run = await runCli(['run', '--config', config], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/parity\.yaml:4: server\.token: environment variable AGENT_TOKEN is not set/);
    // One run with the environment set, to have something to show.
    const ok = await runCli(['run', '--config', config], { env: { SHOP_PORT: '9', SHOP_TOKEN: 'tok-abcdef', AGENT_TOKEN: 'agent-token-1' } });
    expect(ok.code, ok.stderr).toBe(0);

    const list = await runCli(['list', '--config', config], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('local: file -> file, key id');
    expect(list.stdout).toContain('not set in this environment (shown as 0): AGENT_TOKEN, SHOP_PORT, SHOP_TOKEN');
    const runs = await runCli(['runs', '--config', config], { env });
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/completed/);
    const report = await runCli(['report', '--config', config], { env });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('local');
    const status = await runCli(['status', '--config', config], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^source: the state store/);
  }, 60_000);
});

// Runs the real `parity` command as a child process and collects everything it prints.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Node's arguments that start the agent: the source as transpiled and bundled at the start of
 *  this test run by the global setup (build-agent.ts); a dist/ left over from an earlier build
 *  must not be what is tested. */
export function agentArgs(...args: string[]): string[] {
  return ['--enable-source-maps', path.join(inject('agentBuild'), 'cli/main.js'), ...args];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, agentArgs(...args), {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, PARITY_CONFIG: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// The `parity` command line (commander). Exit codes: 0 done, 1 the run failed,
// 2 usage or config error, 3 done but health below --fail-under.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeError, isParityError, ParityError } from '../core/errors.js';
import { abortAfterMs, onStopSignals } from './shutdown.js';
import { displayPath, loadConfig, resolveConfigPath, type LoadedConfig } from './config/load.js';
import { createLogger, type Logger } from './logger.js';
import { RunLogFiles } from './log-files.js';
import { DEFAULT_STATE_URL, StateStore } from './state/store.js';
import { listText, progressBar, statusText, summary } from './cli-text.js';
import { addRunsCommands } from './cli-runs.js';
import { findReport } from './reports.js';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { VERSION } from './version.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, underThreshold: 3 } as const;


export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

interface RunFlags {
  once?: boolean;
  full?: boolean;
  dryRun?: boolean;
  entities?: string[];
  json?: boolean;
  failUnder?: number;
  force?: string[];
  source?: string;
  filters?: string;
  filter?: string[];
  window?: string;
  exportDiff?: string;
}

function parseFailUnder(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a number from 0 to 100');
  return n;
}

function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('parity')
    .description('Compare two business systems entity by entity, measure their drift, and report it.')
    .version(VERSION)
    .option('-c, --config <path>', 'config file (default: ./parity.yaml, or $PARITY_CONFIG)')
    .addOption(new Option('--log-level <level>', 'log level (or $PARITY_LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run parity --help for usage)');

  /** `stateOnly`: the command reads the state store and reports, and never reaches a system. */
  const context = async (cmd: Command, stateOnly = false): Promise<{ loaded: LoadedConfig; logger: Logger; logFiles?: RunLogFiles }> => {
    const globals = cmd.optsWithGlobals<GlobalOptions>();
    const loaded = await loadConfig(resolveConfigPath(globals.config), process.env, { stateOnly });
    const logs = loaded.config.logs;
    if (!logs || stateOnly) return { loaded, logger: createLogger({ level: globals.logLevel }) };
    const logFiles = new RunLogFiles({ ...logs, dir: path.resolve(loaded.dataDir, logs.dir) });
    return { loaded, logger: createLogger({ level: globals.logLevel, files: logFiles.sink }), logFiles };
  };

  const addRunFlags = (cmd: Command) =>
    cmd
      .option('--full', 'read everything, not only what changed since the watermarks or within rolling windows, and rebuild the key index')
      .option('--entities <names>', 'only these entities, comma-separated (dependency order is kept)', parseList)
      .option('--json', 'print the report JSON on stdout instead of the summary')
      .option('--fail-under <score>', 'exit 3 when the health score is below this (0-100), or when no entity was compared', parseFailUnder)
      .option('--source <system>', 'only the entities whose source is this system')
      .option('--filters <json>', 'only source records whose fields equal these, e.g. \'{"status":"active"}\' (both sides are filtered; nothing is deleted and no watermark moves)')
      .option('--filter <field=value>', 'one equality filter; repeatable', (v: string, all: string[] = []) => [...all, v])
      .option('--export-diff <dir>', "write each entity's missing, extra and changed records to this folder, as CSV files and one workbook per entity (reads in full, as --full)")
      .option('--window <length>', "the entities' rolling windows for this run: a length (90d, 12h, 8w) in place of theirs, or all for none", parseWindow);

  const doRun = async (cmd: Command, flags: RunFlags, dryRun: boolean) => {
    const { loaded, logger: plainLogger, logFiles } = await context(cmd);
    let logger = plainLogger;
    const { runOnce, selectEntities } = await import('./run.js');
    selectEntities(loaded, flags.entities);
    // --force names entities like --entities does: an unknown one is a usage error.
    if (flags.force) selectEntities(loaded, flags.force);
    const filters = parseFilters(flags);
    const chosen = selectEntities(loaded, flags.entities, flags.source);
    if (filters) await (await import('./selection.js')).checkFilters(loaded, chosen, filters);
    const selection = flags.source || filters ? { source: flags.source, filters } : undefined;
    const store = await StateStore.open(loaded.config.state ?? DEFAULT_STATE_URL, loaded.dataDir);
    try {
      const { newProgress } = await import('./progress.js');
      const progress = newProgress('', 'cli', flags.full ? 'full' : 'incremental', chosen.length);
      // On a terminal, a bar on stderr (entities done, what the current one is doing). Log
      // lines go above it, and at info level only when asked for (--log-level): the bar says it.
      const bar = process.stderr.isTTY ? await progressBar(progress) : null;
      if (bar) logger = createLogger({ level: cmd.optsWithGlobals<GlobalOptions>().logLevel ?? process.env.PARITY_LOG_LEVEL ?? 'warn', write: bar.log, files: logFiles?.sink });
      const stopBar = () => bar?.stop();
      // SIGTERM or Ctrl-C: nothing new starts, the run is cancelled at the deadline and records itself.
      const drain = new AbortController();
      const abort = new AbortController();
      const undoSignals = onStopSignals((signal) => {
        logger.info({ signal }, 'stopping: nothing new starts; what is not sent stays pending for the next run');
        drain.abort();
        setTimeout(() => abort.abort(), abortAfterMs(loaded.config.agent.shutdownTimeoutS)).unref();
      }, io.err);
      const result = await runOnce(loaded, store, { full: flags.full || flags.exportDiff !== undefined, exportDiff: flags.exportDiff === undefined ? undefined : path.resolve(flags.exportDiff), dryRun, entities: flags.entities, trigger: 'cli', logger, progress, drain: drain.signal, signal: abort.signal, selection, window: flags.window, logFiles, force: flags.force ? { entities: flags.force, by: `${userInfo().username}@${hostname()}` } : undefined }).finally(() => {
        undoSignals();
        stopBar();
      });
      if (flags.json) io.out(`${JSON.stringify(result.report, null, 2)}\n`);
      else io.out(summary(result.report, result.files));
      if (result.status === 'cancelled') io.err('parity: the run was stopped before it finished (recorded as cancelled); the next run takes up the rest\n');
      else if (result.status === 'failed') exitCode = EXIT.failed;
      else if (flags.failUnder !== undefined && (result.report.health.score === null || result.report.health.score < flags.failUnder)) {
        const score = result.report.health.score;
        io.err(`parity: exit 3: ${score === null ? 'no entity was compared (health none)' : `health ${score} is below --fail-under ${flags.failUnder}`}\n`);
        exitCode = EXIT.underThreshold;
      }
    } finally {
      await store.close();
    }
  };

  addRunFlags(
    program
      .command('run')
      .description('run one reconciliation, write the reports, then exit (for cron)')
      .option('--once', 'run once and exit (the default; accepted for cron lines that say so)')
      .option('--dry-run', 'compare and report, write nothing to any system')
      .option('--force <names>', 'let these entities (comma-separated) past the safety guards for this run: a source that shrank (maxSourceDrop) or too many deletes (maxDeleteRatio); recorded in the report with who and when', parseList),
  ).action(async (flags: RunFlags & { dryRun?: boolean }, cmd: Command) => doRun(cmd, flags, flags.dryRun ?? false));

  addRunFlags(
    program
      .command('compare')
      .description('compare and report without writing to any system (same as run --dry-run)')
      .option('--dry-run', 'accepted: compare never writes'),
  ).action(
    async (flags: RunFlags, cmd: Command) => doRun(cmd, flags, true),
  );

  program
    .command('start')
    .description('the daemon: runs on the schedule and serves the status API until SIGTERM or SIGINT')
    .option('--interval <every>', 'incremental runs this often, e.g. 6h or 30m (overrides schedule.incremental)')
    .action(async (flags: { interval?: string }, cmd: Command) => {
      const { loaded, logger, logFiles } = await context(cmd);
      const { Agent } = await import('./daemon.js');
      const store = await StateStore.open(loaded.config.state ?? DEFAULT_STATE_URL, loaded.dataDir);
      const agent = new Agent(loaded, store, { logger, interval: flags.interval, logFiles });
      try {
        const { url } = await agent.start();
        io.err(`parity: agent serving ${url} (stop with SIGTERM or Ctrl-C)\n`);
      } catch (err) {
        await agent.stop().catch(() => undefined);
        throw err;
      }
      await new Promise<void>((resolve) => {
        onStopSignals((signal) => {
          logger.info({ signal }, 'shutting down');
          agent.stop().then(resolve, (err: unknown) => {
            logger.error({ err: describeError(err) }, 'shutdown failed');
            resolve();
          });
        }, io.err);
      });
      logger.flush?.();
    });

  program
    .command('status')
    .description("the agent's state: from the running agent's API when one answers, else from the state store")
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { loaded } = await context(cmd, true);
      const { agentStatus } = await import('./status.js');
      const status = await agentStatus(loaded);
      io.out(flags.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
    });

  program
    .command('validate')
    .description('check the config and reach every system, table and endpoint; one line per check')
    .action(async (_flags: unknown, cmd: Command) => {
      const { loaded } = await context(cmd);
      const { formatCheckLines, validateConfig } = await import('./validate.js');
      const lines = await validateConfig(loaded);
      io.out(`${formatCheckLines(lines)}\n`);
      const failed = lines.filter((l) => !l.ok && !l.skipped).length;
      io.out(failed ? `${failed} check${failed > 1 ? 's' : ''} failed\n` : 'all checks passed\n');
      if (failed) exitCode = EXIT.failed;
    });

  addRunsCommands(program, { io, open: async (cmd) => {
    const { loaded } = await context(cmd, true);
    return StateStore.open(loaded.config.state ?? DEFAULT_STATE_URL, loaded.dataDir);
  } });

  program
    .command('export')
    .description("stream one side of an entity to a CSV or xlsx file (by the extension), with the entity's field names and the values as parity compares them")
    .argument('<entity>', 'an entity of the config (parity list shows them)')
    .addOption(new Option('--side <side>', 'which side to read').choices(['source', 'target']).default('source'))
    .requiredOption('--out <file>', 'the file to write: name.csv or name.xlsx')
    .action(async (entityName: string, flags: { side: 'source' | 'target'; out: string }, cmd: Command) => {
      const { loaded } = await context(cmd);
      const { exportSide } = await import('./export.js');
      const file = path.resolve(flags.out);
      const result = await exportSide(loaded, entityName, flags.side, file);
      io.err(`parity: ${result.rows} ${flags.side} record${result.rows === 1 ? '' : 's'} of ${entityName} written to ${displayPath(file)}${result.invalid ? ` (${result.invalid} invalid left out: parity compare lists them)` : ''}\n`);
    });

  program
    .command('report')
    .description('print a run\'s report: RUN_ID, or latest (the default)')
    .argument('[runId]', 'a run id from `parity runs`, or latest', 'latest')
    .addOption(new Option('--format <format>', 'which file').choices(['md', 'json', 'html']).default('md'))
    .action(async (runId: string, flags: { format: string }, cmd: Command) => {
      const { loaded } = await context(cmd, true);
      const dir = path.resolve(loaded.dataDir, loaded.config.reports.dir);
      const file = findReport(dir, runId, flags.format);
      if (!file) throw new ParityError('PARITY_USAGE', `no ${flags.format} report for ${runId === 'latest' ? 'the latest run' : `run ${runId}`} in ${displayPath(dir)} (see parity runs; reports older than reports.retentionDays are removed)`);
      io.out(readFileSync(file, 'utf8'));
    });

  program
    .command('list')
    .description('show the configured systems and entities, in dependency order')
    .action(async (_flags: unknown, cmd: Command) => {
      const { loaded } = await context(cmd, true);
      io.out(listText(loaded));
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    io.err(`parity: ${describeError(err)}\n`);
    if (process.env.PARITY_DEBUG && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    if (isParityError(err) && err.kind === 'config') return EXIT.usage;
    return EXIT.failed;
  }
}

/** --filters '{"status":"active"}' and --filter status=active, as field → canonical text. */
function parseFilters(flags: { filters?: string | undefined; filter?: string[] | undefined }): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (flags.filters !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.filters);
    } catch {
      throw new ParityError('PARITY_USAGE', `--filters: not JSON (write '{"field":"value"}')`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ParityError('PARITY_USAGE', `--filters: not a JSON object (write '{"field":"value"}')`);
    for (const [k, v] of Object.entries(parsed)) {
      if (v === null || typeof v === 'object') throw new ParityError('PARITY_USAGE', `--filters: "${k}" must be text, a number or true/false`);
      out[k] = String(v);
    }
  }
  for (const f of flags.filter ?? []) {
    const at = f.indexOf('=');
    if (at <= 0) throw new ParityError('PARITY_USAGE', `--filter ${f}: write field=value`);
    out[f.slice(0, at)] = f.slice(at + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

function parseWindow(value: string): string {
  if (value === 'all' || /^\d+[hdw]$/.test(value)) return value;
  throw new InvalidArgumentError('use a length such as 90d, 12h or 8w, or all');
}

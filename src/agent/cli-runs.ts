// `parity runs` (the history) and `parity runs show RUN_ID` (one run: its entities, its log
// file and its per-record history), read from the state store.
import { InvalidArgumentError, type Command } from 'commander';
import { ParityError } from '../core/errors.js';
import { runsText } from './cli-text.js';
import type { RunRecord } from './state/run-records.js';
import { RUN_RECORD_STATUSES, type RunRecordStatus } from './state/run-records.js';
import type { StateStore } from './state/store.js';

type RunDetail = NonNullable<Awaited<ReturnType<StateStore['getRun']>>>;

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of 1 or more');
  return n;
}

function parseStatus(value: string): RunRecordStatus {
  if (!(RUN_RECORD_STATUSES as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of ${RUN_RECORD_STATUSES.join(', ')}`);
  return value as RunRecordStatus;
}

interface ShowFlags {
  errors?: boolean;
  status?: RunRecordStatus;
  entity?: string;
  after?: number;
  json?: boolean;
}

export function addRunsCommands(program: Command, deps: { io: { out: (text: string) => void }; open: (cmd: Command) => Promise<StateStore> }): void {
  const withStore = async <T>(cmd: Command, fn: (store: StateStore) => Promise<T>): Promise<T> => {
    const store = await deps.open(cmd);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };

  // One command with an optional `show RUN_ID`: its options and the list's share their names
  // (--limit, --json), which commander cannot tell apart between a command and its subcommand.
  program
    .command('runs')
    .description('the run history from the state store, newest first; runs show RUN_ID: one run, its entities, its log file and its per-record history')
    .argument('[show]', 'show: one run instead of the list')
    .argument('[runId]', 'with show: a run ID from parity runs (its first 8 characters are enough)')
    .option('--limit <n>', 'how many runs (default: 20); with show --errors, records per page (50 when not given)', parseCount)
    .option('--json', 'print JSON')
    .option('--errors', 'with show: list the records that were rejected, quarantined, invalid or still differing, a page at a time')
    .option('--status <status>', `with show: only records of this status: ${RUN_RECORD_STATUSES.join(', ')} (implies --errors)`, parseStatus)
    .option('--entity <name>', 'with show: only records of this entity (implies --errors)')
    .option('--after <n>', 'with show: the page after this record (the "next" a page ends with)', (v: string) => Number(parseCount(v)))
    .action(async (show: string | undefined, runId: string | undefined, flags: ShowFlags & { limit?: number }, cmd: Command) => {
      if (show !== undefined && show !== 'show') throw new ParityError('PARITY_USAGE', `parity runs ${show}: did you mean parity runs show ${show}?`);
      if (show && !runId) throw new ParityError('PARITY_USAGE', 'parity runs show needs a run ID (see parity runs)');
      const listing = flags.errors || flags.status || flags.entity || flags.after !== undefined;
      if (!show && listing) throw new ParityError('PARITY_USAGE', '--errors, --status, --entity and --after go with parity runs show RUN_ID');
      await withStore(cmd, async (store) => {
        if (!show) {
          const list = await store.listRuns(flags.limit ?? 20);
          deps.io.out(flags.json ? `${JSON.stringify(list, null, 2)}\n` : runsText(list));
          return;
        }
        const id = await store.resolveRunId(runId!);
        if (id === 'ambiguous') throw new ParityError('PARITY_USAGE', `run ID prefix ${runId} matches several runs: give more of it`);
        const run = id ? await store.getRun(id) : null;
        if (!run) throw new ParityError('PARITY_USAGE', `no run ${runId} in the state store (see parity runs)`);
        const counts = await store.runRecordCounts(run.run.id);
        const page = listing ? await store.runRecords(run.run.id, { status: flags.status, entity: flags.entity, limit: flags.limit ?? 50, after: flags.after }) : null;
        if (flags.json) deps.io.out(`${JSON.stringify({ ...run, records: counts, ...(page ? { page } : {}) }, null, 2)}\n`);
        else deps.io.out(runShowText(run, counts, page));
      });
    });
}

/** `parity runs show`: the run, its entities, its log file, its records (a page, when asked). */
export function runShowText(detail: RunDetail, counts: Partial<Record<RunRecordStatus, number>>, page: { records: (RunRecord & { id: number })[]; next: number | null } | null): string {
  const r = detail.run;
  const health = r.healthScore === null ? 'health none' : `health ${r.healthScore.toFixed(2)} (${r.healthStatus})`;
  const took = r.durationMs === null ? '' : `, took ${(r.durationMs / 1000).toFixed(1)} s`;
  const lines = [`run ${r.id}: ${r.status}, ${r.mode}${r.dryRun ? ', dry run' : ''}, ${r.trigger}, started ${r.startedAt.toISOString()}${took}, ${health}`];
  if (r.error) lines.push(`error: ${r.error}`);
  lines.push(`log file: ${r.logFile ?? 'none (set logs: in the config to keep one)'}`);
  if (detail.entities.length) {
    const width = Math.max(6, ...detail.entities.map((e) => e.entity.length));
    lines.push('', `${'entity'.padEnd(width)}  ${'outcome'.padEnd(11)}  ${'match'.padStart(7)}  ${'source'.padStart(8)}  ${'target'.padStart(8)}  diff`);
    for (const e of detail.entities) {
      const d = Object.entries(e.diff).filter(([k, v]) => k !== 'matched' && v > 0).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
      lines.push(`${e.entity.padEnd(width)}  ${e.outcome.padEnd(11)}  ${`${e.match.toFixed(2)}%`.padStart(7)}  ${String(e.sourceCount).padStart(8)}  ${String(e.targetCount).padStart(8)}  ${d}${e.error ? `  (${e.error})` : ''}`);
    }
  }
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  const parts = RUN_RECORD_STATUSES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
  lines.push('', total ? `records: ${parts.join(', ')}${page ? '' : ` (parity runs show ${r.id.slice(0, 8)} --errors lists them)`}` : 'records: none rejected, quarantined, invalid or still differing');
  if (page) {
    if (page.records.length === 0) lines.push('no records match');
    else {
      const ew = Math.max(6, ...page.records.map((x) => x.entity.length));
      const kw = Math.min(40, Math.max(3, ...page.records.map((x) => x.key.length)));
      lines.push(`${'entity'.padEnd(ew)}  ${'side'.padEnd(6)}  ${'key'.padEnd(kw)}  ${'status'.padEnd(11)}  reason`);
      for (const x of page.records) lines.push(`${x.entity.padEnd(ew)}  ${x.side.padEnd(6)}  ${x.key.padEnd(kw)}  ${x.status.padEnd(11)}  ${x.reason ?? ''}`);
    }
    if (page.next !== null) lines.push(`… more: add --after ${page.next}`);
  }
  return `${lines.join('\n')}\n`;
}


// The agent behind `parity start`: the schedule, one run at a time, the status server, the
// metrics, alerts, and a graceful shutdown.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { describeError, ParityError } from '../core/errors.js';
import type { RunReport } from '../reconcile/report.js';
import type { SystemRuntimes } from './runtimes.js';
import { Alerter, alertMessage, decideAlert, type AlertEvent, type AlertState } from './alerts.js';
import type { LoadedConfig } from './config/load.js';
import { DEFAULT_SERVER } from './config/schema.js';
import type { Logger } from './logger.js';
import type { RunLogFiles } from './log-files.js';
import { AgentMetrics } from './metrics.js';
import { newProgress, type RunProgress } from './progress.js';
import { PROCESS_HOLDER } from './holder.js';
import { missedSlot, schedulesInForce, Trigger } from './schedule.js';
import { createStatusApp } from './server.js';
import { abortAfterMs } from './shutdown.js';
import type { StateStore } from './state/store.js';
import { VERSION } from './version.js';

export interface RunRequest {
  mode: 'incremental' | 'full';
  entities?: string[];
  dryRun?: boolean;
  trigger: 'schedule' | 'api';
}

export interface AgentOptions {
  logger: Logger;
  /** --interval: overrides schedule.incremental. */
  interval?: string;
  holder?: string;
  logFiles?: RunLogFiles | undefined; // config `logs`: each run's lines go to its file too
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const GAUGE_REFRESH_MS = 5000;
/** The last run as /status shows it: from this agent's memory, or from the state store at start. */
interface LastRun {
  runId: string;
  status: string;
  health: { score: number | null; status: string | null; overallMatch?: number | null } | null;
  finishedAt: string | null;
  error: string | null;
}

export class Agent {
  readonly metrics = new AgentMetrics();
  readonly holder: string;
  readonly startedAt = new Date();
  private readonly triggers: Trigger[] = [];
  private current: { progress: RunProgress; done: Promise<void>; abort: AbortController } | null = null;
  private last: LastRun | null = null;
  private alertState: AlertState = { band: null, failed: false, alerting: false };
  private alerter: Alerter | null = null;
  private server: ServerType | null = null;
  private stopping = false;
  /** Aborted when the agent starts to stop: the current run starts nothing new. */
  private readonly draining = new AbortController();
  private outboxPending = 0;
  /** The systems' runtimes, kept across runs (a breaker that opened stays open); made at the first run. */
  private runtimes: SystemRuntimes | null = null;
  /** A scheduled full run that came while an incremental one ran: it runs next. */
  private queuedFull: RunRequest | null = null;
  private gaugeTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  readonly timezone: string;
  readonly reportsDir: string;

  constructor(
    readonly loaded: LoadedConfig,
    readonly store: StateStore,
    private readonly options: AgentOptions,
  ) {
    this.holder = options.holder ?? PROCESS_HOLDER;
    this.log = options.logger.child({ agent: this.holder });
    this.timezone = loaded.config.schedule?.timezone ?? 'UTC';
    this.reportsDir = path.resolve(loaded.dataDir, loaded.config.reports.dir);
    const webhook = loaded.config.alerts?.webhook;
    if (webhook) this.alerter = new Alerter(webhook, this.log);
  }

  /** Resolves when no run is in progress. */
  async whenIdle(): Promise<void> {
    while (this.current) await this.current.done;
  }

  get running(): RunProgress | null {
    return this.current?.progress ?? null;
  }

  /**
   * Starts a run unless one is in progress (then the trigger is skipped, logged with the
   * reason and counted). Returns the run ID, or null when skipped.
   */
  trigger(request: RunRequest): string | null {
    if (this.stopping) {
      this.skip(request, 'the agent is shutting down');
      return null;
    }
    if (this.current) {
      // A scheduled full run that meets an incremental one runs next (one waits at most).
      if (request.trigger === 'schedule' && request.mode === 'full' && this.current.progress.mode !== 'full') {
        this.queuedFull = request;
        this.log.info({ after: this.current.progress.runId }, 'full run queued: it starts when the current run ends');
        return null;
      }
      this.skip(request, `run ${this.current.progress.runId} is still in progress`);
      return null;
    }
    const runId = randomUUID();
    const progress = newProgress(runId, request.trigger, request.mode, this.loaded.entities.length);
    const abort = new AbortController();
    const done = this.execute(request, progress, abort).finally(() => {
      this.current = null;
      this.metrics.running.set(0);
      const queued = this.queuedFull;
      this.queuedFull = null;
      if (queued && !this.stopping) this.trigger(queued);
    });
    this.current = { progress, done, abort };
    this.metrics.running.set(1);
    return runId;
  }

  private skip(request: RunRequest, reason: string): void {
    this.metrics.skipped.inc({ reason: reason.startsWith('run ') ? 'run in progress' : reason });
    this.log.warn({ trigger: request.trigger, mode: request.mode, reason }, 'trigger skipped');
  }

  private async execute(request: RunRequest, progress: RunProgress, abort: AbortController): Promise<void> {
    let report: RunReport | null = null;
    let status: 'completed' | 'failed' | 'cancelled' = 'failed';
    let error: string | null = null;
    try {
      // Loaded at the first run: an idle agent does not hold the collectors in memory.
      const { runOnce } = await import('./run.js');
      if (!this.runtimes) this.runtimes = await (await import('./runtimes.js')).SystemRuntimes.create(this.loaded.config.systems);
      const result = await runOnce(this.loaded, this.store, {
        runtimes: this.runtimes,
        runId: progress.runId,
        full: request.mode === 'full',
        dryRun: request.dryRun ?? false,
        entities: request.entities,
        trigger: request.trigger,
        logger: this.options.logger,
        logFiles: this.options.logFiles,
        holder: this.holder,
        leaseTtlMs: this.loaded.config.agent.leaseTtlS * 1000,
        progress,
        drain: this.draining.signal,
        signal: abort.signal,
      });
      report = result.report;
      status = result.status;
      if (status === 'failed') error = report.entities.filter((e) => e.outcome === 'failed').map((e) => `${e.name}: ${e.error}`).join('; ');
      this.metrics.recordRun(report, status);
    } catch (err) {
      error = describeError(err);
      this.metrics.runs.inc({ status: 'failed', trigger: request.trigger });
      this.log.error({ runId: progress.runId, err: error }, 'run failed');
    } finally {
      progress.phase = 'done';
    }
    this.last = { runId: progress.runId, status, health: report?.health ?? null, finishedAt: new Date().toISOString(), error };
    await this.refreshGauges();
    // A run cut short by a shutdown says nothing about the systems: no alert.
    if (!(request.dryRun ?? false) && status !== 'cancelled') await this.alert(report, status, error);
  }

  private async alert(report: RunReport | null, status: 'completed' | 'failed', error: string | null): Promise<void> {
    const on: AlertEvent[] = this.loaded.config.alerts?.on ?? [];
    const previous = this.alertState;
    const { event, next } = decideAlert(previous, report, status, on);
    this.alertState = next;
    if (event && this.alerter) await this.alerter.send(alertMessage(event, report, previous, error));
  }

  private async refreshGauges(): Promise<void> {
    try {
      this.outboxPending = await this.store.pendingCount();
      this.metrics.outboxPending.set(this.outboxPending);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not count pending batches');
    }
    for (const [system, state] of Object.entries(this.runtimes?.breakerStates() ?? {})) this.metrics.breaker.set({ system }, state === 'open' ? 1 : state === 'half-open' ? 0.5 : 0);
  }

  /** /status, from memory only: fast however many ask while a run keeps the store busy. */
  status(): Record<string, unknown> {
    const last = this.last;
    return {
      version: VERSION,
      agent: this.holder,
      uptimeS: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      state: this.current ? 'running' : 'idle',
      queued: this.queuedFull?.mode ?? null,
      current: this.current?.progress ?? null,
      lastRun: last,
      next: this.triggers.map((t) => ({ kind: t.kind, schedule: t.spec.text, at: t.next?.toISOString() ?? null })),
      breakers: this.runtimes?.breakerStates() ?? {},
      outboxPending: this.outboxPending,
    };
  }

  private async lastFromStore(): Promise<LastRun | null> {
    const [run] = await this.store.listRuns(1);
    if (!run) return null;
    return { runId: run.id, status: run.status, health: run.healthScore === null ? null : { score: run.healthScore, status: run.healthStatus }, finishedAt: run.finishedAt?.toISOString() ?? null, error: run.error };
  }

  /** Starts the server and the schedule; runs once at start when a slot was missed or runOnStart is set. */
  async start(): Promise<{ url: string }> {
    const server = this.loaded.config.server ?? DEFAULT_SERVER;
    const token = server.token || undefined;
    if (!token && !LOOPBACK.has(server.host)) {
      throw new ParityError('PARITY_CONFIG_INVALID', `server.host "${server.host}" is not a loopback address: set server.token (from the environment) before serving on the network`);
    }
    const schedules = schedulesInForce(this.loaded.config.schedule, this.options.interval, this.timezone);
    // The alert state and the catch-up start from what the state store remembers.
    const [lastRun] = await this.store.listRuns(1);
    if (lastRun) this.alertState = { band: lastRun.healthStatus, failed: lastRun.status === 'failed', alerting: lastRun.status === 'failed' || lastRun.healthStatus === 'critical' };
    this.last = await this.lastFromStore();
    // /metrics shows the last run's health from the start, not 0 until the next run.
    if (typeof this.last?.health?.score === 'number') this.metrics.health.set(this.last.health.score);
    const app = createStatusApp(this, { token, reportsDir: this.reportsDir });
    const url = await new Promise<string>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: server.port, hostname: server.host }, (info) => resolve(`http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${info.port}`));
      s.once('error', (err: NodeJS.ErrnoException) => reject(new ParityError('PARITY_USAGE', `cannot serve on ${server.host}:${server.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : describeError(err)}`)));
      this.server = s;
    });
    await this.refreshGauges();
    // The pending count moves while a run sends batches: refreshed every few seconds.
    this.gaugeTimer = setInterval(() => void this.refreshGauges(), GAUGE_REFRESH_MS);
    this.gaugeTimer.unref();
    for (const { kind, spec } of schedules) {
      const t = new Trigger(kind, spec, this.timezone, (k) => this.trigger({ mode: k, trigger: 'schedule' }));
      t.start();
      this.triggers.push(t);
    }
    const now = new Date();
    const lastStart = await this.store.lastCompletedRunStart();
    const missed = schedules.find(({ spec }) => missedSlot(spec, lastStart, now, this.timezone));
    if (missed) {
      this.log.info({ kind: missed.kind, lastRun: lastStart?.toISOString() }, 'a scheduled run was missed while the agent was down: running it once now');
      this.trigger({ mode: missed.kind, trigger: 'schedule' });
    } else if (this.loaded.config.schedule?.runOnStart) {
      this.trigger({ mode: 'incremental', trigger: 'schedule' });
    }
    this.log.info({ url, schedules: schedules.map((s) => `${s.kind}: ${s.spec.text}`), auth: token ? 'bearer token' : 'none (loopback only)' }, 'agent started');
    return { url };
  }

  /**
   * Graceful stop: no new trigger, the current run sends no further batch (what it has not
   * sent stays pending in the outbox), waits up to the deadline for it, closes the server
   * (idle connections too) and the state store.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.draining.abort();
    clearInterval(this.gaugeTimer);
    for (const t of this.triggers) t.cancel();
    if (this.current) {
      const deadline = this.loaded.config.agent.shutdownTimeoutS * 1000;
      this.log.info({ runId: this.current.progress.runId, deadlineS: deadline / 1000 }, 'waiting for the current batch to finish');
      // The last part of the deadline is kept for cancelling: the run is aborted, records
      // itself `cancelled` and lets go of the state store before it is closed.
      const abortAt = abortAfterMs(this.loaded.config.agent.shutdownTimeoutS);
      const within = (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        return Promise.race([
          this.current!.done.then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), ms);
          }),
        ]).finally(() => clearTimeout(timer));
      };
      if (!(await within(abortAt)) && this.current) {
        this.log.warn({ runId: this.current.progress.runId }, 'the run did not finish before the deadline: cancelling it; its unsent batches stay pending in the outbox');
        this.current.abort.abort();
        if (!(await within(deadline - abortAt))) this.log.warn('the cancelled run did not let go in time; closing anyway');
      }
    }
    const s = this.server;
    this.server = null;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        (s as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        (s as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
    this.runtimes?.close();
    await this.store.close().catch(() => undefined);
    this.log.info('agent stopped');
  }
}

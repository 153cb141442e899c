// Prometheus metrics of the agent (prom-client, in a registry of its own so that nothing
// else in the process adds to or reads from it).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunReport } from '../reconcile/report.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly runs = new Counter({ name: 'parity_runs_total', help: 'Runs by outcome (completed, failed).', labelNames: ['status', 'trigger'], registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'parity_run_duration_seconds',
    help: 'How long runs took.',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600],
    registers: [this.registry],
  });
  readonly health = new Gauge({ name: 'parity_health_score', help: 'Health score of the last run (0-100).', registers: [this.registry] });
  readonly entityMatch = new Gauge({ name: 'parity_entity_match_percent', help: 'Match % per entity in the last run.', labelNames: ['entity'], registers: [this.registry] });
  readonly entityCount = new Gauge({ name: 'parity_entity_records', help: 'Diff counts per entity in the last run.', labelNames: ['entity', 'kind'], registers: [this.registry] });
  readonly pushed = new Counter({ name: 'parity_records_pushed_total', help: 'Records pushed, by the status the target answered.', labelNames: ['entity', 'status'], registers: [this.registry] });
  readonly outboxPending = new Gauge({ name: 'parity_outbox_pending_batches', help: 'Batches waiting in the outbox.', registers: [this.registry] });
  readonly breaker = new Gauge({ name: 'parity_breaker_open', help: 'Circuit breaker per system: 0 closed, 0.5 half-open, 1 open.', labelNames: ['system'], registers: [this.registry] });
  readonly skipped = new Counter({ name: 'parity_skipped_triggers_total', help: 'Schedule or API triggers skipped, by reason.', labelNames: ['reason'], registers: [this.registry] });
  readonly running = new Gauge({ name: 'parity_run_in_progress', help: '1 while a run is in progress.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  recordRun(report: RunReport, status: 'completed' | 'failed' | 'cancelled'): void {
    this.runs.inc({ status, trigger: report.trigger });
    this.duration.observe(report.durationMs / 1000);
    if (report.health.score !== null) this.health.set(report.health.score);
    for (const e of report.entities) {
      this.entityMatch.set({ entity: e.name }, e.match);
      for (const [kind, n] of Object.entries(e.diff)) this.entityCount.set({ entity: e.name, kind }, n);
      if (!report.dryRun) for (const status of ['created', 'updated', 'deleted', 'unchanged', 'rejected'] as const) if (e.sync[status]) this.pushed.inc({ entity: e.name, status }, e.sync[status]);
    }
  }
}

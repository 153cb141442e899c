// The agent's schedule: `every <n>(s|m|h|d)` or a cron expression, in a timezone. node-schedule
// fires the triggers (cron expressions through its cron-parser, intervals as one-off jobs
// rescheduled after each firing); cron-parser also answers "was a slot due since the last run?"
// for the catch-up at start.
import { createRequire } from 'node:module';
import type CronParser from 'cron-parser';
import type Schedule from 'node-schedule';
import { ParityError } from '../core/errors.js';

// Loaded when first used: a config without a schedule, and every command but the daemon, never pay for them.
const load = createRequire(import.meta.url);
const cron = (): typeof CronParser => load('cron-parser') as typeof CronParser;
const scheduler = (): typeof Schedule => load('node-schedule') as typeof Schedule;

export type ScheduleKind = 'incremental' | 'full';

export type ScheduleSpec = { kind: 'every'; ms: number; text: string } | { kind: 'cron'; expression: string; text: string };

const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "every 30m", "6h" (for --interval) or a cron expression; null with the reason when it is neither. */
export function parseSchedule(text: string, timezone = 'UTC'): ScheduleSpec | string {
  const every = /^(?:every\s+)?(\d+)\s*(s|m|h|d)$/i.exec(text.trim());
  if (every) {
    const ms = Number(every[1]) * UNITS[every[2]!.toLowerCase() as keyof typeof UNITS];
    if (ms <= 0) return 'an interval must be longer than 0';
    return { kind: 'every', ms, text: text.trim() };
  }
  try {
    cron().parseExpression(text, { tz: timezone });
  } catch (err) {
    return `"${text}" is neither "every <n>(s|m|h|d)" nor a cron expression (${err instanceof Error ? err.message : String(err)})`;
  }
  return { kind: 'cron', expression: text.trim(), text: text.trim() };
}

/** Whether a timezone name is one the runtime knows. */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first slot after `from`. */
export function nextSlot(spec: ScheduleSpec, from: Date, timezone: string): Date {
  if (spec.kind === 'every') return new Date(from.getTime() + spec.ms);
  return cron().parseExpression(spec.expression, { currentDate: from, tz: timezone }).next().toDate();
}

/** Whether at least one slot fell between the last run's start and now (then one catch-up run is due). */
export function missedSlot(spec: ScheduleSpec, lastRun: Date | null, now: Date, timezone: string): boolean {
  if (!lastRun) return false;
  return nextSlot(spec, lastRun, timezone).getTime() <= now.getTime();
}

/** A running schedule: calls `fire` at each slot until cancelled. */
export class Trigger {
  private job: Schedule.Job | null = null;
  private cancelled = false;
  next: Date | null = null;

  constructor(
    readonly kind: ScheduleKind,
    readonly spec: ScheduleSpec,
    private readonly timezone: string,
    private readonly fire: (kind: ScheduleKind) => void,
  ) {}

  start(): void {
    if (this.spec.kind === 'cron') {
      this.job = scheduler().scheduleJob({ rule: this.spec.expression, tz: this.timezone }, () => {
        this.next = nextOf(this.job);
        this.fire(this.kind);
      });
      this.next = nextOf(this.job);
      return;
    }
    this.armInterval(new Date(Date.now() + this.spec.ms));
  }

  private armInterval(at: Date): void {
    if (this.cancelled || this.spec.kind !== 'every') return;
    const every = this.spec.ms;
    this.next = at;
    this.job = scheduler().scheduleJob(at, () => {
      // The next slot counts from this one, so a slow run does not shift the grid.
      let next = at.getTime() + every;
      while (next <= Date.now()) next += every;
      this.armInterval(new Date(next));
      this.fire(this.kind);
    });
  }

  cancel(): void {
    this.cancelled = true;
    this.job?.cancel();
    this.job = null;
    this.next = null;
  }
}

/** node-schedule types nextInvocation() as a Date; for cron rules it is a CronDate. */
function nextOf(job: Schedule.Job | null): Date | null {
  const n = job?.nextInvocation() as unknown as { toDate?: () => Date } | Date | null | undefined;
  if (!n) return null;
  return typeof (n as { toDate?: () => Date }).toDate === 'function' ? (n as { toDate: () => Date }).toDate() : new Date(n as Date);
}

/** The schedules in force, from the config's `schedule`; --interval replaces the incremental one. */
export function schedulesInForce(s: { incremental?: string | undefined; full?: string | undefined } | undefined, interval: string | undefined, timezone: string): { kind: ScheduleKind; spec: ScheduleSpec }[] {
  const out: { kind: ScheduleKind; spec: ScheduleSpec }[] = [];
  const texts: [ScheduleKind, string | undefined, string][] = [
    ['incremental', interval ?? s?.incremental, interval ? '--interval' : 'schedule.incremental'],
    ['full', s?.full, 'schedule.full'],
  ];
  for (const [kind, text, where] of texts) {
    if (!text) continue;
    const spec = parseSchedule(text, timezone);
    if (typeof spec === 'string') throw new ParityError('PARITY_USAGE', `${where}: ${spec}`);
    out.push({ kind, spec });
  }
  return out;
}

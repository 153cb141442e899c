// Alerts to a webhook (Slack-compatible `text`, plus the structured summary): when the health
// band gets worse, when a run fails, and when it recovers. Sent with retries; an alert that
// cannot be delivered is logged and never fails the run.
import type { AxiosInstance } from 'axios';
import { describeError } from '../core/errors.js';
import type { RunReport } from '../reconcile/report.js';
import type { Logger } from './logger.js';

export type AlertEvent = 'critical' | 'degraded' | 'failed' | 'recovered';
const ORDER = ['critical', 'warning', 'good', 'perfect'];

export interface AlertState {
  /** The band of the last completed run, or null. */
  band: string | null;
  /** Whether the last run failed. */
  failed: boolean;
  /** Whether an alert is standing (a failure or a drop not yet recovered from). */
  alerting: boolean;
}

/** Which alert, if any, a run calls for, and the state after it. */
export function decideAlert(previous: AlertState, report: RunReport | null, status: 'completed' | 'failed', on: readonly AlertEvent[]): { event: AlertEvent | null; next: AlertState } {
  if (status === 'failed') {
    const event = on.includes('failed') && !previous.failed ? 'failed' : null;
    return { event, next: { band: report?.health.status ?? previous.band, failed: true, alerting: previous.alerting || event !== null } };
  }
  // A run that compared nothing says nothing about the band.
  const band = report!.health.status ?? previous.band;
  if (band === null) return { event: null, next: previous };
  const worse = previous.band !== null && ORDER.indexOf(band) < ORDER.indexOf(previous.band);
  const better = previous.band !== null && ORDER.indexOf(band) > ORDER.indexOf(previous.band);
  let event: AlertEvent | null = null;
  if (worse && (on.includes('degraded') || (on.includes('critical') && band === 'critical'))) event = band === 'critical' && on.includes('critical') ? 'critical' : 'degraded';
  else if (previous.alerting && (previous.failed || better) && on.includes('recovered')) event = 'recovered';
  const alerting = event === 'critical' || event === 'degraded' ? true : event === 'recovered' ? false : previous.alerting;
  return { event, next: { band, failed: false, alerting } };
}

export function alertMessage(event: AlertEvent, report: RunReport | null, previous: AlertState, error: string | null): Record<string, unknown> {
  const h = report?.health;
  const text =
    event === 'failed'
      ? `parity: run ${report?.runId ?? ''} failed${error ? `: ${error}` : ''}`
      : event === 'recovered'
        ? `parity: recovered, health ${h!.score?.toFixed(2)} (${h!.status})`
        : `parity: health fell from ${previous.band} to ${h!.status} (${h!.score?.toFixed(2)})`;
  return {
    text,
    event,
    runId: report?.runId ?? null,
    health: h ?? null,
    previousBand: previous.band,
    error,
    entities: (report?.entities ?? []).map((e) => ({ name: e.name, status: e.status, outcome: e.outcome, match: e.match, error: e.error })),
  };
}

export class Alerter {
  private http: AxiosInstance | undefined;

  constructor(
    private readonly webhook: string,
    private readonly log: Logger,
    private readonly retries = 3,
  ) {}

  private async client(): Promise<AxiosInstance> {
    if (!this.http) {
      const { default: axios } = await import('axios');
      const { default: axiosRetry } = await import('axios-retry');
      // The webhook URL is a secret of its own: a redirect would hand the alert to another host.
      this.http = axios.create({ timeout: 10_000, maxRedirects: 0 });
      axiosRetry(this.http, { retries: this.retries, retryDelay: (n) => Math.min(5000, 200 * 2 ** n), retryCondition: (e) => !e.response || e.response.status >= 500 || e.response.status === 429 });
    }
    return this.http;
  }

  async send(message: Record<string, unknown>): Promise<boolean> {
    try {
      await (await this.client()).post(this.webhook, message, { headers: { 'Content-Type': 'application/json' } });
      this.log.info({ event: message.event }, 'alert sent');
      return true;
    } catch (err) {
      this.log.error({ event: message.event, err: describeError(err) }, 'alert could not be delivered');
      return false;
    }
  }
}

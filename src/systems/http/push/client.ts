// Sends one outbox batch to an HTTP target. Composition, outermost first: retries
// (axios-retry, POST included: every push is idempotent) → the system's circuit breaker
// (opossum, no fallback) → the attempt's timeout (axios timeout plus the run's AbortSignal)
// → HTTP.
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type CircuitBreaker from 'opossum';
import { describeError, ParityError } from '../../../core/errors.js';
import type { AuthProvider, AuthSystem } from '../../../core/http-auth.js';
import { guardHttp, type RedirectPolicy } from '../../../core/http-guard.js';
import type { ErrorCode } from '../../../core/errors.js';
import { classifyHttp, failureOf, MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../core/failure.js';
import type { RetryPolicy } from '../../../core/retry.js';
import type { OutboxBatch, RecordOutcome } from '../../../push/types.js';
import { gateAndRetry, HttpRuntime } from '../runtime.js';
import { shapeRequest, type PushHooks, type WireBatch } from './hooks.js';

export interface PushSystem extends AuthSystem {
  baseUrl: string;
  headers: Record<string, string>;
  timeoutMs: number;
  followRedirects?: RedirectPolicy | undefined;
  retry?: RetryPolicy | undefined;
  breaker?: { errorThresholdPercentage: number; resetTimeoutMs: number; volumeThreshold: number } | undefined;
}

export const DEFAULT_WRITE_RETRY: RetryPolicy = { retries: 5, baseMs: 500, maxMs: 30_000 };

export type SendResult =
  | { kind: 'done'; outcomes: RecordOutcome[] }
  /** Not answered: keep the batch pending (until `notBefore`, when the target asked to wait). */
  | { kind: 'later'; error: string; notBefore: Date | null }
  /** The target refused the whole batch (400, 422): quarantined with the reason. */
  | { kind: 'refused'; reason: string }
  /** The breaker is open: stop sending to this system in this run. */
  | { kind: 'breaker-open'; error: string }
  /** The endpoint is wrong (404, 405…): the batch stays pending and the entity fails, until the config is fixed. */
  | { kind: 'failed'; error: string; code: ErrorCode };

/** The answer's per-record results, matched to what was sent. */
function outcomesOf(batch: OutboxBatch, body: unknown, hooks: PushHooks): RecordOutcome[] | string {
  const wire = JSON.parse(batch.payload) as WireBatch;
  const sent = wire.records;
  let results: unknown;
  try {
    results = hooks.response ? hooks.response(body, wire) : (body as { results?: unknown } | null)?.results;
  } catch (err) {
    return `the response hook failed: ${describeError(err)}`;
  }
  if (!Array.isArray(results)) return hooks.response ? 'the response hook returned no array' : 'the answer has no results array';
  const byId = new Map<string, { status?: unknown; remoteId?: unknown; error?: unknown }>();
  for (const r of results as { localId?: unknown }[]) if (r && (typeof r.localId === 'string' || typeof r.localId === 'number')) byId.set(String(r.localId), r as never);
  const statuses = new Set(['created', 'updated', 'unchanged', 'deleted', 'rejected']);
  const out: RecordOutcome[] = [];
  for (const record of sent) {
    const r = byId.get(record.localId);
    if (!r || typeof r.status !== 'string' || !statuses.has(r.status)) return `no valid result for localId ${record.localId}`;
    out.push({
      localId: record.localId,
      status: r.status as RecordOutcome['status'],
      hash: record.hash ?? null,
      remoteId: typeof r.remoteId === 'string' || typeof r.remoteId === 'number' ? String(r.remoteId) : undefined,
      error: typeof r.error === 'string' ? r.error : undefined,
    });
  }
  return out;
}

/**
 * What a failed request means for what it carried: the breaker is open; refused for good (a
 * bad payload, or no right to write it: quarantined or rejected, not sent again until it
 * changes); a target that cannot take it as configured (`check` says what to look at); or,
 * after the retries, pending for a later run (not before a long Retry-After).
 */
export function sendResultOf(err: unknown, where: string, breakerOpened: boolean, check: string): SendResult {
  const error = err as AxiosError;
  const failure = err instanceof ParityError ? failureOf(err.code) : classifyHttp(error, 'write');
  if (failure.code === 'PARITY_BREAKER_OPEN' || breakerOpened) return { kind: 'breaker-open', error: `${where}: the circuit breaker is open (the target failed repeatedly)` };
  const status = error.response?.status;
  const body = typeof error.response?.data === 'string' ? error.response.data : JSON.stringify(error.response?.data ?? '');
  if (failure.action === 'refuse') {
    const hint = status === 403 || status === 401 ? " (the credentials may not write here: check the target's permissions)" : '';
    return { kind: 'refused', reason: `${where}: HTTP ${status}: ${body.slice(0, 300)}${hint}` };
  }
  if (failure.action === 'fail') {
    return { kind: 'failed', code: failure.code, error: `${where}: ${status ? `HTTP ${status}: ${body.slice(0, 200)}` : describeError(err)} (check ${check})` };
  }
  const wait = error.response ? retryAfterMs(error) : 0;
  const notBefore = wait > MAX_RETRY_AFTER_MS ? new Date(Date.now() + wait) : null;
  // A message that names its system already (a lookup's read error) is kept as it is.
  const said = err instanceof ParityError && err.message.startsWith('system "');
  return { kind: 'later', error: said ? err.message : `${where}: ${status ? `HTTP ${status}` : describeError(err)}`, notBefore };
}

export class HttpPushClient {
  private readonly axios: AxiosInstance;
  private readonly breaker: CircuitBreaker<[InternalAxiosRequestConfig], unknown>;
  private readonly auth: AuthProvider;

  constructor(
    system: PushSystem,
    private readonly systemName: string,
    private readonly path: string,
    private readonly hooks: PushHooks = {},
    /** Shared with the system's other readers and pushers (auth, breaker); its own when not given. */
    runtime: HttpRuntime = new HttpRuntime(systemName, system),
  ) {
    const retry = system.retry ?? DEFAULT_WRITE_RETRY;
    this.breaker = runtime.breaker;
    this.auth = runtime.auth;
    this.axios = axios.create({
      baseURL: system.baseUrl,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...system.headers },
      adapter: (config) => this.breaker.fire(config) as ReturnType<AxiosAdapter>,
      transformRequest: [(data: unknown) => data],
    });
    guardHttp(this.axios, { allowed: system.baseUrl, followRedirects: system.followRedirects ?? 'none', deadlineMs: system.timeoutMs, label: `system "${systemName}"` });
    // Batches are not held to the rate limit (one request carries many records).
    gateAndRetry(this.axios, null, retry, 'write');
  }

  get breakerState(): 'closed' | 'open' | 'half-open' {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async send(batch: OutboxBatch, signal?: AbortSignal): Promise<SendResult> {
    const where = `system "${this.systemName}": POST ${this.path}`;
    try {
      let request = { body: batch.payload, headers: {} as Record<string, string> };
      if (this.hooks.request) {
        try {
          request = shapeRequest(this.hooks.request, JSON.parse(batch.payload) as WireBatch);
        } catch (err) {
          return { kind: 'refused', reason: `${where}: the request hook failed: ${describeError(err)}` };
        }
      }
      const auth = this.auth;
      const post = async () =>
        this.axios.post(this.path, request.body, { headers: { ...request.headers, ...(await auth.headers(signal)), 'Idempotency-Key': batch.idempotencyKey }, signal });
      let response;
      try {
        response = await post();
      } catch (err) {
        // A token that expired early is fetched again once, as for reads; the batch keeps its key.
        if ((err as AxiosError).response?.status !== 401 || !auth.invalidate()) throw err;
        response = await post();
      }
      const outcomes = outcomesOf(batch, response.data, this.hooks);
      if (typeof outcomes === 'string') return { kind: 'refused', reason: `${where}: ${outcomes}` };
      return { kind: 'done', outcomes };
    } catch (err) {
      return sendResultOf(err, where, this.breaker.opened, 'write.path and the system\'s baseUrl; the batch waits in the outbox');
    }
  }
}

// One classifier for HTTP failures, used by every retry layer (and, later, the circuit
// breaker): which failures are worth another attempt, and how long to wait before it.
import type { AxiosError } from 'axios';

export const RETRYABLE_STATUS = new Set([408, 425, 429]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_SOCKET']);

/** The longest Retry-After a run waits for; a longer one ends the attempt for this run. */
export const MAX_RETRY_AFTER_MS = 60_000;

export type RetryDecision = 'retry' | 'fail';

export interface RetryPolicy {
  retries: number;
  baseMs: number;
  maxMs: number;
}

/** `write`: a push, where 409 (the same batch still in flight at the target) is worth
 *  another attempt too. An open circuit breaker is never retried. */
export function classifyHttpError(error: AxiosError, kind: 'read' | 'write' = 'read'): RetryDecision {
  if (error.code === 'ERR_CANCELED' || error.code === 'EOPENBREAKER') return 'fail';
  const status = error.response?.status;
  if (status === undefined) return error.code && !RETRYABLE_CODES.has(error.code) && error.code !== 'ERR_NETWORK' ? 'fail' : 'retry';
  if (status >= 500 || RETRYABLE_STATUS.has(status) || (kind === 'write' && status === 409)) return retryAfterMs(error) > MAX_RETRY_AFTER_MS ? 'fail' : 'retry';
  return 'fail';
}

/** Whether a failure says the target is unwell (it counts towards opening the breaker):
 *  network errors, timeouts, 408, 409, 425, 429 and 5xx. Other 4xx are the request's fault. */
export function countsAgainstTarget(error: AxiosError): boolean {
  const status = error.response?.status;
  return status === undefined || status >= 500 || RETRYABLE_STATUS.has(status) || status === 409;
}

/** Retry-After in seconds or as an HTTP date, in ms; 0 when absent. */
export function retryAfterMs(error: AxiosError, now = Date.now()): number {
  const header = error.response?.headers?.['retry-after'];
  if (header === undefined || header === null || header === '') return 0;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 0 : Math.max(0, at - now);
}

/** Exponential backoff with full jitter (a random wait up to the exponential bound), but
 *  never shorter than the server's Retry-After. */
export function backoffMs(attempt: number, policy: RetryPolicy, error?: AxiosError, random = Math.random): number {
  const bound = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * bound);
  return Math.max(jittered, error ? retryAfterMs(error) : 0);
}

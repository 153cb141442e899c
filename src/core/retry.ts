// Backoff for the retry layers: exponential with full jitter, never shorter than the
// server's Retry-After. Which failures are retried is the classifier's call (failure.ts).
import type { AxiosError } from 'axios';
import { retryAfterMs } from './failure.js';

export interface RetryPolicy {
  retries: number;
  baseMs: number;
  maxMs: number;
}

export function backoffMs(attempt: number, policy: RetryPolicy, error?: AxiosError, random = Math.random): number {
  const bound = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * bound);
  return Math.max(jittered, error ? retryAfterMs(error) : 0);
}

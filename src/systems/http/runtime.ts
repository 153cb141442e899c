// What one configured HTTP system shares between everything that talks to it: its auth
// (a token fetched once), its rate gate (never exceeded, reads of every entity together) and
// its circuit breaker (every push to it). The agent creates one per system and hands it to
// the collectors and pushers; nothing is kept in module state.
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { backoffMs, type RetryPolicy } from '../../core/retry.js';
import CircuitBreaker from 'opossum';
import pThrottle from 'p-throttle';
import { authFor, type AuthProvider } from '../../core/http-auth.js';
import { classifyHttp, countsAgainstSystem } from '../../core/failure.js';
import type { HttpSystemConfig } from './schema.js';

export const DEFAULT_BREAKER = { errorThresholdPercentage: 50, resetTimeoutMs: 30_000, volumeThreshold: 10 };

export type BreakerState = 'closed' | 'open' | 'half-open';

type Breaker = CircuitBreaker<[InternalAxiosRequestConfig], unknown>;

/**
 * The request layers every HTTP client of a system shares: each attempt (retries included)
 * waits for the rate gate when there is one, and what the classifier retries for `op` is
 * retried with backoff (Retry-After honoured).
 */
export function gateAndRetry(instance: AxiosInstance, gate: (() => Promise<void>) | null, retry: RetryPolicy, op: 'read' | 'write'): void {
  if (gate) {
    instance.interceptors.request.use(async (config) => {
      await gate();
      return config;
    });
  }
  axiosRetry(instance, {
    retries: retry.retries,
    shouldResetTimeout: true,
    retryCondition: (error) => classifyHttp(error, op).action === 'retry',
    retryDelay: (attempt, error) => backoffMs(attempt, retry, error),
  });
}

export class HttpRuntime {
  readonly auth: AuthProvider;
  /** Waits for the rate limit's next free slot; null without a rate limit. */
  readonly gate: (() => Promise<void>) | null;
  private breakerInstance: Breaker | undefined;

  constructor(
    readonly name: string,
    readonly system: Pick<HttpSystemConfig, 'auth' | 'timeoutMs'> & Partial<Pick<HttpSystemConfig, 'rateLimit' | 'breaker'>>,
  ) {
    this.auth = authFor(system, name);
    const perSecond = system.rateLimit?.perSecond;
    // Whole rates: at most N starts in any sliding second. Fractional rates: one start per 1/rate s.
    this.gate =
      perSecond === undefined
        ? null
        : pThrottle(Number.isInteger(perSecond) ? { limit: perSecond, interval: 1000, strict: true } : { limit: 1, interval: Math.ceil(1000 / perSecond), strict: true })(async () => undefined);
  }

  /** The breaker every push to this system goes through (created on first use). */
  get breaker(): Breaker {
    if (!this.breakerInstance) {
      const o = this.system.breaker ?? DEFAULT_BREAKER;
      const http = axios.getAdapter(['http']) as AxiosAdapter;
      this.breakerInstance = new CircuitBreaker((config: InternalAxiosRequestConfig) => http(config), {
        name: this.name,
        timeout: false,
        errorThresholdPercentage: o.errorThresholdPercentage,
        resetTimeout: o.resetTimeoutMs,
        volumeThreshold: o.volumeThreshold,
        // A 4xx other than 408/409/425/429 is the request's fault, not the target's health.
        errorFilter: (err: AxiosError) => !countsAgainstSystem(classifyHttp(err, 'write')),
      });
    }
    return this.breakerInstance;
  }

  /** null until something pushed to the system. */
  get breakerState(): BreakerState | null {
    const b = this.breakerInstance;
    return b ? (b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed') : null;
  }

  close(): void {
    this.breakerInstance?.shutdown();
  }
}

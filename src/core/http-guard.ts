// Keeps every request of a configured HTTP client on the origin (scheme, host, port) it was
// configured for, so that credentials never follow a server's lead to another host, and
// bounds each attempt by a total deadline that covers the body as well as the headers.
import { AxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import { ParityError } from './errors.js';
import { redactUrl } from './redact.js';

export type RedirectPolicy = 'none' | 'same-origin';

export interface GuardOptions {
  /** The configured URL whose origin every request must stay on. */
  allowed: string;
  followRedirects: RedirectPolicy;
  /** The longest one attempt may take, from sending to the last byte of the body. */
  deadlineMs: number;
  /** Who asks, for messages: `system "shop"`. */
  label: string;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface GuardedConfig extends InternalAxiosRequestConfig {
  /** The caller's own AbortSignal, kept apart from the attempt's deadline. */
  parityCaller?: AbortSignal | null;
  parityDeadline?: AbortSignal;
  parityRedirects?: number;
}

export function originOf(url: string): string {
  return new URL(url).origin;
}

/** The message for a request that would leave the configured origin. */
export function foreignOrigin(label: string, what: string, url: string, allowed: string): ParityError {
  return new ParityError(
    'PARITY_ORIGIN_REFUSED',
    `${label}: ${what} ${redactUrl(url)} is on ${originOf(url)}, not on the configured ${originOf(allowed)}: parity sends a system's credentials only to its own origin`,
  );
}

/**
 * Installs the guard on an axios instance. Call it before any other interceptor is added:
 * its request interceptor then runs last (after a rate gate's wait, so the wait does not
 * eat the deadline) and its response interceptor first (before retries see the error).
 */
export function guardHttp(instance: AxiosInstance, options: GuardOptions): void {
  const allowed = originOf(options.allowed);
  instance.defaults.maxRedirects = 0;

  instance.interceptors.request.use((config: GuardedConfig) => {
    const url = instance.getUri(config);
    if (originOf(url) !== allowed) throw foreignOrigin(options.label, `${(config.method ?? 'get').toUpperCase()}`, url, options.allowed);
    if (config.parityCaller === undefined) config.parityCaller = config.signal ? (config.signal as AbortSignal) : null;
    const deadline = AbortSignal.timeout(options.deadlineMs);
    config.parityDeadline = deadline;
    config.signal = config.parityCaller ? AbortSignal.any([config.parityCaller, deadline]) : deadline;
    return config;
  });

  instance.interceptors.response.use(undefined, (error: unknown) => {
    if (!(error instanceof AxiosError) || !error.config) return Promise.reject(error);
    const config = error.config as GuardedConfig;
    const deadlinePassed = config.parityDeadline?.aborted === true && config.parityCaller?.aborted !== true;
    // A retry must wait on the caller's signal only: the spent deadline would cut the backoff short.
    config.signal = config.parityCaller ?? undefined;
    if (deadlinePassed && error.code === 'ERR_CANCELED') {
      return Promise.reject(new AxiosError(`no complete answer within ${options.deadlineMs} ms (timeoutMs)`, 'ETIMEDOUT', config, error.request));
    }
    const status = error.response?.status;
    const location = error.response?.headers?.location as string | undefined;
    if (status === undefined || !REDIRECTS.has(status) || !location) return Promise.reject(error);
    const from = instance.getUri(config);
    const to = new URL(location, from).toString();
    const method = (config.method ?? 'get').toUpperCase();
    if (originOf(to) !== allowed) {
      return Promise.reject(
        new ParityError(
          'PARITY_ORIGIN_REFUSED',
          `${options.label}: ${method} ${redactUrl(from)} answered HTTP ${status}, a redirect from ${allowed} to ${originOf(to)}: parity sends a system's credentials only to its own origin`,
        ),
      );
    }
    const hops = config.parityRedirects ?? 0;
    if (options.followRedirects !== 'same-origin' || hops >= MAX_REDIRECTS) {
      const why = hops >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects in a row` : 'redirects are not followed (set followRedirects: same-origin to follow them within the origin)';
      return Promise.reject(new ParityError('PARITY_ORIGIN_REFUSED', `${options.label}: ${method} ${redactUrl(from)} answered HTTP ${status}, a redirect to ${redactUrl(to)}: ${why}`));
    }
    const next: Partial<GuardedConfig> = {
      ...config,
      url: to,
      baseURL: undefined,
      params: undefined,
      method: status === 303 ? 'get' : config.method,
      signal: config.parityCaller ?? undefined,
      parityCaller: config.parityCaller ?? null,
      parityRedirects: hops + 1,
    };
    return instance.request(next as InternalAxiosRequestConfig);
  });
}

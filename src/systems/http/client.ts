// The HTTP client of one system for reads: auth (refreshed once after a 401), a rate limit
// that is never exceeded, retries with backoff for network errors, 408/425/429 and 5xx
// (honouring Retry-After), a timeout and an AbortSignal per attempt, a response size limit.
import axios, { type AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { describeError, ParityError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import { classifyHttp, MAX_RETRY_AFTER_MS, retryAfterMs } from '../../core/failure.js';
import type { RetryPolicy } from '../../core/retry.js';
import type { AuthProvider } from '../../core/http-auth.js';
import { guardHttp } from '../../core/http-guard.js';
import { gateAndRetry, HttpRuntime } from './runtime.js';
import type { HttpSystemConfig } from './schema.js';

export const DEFAULT_READ_RETRY: RetryPolicy = { retries: 3, baseMs: 300, maxMs: 10_000 };

export interface JsonAnswer {
  body: unknown;
  /** The URL asked, without credentials: for messages. */
  url: string;
  headers: Record<string, string>;
}

type Params = Record<string, string | number | boolean | undefined>;

export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly auth: AuthProvider;

  constructor(
    readonly system: HttpSystemConfig,
    readonly systemName: string,
    private readonly retry: RetryPolicy = system.retry ?? DEFAULT_READ_RETRY,
    /** Shared with the system's other readers and pushers (auth, rate gate); its own when not given. */
    runtime: HttpRuntime = new HttpRuntime(systemName, system),
  ) {
    this.auth = runtime.auth;
    this.axios = axios.create({
      baseURL: system.baseUrl,
      headers: { Accept: 'application/json', ...system.headers },
      maxContentLength: system.maxResponseBytes,
      // Parsed here, so a body that is not JSON gets an error naming the URL.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
    });
    guardHttp(this.axios, { allowed: system.baseUrl, followRedirects: system.followRedirects, deadlineMs: system.timeoutMs, label: `system "${systemName}"` });
    gateAndRetry(this.axios, runtime.gate, this.retry, 'read');
  }

  /** The URL a request goes to, without credentials. */
  urlFor(path: string, params: Params): string {
    return redactUrl(this.axios.getUri({ url: path, params }));
  }

  /** GET a JSON document. `path` is relative to baseUrl, or absolute (a Link: next URL). */
  async getJson(path: string, params: Params, signal?: AbortSignal): Promise<JsonAnswer> {
    const url = this.urlFor(path, params);
    const response = await this.send(path, params, url, signal, true);
    try {
      return { body: JSON.parse(response.data), url, headers: response.headers as Record<string, string> };
    } catch {
      const type = String(response.headers['content-type'] ?? 'unknown type');
      const start = String(response.data).slice(0, 60).replace(/\s+/g, ' ');
      throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `system "${this.systemName}": GET ${url}: the body is not JSON (${type}, ${start}…)`);
    }
  }

  private async send(path: string, params: Params, url: string, signal: AbortSignal | undefined, mayRefresh: boolean): Promise<AxiosResponse<string>> {
    try {
      const headers = await this.auth.headers(signal);
      return await this.axios.get<string>(path, { params, headers, signal });
    } catch (err) {
      if (err instanceof ParityError) throw err;
      const error = err as AxiosError;
      if (axios.isCancel(err) || signal?.aborted) throw new ParityError('PARITY_ABORTED', `GET ${url}: aborted`);
      const status = error.response?.status;
      if (status === 401 && mayRefresh && this.auth.invalidate()) return this.send(path, params, url, signal, false);
      throw this.describe(error, url);
    }
  }

  private describe(error: AxiosError, url: string): ParityError {
    const where = `system "${this.systemName}": GET ${url}`;
    const status = error.response?.status;
    const failure = classifyHttp(error, 'read');
    const retried = failure.action === 'retry' && this.retry.retries > 0 ? ` (after ${this.retry.retries} retries)` : '';
    if (status === undefined) {
      const tooBig = /maxContentLength/.test(error.message) ? ` (the answer is larger than maxResponseBytes, ${this.system.maxResponseBytes} bytes)` : '';
      return new ParityError(failure.code, `${where}: ${describeError(error)}${tooBig || retried}`, { cause: error });
    }
    const wait = retryAfterMs(error);
    let hint = retried;
    if (failure.code === 'PARITY_HTTP_BAD_RESPONSE') return new ParityError(failure.code, `${where}: HTTP ${status}, but the answer could not be read: ${describeError(error)}`, { cause: error });
    if (failure.code === 'PARITY_HTTP_AUTH') hint = ' (check the auth settings and the credentials in the environment)';
    else if (failure.code === 'PARITY_HTTP_ENDPOINT') hint = ' (check the side\'s path and the system\'s baseUrl)';
    else if (wait > MAX_RETRY_AFTER_MS) hint = ` (the system asks to wait ${Math.round(wait / 1000)} s; try again later)`;
    return new ParityError(failure.code, `${where}: HTTP ${status}${error.response?.statusText ? ` ${error.response.statusText}` : ''}${hint}`, { cause: error });
  }
}

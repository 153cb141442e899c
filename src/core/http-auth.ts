// Authentication for HTTP systems. Static headers (none, bearer, header) or a token fetched
// from a token endpoint (password or client credentials) or by the OAuth2 refresh-token
// grant, cached until it expires and fetched again once after a 401. Shared by the HTTP
// collector (reads) and the HTTP pusher (writes).
import axios from 'axios';
import type { z } from 'zod';
import { httpAuthSchema } from './http-auth-schema.js';
import { describeError, ParityError } from './errors.js';
import { originOf } from './http-guard.js';
import { readPath } from './paths.js';
import { registerSecret } from './redact.js';

export interface AuthProvider {
  /** Headers to send with a request; may fetch a token first. */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /** Drops a cached token after a 401. Returns false when there is nothing to refresh. */
  invalidate(): boolean;
}

export { httpAuthSchema } from './http-auth-schema.js';
type Auth = z.infer<typeof httpAuthSchema>;

/** What auth needs of a system: its auth settings and its timeout. */
export interface AuthSystem {
  auth: Auth;
  timeoutMs: number;
}

/** Seconds of slack before a token's stated expiry, so a request never leaves with a token that dies in flight. */
const EXPIRY_SKEW_MS = 30_000;

class StaticAuth implements AuthProvider {
  constructor(private readonly values: Record<string, string>) {}
  async headers() {
    return this.values;
  }
  invalidate() {
    return false;
  }
}

class TokenAuth implements AuthProvider {
  private token: { value: string; expiresAt: number } | null = null;
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly auth: Extract<Auth, { type: 'token-endpoint' | 'oauth2-refresh' }>,
    private readonly systemName: string,
    private readonly timeoutMs: number,
  ) {}

  async headers(signal?: AbortSignal) {
    const token = this.token && this.token.expiresAt > Date.now() ? this.token.value : await this.fetchOnce(signal);
    return { Authorization: `${this.auth.scheme} ${token}` };
  }

  invalidate() {
    this.token = null;
    return true;
  }

  /** Concurrent requests share one token request. */
  private fetchOnce(signal?: AbortSignal): Promise<string> {
    this.inflight ??= this.fetch(signal).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetch(signal?: AbortSignal): Promise<string> {
    const a = this.auth;
    const url = a.type === 'token-endpoint' ? a.url : a.tokenUrl;
    let body: string;
    let contentType: string;
    if (a.type === 'oauth2-refresh') {
      body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.refreshToken, client_id: a.clientId, client_secret: a.clientSecret }).toString();
      contentType = 'application/x-www-form-urlencoded';
    } else if (a.clientId !== undefined) {
      body = new URLSearchParams({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.clientSecret ?? '' }).toString();
      contentType = 'application/x-www-form-urlencoded';
    } else {
      body = JSON.stringify({ username: a.username, password: a.password });
      contentType = 'application/json';
    }
    const where = `system "${this.systemName}": token request to ${url}`;
    let response;
    try {
      // Never follows a redirect: the secret in the body would go wherever the server says.
      const deadline = AbortSignal.timeout(this.timeoutMs);
      response = await axios.post(url, body, {
        headers: { 'Content-Type': contentType, Accept: 'application/json' },
        timeout: this.timeoutMs,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        maxRedirects: 0,
        validateStatus: () => true,
      });
    } catch (err) {
      const timedOut = axios.isCancel(err) && !signal?.aborted;
      throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `${where}: ${timedOut ? `no complete answer within ${this.timeoutMs} ms (timeoutMs)` : describeError(err)}`, { cause: err });
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.location as string | undefined;
      const to = location ? ` to ${originOf(new URL(location, url).toString())}` : '';
      throw new ParityError('PARITY_ORIGIN_REFUSED', `${where}: answered HTTP ${response.status}, a redirect from ${originOf(url)}${to}: a token endpoint's redirects are never followed (set the token URL to where the token is issued)`);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new ParityError(response.status >= 500 ? 'PARITY_HTTP_STATUS' : 'PARITY_HTTP_AUTH', `${where}: HTTP ${response.status} (check the credentials in the environment)`);
    }
    const tokenPath = a.type === 'token-endpoint' ? a.tokenPath : 'access_token';
    const value = readPath(response.data, tokenPath);
    if (typeof value !== 'string' || value === '') {
      throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `${where}: the answer has no token at "${tokenPath}"`);
    }
    registerSecret(value);
    const expiresIn = Number(readPath(response.data, 'expires_in'));
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 - EXPIRY_SKEW_MS : Number.POSITIVE_INFINITY;
    this.token = { value, expiresAt: Date.now() + Math.max(lifetime, 0) };
    return value;
  }
}

/** The auth of one system. The caller keeps it (one per system and run), so that a token is
 *  fetched once, not per entity. */
export function authFor(system: AuthSystem, systemName: string): AuthProvider {
  const a = system.auth;
  if (a.type === 'none') return new StaticAuth({});
  if (a.type === 'bearer') return new StaticAuth({ Authorization: `Bearer ${a.token}` });
  if (a.type === 'header') return new StaticAuth({ [a.name]: a.value });
  return new TokenAuth(a, systemName, system.timeoutMs);
}

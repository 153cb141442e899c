// Fetches attachments (files named by URL in a record) to hash or to copy them. A URL on the
// origin of a configured HTTP system is fetched as that system fetches (its auth, headers,
// rate gate, redirect rule and timeout); any other URL is fetched with no credentials at all.
// Bodies are streamed and cut at maxBytes. What a URL held is cached by its validators (ETag,
// Last-Modified): a later run asks "changed since?" and a 304 reuses the stored hash.
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { describeError } from '../core/errors.js';
import { guardHttp, originOf } from '../core/http-guard.js';
import { redactUrl } from '../core/redact.js';
import { DEFAULT_READ_RETRY } from '../systems/http/client.js';
import { gateAndRetry, HttpRuntime } from '../systems/http/runtime.js';
import type { HttpSystemConfig } from '../systems/http/schema.js';

/** What a URL's content was when it was last hashed: kept in the state store by URL hash. */
export interface CachedAttachment {
  urlHash: string;
  etag: string | null;
  lastModified: string | null;
  digest: string;
  bytes: number;
}

export interface AttachmentCache {
  cachedAttachments(urlHashes: readonly string[]): Promise<Map<string, CachedAttachment>>;
  cacheAttachments(rows: readonly CachedAttachment[]): Promise<void>;
}

export type Fetched =
  | { status: 'ok'; digest: string; bytes: number; body?: Buffer; contentType: string | null; fromCache: boolean; validators?: { etag: string | null; lastModified: string | null } }
  | { status: 'too-large'; bytes: number | null }
  | { status: 'unreadable'; error: string };

/** A configured HTTP system a URL may belong to. */
export interface KnownSystem {
  name: string;
  config: HttpSystemConfig;
  runtime: HttpRuntime | undefined;
}

const FOREIGN_TIMEOUT_MS = 30_000;
const FETCHES_AT_ONCE = 8;

export function digestOf(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

export function urlHash(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/** A URL for messages: no query string (a signed URL's signature) and no credentials. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return redactUrl(`${u.origin}${u.pathname}${u.search ? '?…' : ''}`);
  } catch {
    return redactUrl(url);
  }
}

export class AttachmentFetcher {
  private readonly clients = new Map<string, { axios: AxiosInstance; runtime: HttpRuntime | null }>();
  /** Stats of this fetcher's life (one entity's run). */
  readonly stats = { downloaded: 0, revalidated: 0 };
  /** Files fetched at once, whichever side or step asks. */
  private readonly limit = pLimit(FETCHES_AT_ONCE);

  constructor(
    private readonly systems: readonly KnownSystem[],
    readonly maxBytes: number,
    private readonly cache: AttachmentCache | null,
  ) {}

  /** The absolute URL of a value read from a side: relative ones resolve against the side's HTTP system. */
  absolute(value: string, sideSystem: string | null): string | null {
    const base = this.systems.find((s) => s.name === sideSystem)?.config.baseUrl;
    try {
      const url = new URL(value, base === undefined ? undefined : base.endsWith('/') ? base : `${base}/`);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
    } catch {
      return null;
    }
  }

  /** The content hash of what `url` holds (a cached one when the server says it did not change). */
  async digests(urls: readonly string[], signal?: AbortSignal): Promise<Map<string, Fetched>> {
    const hashes = urls.map(urlHash);
    const cached = this.cache ? await this.cache.cachedAttachments(hashes) : new Map<string, CachedAttachment>();
    const out = new Map<string, Fetched>();
    const fresh: CachedAttachment[] = [];
    await Promise.all(
      urls.map(async (url, i) => {
        const hit = cached.get(hashes[i]!);
        const got = await this.limit(() => this.get(url, false, hit, signal));
        out.set(url, got);
        if (got.status === 'ok' && (got.validators?.etag || got.validators?.lastModified)) fresh.push({ urlHash: hashes[i]!, ...got.validators, digest: got.digest, bytes: got.bytes });
      }),
    );
    if (fresh.length && this.cache) await this.cache.cacheAttachments(fresh);
    return out;
  }

  /** The file itself, to copy it. */
  body(url: string, signal?: AbortSignal): Promise<Fetched> {
    return this.limit(() => this.get(url, true, undefined, signal));
  }

  private client(url: string): { axios: AxiosInstance; runtime: HttpRuntime | null } {
    const origin = originOf(url);
    let c = this.clients.get(origin);
    if (c) return c;
    const system = this.systems.find((s) => originOf(s.config.baseUrl) === origin);
    if (system) {
      const instance = axios.create({ headers: { ...system.config.headers }, responseType: 'stream', decompress: true });
      guardHttp(instance, { allowed: system.config.baseUrl, followRedirects: system.config.followRedirects, deadlineMs: system.config.timeoutMs, label: `system "${system.name}"` });
      const runtime = system.runtime ?? new HttpRuntime(system.name, system.config);
      gateAndRetry(instance, runtime.gate, system.config.retry ?? DEFAULT_READ_RETRY, 'read');
      c = { axios: instance, runtime };
    } else {
      // No system's origin: no credentials go with the request, so redirects (a CDN) may be followed.
      const instance = axios.create({ responseType: 'stream', maxRedirects: 5, timeout: FOREIGN_TIMEOUT_MS });
      gateAndRetry(instance, null, DEFAULT_READ_RETRY, 'read');
      c = { axios: instance, runtime: null };
    }
    this.clients.set(origin, c);
    return c;
  }

  private async get(url: string, keepBody: boolean, cached: CachedAttachment | undefined, signal?: AbortSignal): Promise<Fetched> {
    let response: AxiosResponse<Readable>;
    try {
      const { axios: instance, runtime } = this.client(url);
      const headers: Record<string, string> = runtime ? { ...(await runtime.auth.headers(signal)) } : {};
      if (cached?.etag) headers['If-None-Match'] = cached.etag;
      else if (cached?.lastModified) headers['If-Modified-Since'] = cached.lastModified;
      // A system's guard bounds the whole answer by its timeoutMs; a foreign host gets 30 s, body included.
      const bounded = runtime ? signal : AbortSignal.any([AbortSignal.timeout(FOREIGN_TIMEOUT_MS), ...(signal ? [signal] : [])]);
      response = await instance.get<Readable>(url, { headers, signal: bounded, validateStatus: (s) => s === 200 || (s === 304 && cached !== undefined) });
    } catch (err) {
      return { status: 'unreadable', error: `GET ${shownUrl(url)}: ${describeError(err)}` };
    }
    if (response.status === 304 && cached) {
      response.data.destroy();
      this.stats.revalidated++;
      return { status: 'ok', digest: cached.digest, bytes: cached.bytes, contentType: null, fromCache: true };
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      response.data.destroy();
      return { status: 'too-large', bytes: declared };
    }
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of response.data as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > this.maxBytes) {
          response.data.destroy();
          return { status: 'too-large', bytes: null };
        }
        hash.update(chunk);
        if (keepBody) chunks.push(chunk);
      }
    } catch (err) {
      return { status: 'unreadable', error: `GET ${shownUrl(url)}: ${describeError(err)}` };
    }
    this.stats.downloaded++;
    const header = (name: string) => (typeof response.headers[name] === 'string' ? (response.headers[name] as string) : null);
    const got = { status: 'ok' as const, digest: `sha256:${hash.digest('hex')}`, bytes, contentType: header('content-type'), fromCache: false, validators: { etag: header('etag'), lastModified: header('last-modified') } };
    return keepBody ? { ...got, body: Buffer.concat(chunks) } : got;
  }
}

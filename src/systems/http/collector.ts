// Reads an entity side from a paginated REST list endpoint: any of the four pagination
// types, the list found by a dotted path in the body, the watermark sent as a query
// parameter for incremental reads.
import { describeError, ParityError } from '../../core/errors.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import { dottedGetter } from '../../collectors/mapper.js';
import type { MetricValue } from '../../collectors/metrics.js';
import type { Collector, ProbeResult, ReadOptions } from '../../collectors/types.js';
import { WatermarkTracker } from '../../collectors/watermark.js';
import { HttpClient, type JsonAnswer } from './client.js';
import { createPager, DEFAULT_PAGINATION, type PageRequest } from './pagination.js';
import { readPath } from '../../core/paths.js';
import type { HttpSideSpec, HttpSystemConfig } from './schema.js';
import type { HttpRuntime } from './runtime.js';

export { readPath } from '../../core/paths.js';

export class HttpCollector implements Collector {
  private readonly client: HttpClient;
  private readonly system: HttpSystemConfig;
  private tracker: WatermarkTracker | null = null;

  constructor(
    private readonly side: HttpSideSpec,
    runtime?: HttpRuntime,
  ) {
    this.system = side.system;
    this.client = new HttpClient(side.system, side.systemName, undefined, runtime);
  }

  private get path(): string {
    return this.side.config.path!;
  }

  private fetch(request: PageRequest, extra: Record<string, string>, signal?: AbortSignal) {
    if (request.url) return this.client.getJson(request.url, {}, signal);
    return this.client.getJson(this.path, { ...this.system.query, ...this.side.config.params, ...extra, ...request.params }, signal);
  }

  private listOf(body: unknown, url: string): unknown[] {
    const list = readPath(body, this.side.config.list);
    const where = this.side.config.list ? `"${this.side.config.list}"` : 'the body';
    const at = `system "${this.side.systemName}": GET ${url}`;
    if (list === undefined || list === null) throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `${at}: no ${where} in the answer (set "list" to the path of the array)`);
    if (!Array.isArray(list)) throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `${at}: ${where} is not an array`);
    return list;
  }

  async columns(): Promise<null> {
    return null;
  }

  async metrics(): Promise<Map<string, MetricValue>> {
    return new Map();
  }

  watermark(): string | null {
    return this.tracker?.value() ?? null;
  }

  async *read({ mapper, signal, since, window }: ReadOptions): AsyncIterable<Page> {
    const incremental = this.side.config.incremental;
    this.tracker = new WatermarkTracker(incremental?.field, dottedGetter);
    const filter: Record<string, string> = incremental?.param && since ? { [incremental.param]: since } : {};
    // A rolling window's start, for an API that takes it (window.param); the agent filters anyway.
    if (window?.param) filter[window.param] = window.from;
    const pager = createPager(this.side.config.pagination ?? DEFAULT_PAGINATION);
    // The next page is asked for as soon as this one has arrived, so the API's time to answer
    // overlaps with mapping and diffing this one; it is cancelled if the reader stops early.
    const cancel = new AbortController();
    const pageSignal = signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal;
    const ask = (request: PageRequest) => {
      const answer = this.fetch(request, filter, pageSignal);
      answer.catch(() => undefined); // seen when awaited; not unhandled if the reader stops first
      return answer;
    };
    let pending: Promise<JsonAnswer> | null = ask(pager.first());
    let pageNumber = 1;
    try {
      while (pending) {
        const answer: JsonAnswer = await pending;
        pending = null;
        const items = this.listOf(answer.body, answer.url);
        // Found now, thrown after this page is handed on, as when pages were asked one by one.
        let stop: ParityError | null = null;
        try {
          const next = pager.next({ body: answer.body, headers: answer.headers, items, url: answer.url });
          if (next && pageNumber >= this.system.maxPages) {
            const url = next.url ?? this.client.urlFor(this.path, next.params);
            stop = new ParityError('PARITY_DEADLINE', `system "${this.side.systemName}": GET ${url}: the read passed maxPages (${this.system.maxPages}) without reaching the end of the list; the API may be looping (raise maxPages if the list really is that long)`);
          } else if (next) {
            pending = ask(next);
            // The request leaves only once its promise chain (interceptors, breaker, limiter)
            // has run: let it, before this page's synchronous mapping and diffing.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        } catch (err) {
          if (!(err instanceof ParityError)) throw err;
          stop = new ParityError(err.code, `system "${this.side.systemName}": ${err.message}`);
        }
        const records: NormalizedRecord[] = [];
        const invalid: InvalidRecord[] = [];
        const page = pageNumber;
        const refOf = (i: number) => `page ${page} item ${i + 1} (${answer.url})`;
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (item === null || typeof item !== 'object' || Array.isArray(item)) {
            invalid.push({ ref: refOf(i), reason: 'not an object' });
            continue;
          }
          const row = item as Record<string, unknown>;
          this.tracker.see(row);
          const result = mapper.map(row, refOf, i);
          if (result.record) records.push(result.record);
          else invalid.push(result.invalid);
        }
        if (items.length > 0) yield { records, invalid, from: answer.url };
        if (stop) throw stop;
        pageNumber++;
      }
    } finally {
      if (pending) cancel.abort();
    }
  }

  async probe(): Promise<ProbeResult[]> {
    const check = `endpoint ${this.path}`;
    try {
      const answer = await this.fetch(createPager(this.side.config.pagination ?? DEFAULT_PAGINATION).first(), {});
      const items = this.listOf(answer.body, answer.url);
      return [{ ok: true, check, detail: `answers with a list${this.side.config.list ? ` at "${this.side.config.list}"` : ''} (${items.length} on the first page)` }];
    } catch (err) {
      return [{ ok: false, check, detail: describeError(err) }];
    }
  }

  async close(): Promise<void> {}
}

/** Checks that the system answers at all, for `parity validate`: any HTTP status will do. */
export async function probeHttpSystem(system: HttpSystemConfig, systemName: string, runtime?: HttpRuntime): Promise<ProbeResult> {
  const client = new HttpClient(system, systemName, { retries: 0, baseMs: 1, maxMs: 1 }, runtime);
  try {
    await client.getJson('', {});
    return { ok: true, check: 'connect', detail: `reached ${client.urlFor('', {})}` };
  } catch (err) {
    // A base URL that redirects within its origin was reached all the same; one to another origin was not followed.
    if (err instanceof ParityError && err.code === 'PARITY_ORIGIN_REFUSED' && err.message.includes('redirects are not followed')) {
      return { ok: true, check: 'connect', detail: `reached ${client.urlFor('', {})} (${/HTTP \d+/.exec(err.message)?.[0]}, a redirect within the origin)` };
    }
    if (err instanceof ParityError && (/^PARITY_HTTP_(STATUS|AUTH|REFUSED|ENDPOINT)$/.test(err.code) || err.code === 'PARITY_HTTP_BAD_RESPONSE')) {
      return { ok: true, check: 'connect', detail: `reached ${client.urlFor('', {})} (${err.code === 'PARITY_HTTP_BAD_RESPONSE' ? 'not JSON at the base URL' : /HTTP \d+/.exec(err.message)?.[0]})` };
    }
    return { ok: false, check: 'connect', detail: describeError(err).replace(/^system "[^"]*": /, '') };
  }
}

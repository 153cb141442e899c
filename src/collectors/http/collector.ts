// Reads an entity side from a paginated REST list endpoint with axios: page pagination,
// the list found by a dotted path in the body, bearer or header auth, a timeout per request.
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { describeError, ParityError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import type { InvalidRecord, NormalizedRecord, Page } from '../../core/record.js';
import { dottedGetter } from '../mapper.js';
import type { SideSpec } from '../schema.js';
import type { Collector, ProbeResult, ReadOptions } from '../types.js';
import type { HttpSystemConfig, PaginationConfig } from './schema.js';

type PagePagination = Extract<PaginationConfig, { type: 'page' }>;
const DEFAULT_PAGINATION: PagePagination = { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 100, startPage: 1 };

export function createHttpClient(system: HttpSystemConfig): AxiosInstance {
  const headers: Record<string, string> = { Accept: 'application/json', ...system.headers };
  if (system.auth.type === 'bearer') headers.Authorization = `Bearer ${system.auth.token}`;
  if (system.auth.type === 'header') headers[system.auth.name] = system.auth.value;
  return axios.create({
    baseURL: system.baseUrl,
    timeout: system.timeoutMs,
    headers,
    params: system.query,
    maxContentLength: system.maxResponseBytes,
    // Parse JSON here, so a body that is not JSON gets an error naming the URL.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
  });
}

/** Reads a dotted path ("data.records") from a parsed body; "" or undefined is the body itself. */
export function readPath(body: unknown, path: string | undefined): unknown {
  if (!path) return body;
  return dottedGetter({ body } as Record<string, unknown>, `body.${path}`);
}

export class HttpCollector implements Collector {
  private readonly client: AxiosInstance;
  private readonly pagination: PagePagination;

  constructor(private readonly side: SideSpec) {
    if (side.system.type !== 'http') throw new Error(`HttpCollector given a ${side.system.type} system`);
    this.client = createHttpClient(side.system);
    const p = side.config.pagination;
    if (p && p.type !== 'page') throw new ParityError('PARITY_CONFIG_UNSUPPORTED', `${p.type} pagination is not supported yet`);
    this.pagination = p ?? DEFAULT_PAGINATION;
  }

  private urlFor(params: Record<string, unknown>): string {
    return redactUrl(this.client.getUri({ url: this.side.config.path, params: { ...this.side.config.params, ...params } }));
  }

  /** GET one page; errors name the URL (without credentials) and say what went wrong. */
  private async get(params: Record<string, unknown>, signal?: AbortSignal): Promise<{ body: unknown; url: string }> {
    const url = this.urlFor(params);
    let response: AxiosResponse<string>;
    try {
      response = await this.client.get<string>(this.side.config.path!, { params: { ...this.side.config.params, ...params }, signal });
    } catch (err) {
      if (axios.isCancel(err) || signal?.aborted) throw new ParityError('PARITY_ABORTED', `GET ${url}: aborted`);
      throw new ParityError('PARITY_SYSTEM_UNREACHABLE', `system "${this.side.systemName}": GET ${url}: ${describeError(err)}`, { cause: err });
    }
    if (response.status < 200 || response.status >= 300) {
      const hint = response.status === 401 || response.status === 403 ? ' (check the auth settings and the token in the environment)' : '';
      throw new ParityError('PARITY_HTTP_STATUS', `system "${this.side.systemName}": GET ${url}: HTTP ${response.status} ${response.statusText ?? ''}`.trimEnd() + hint);
    }
    try {
      return { body: JSON.parse(response.data), url };
    } catch {
      const type = String(response.headers['content-type'] ?? 'unknown type');
      throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `system "${this.side.systemName}": GET ${url}: the body is not JSON (${type}, ${String(response.data).slice(0, 60).replace(/\s+/g, ' ')}…)`);
    }
  }

  private listOf(body: unknown, url: string): Record<string, unknown>[] {
    const list = readPath(body, this.side.config.list);
    const where = this.side.config.list ? `"${this.side.config.list}"` : 'the body';
    if (list === undefined) throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `system "${this.side.systemName}": GET ${url}: no ${where} in the answer (set "list" to the path of the array)`);
    if (!Array.isArray(list)) throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `system "${this.side.systemName}": GET ${url}: ${where} is not an array`);
    return list as Record<string, unknown>[];
  }

  async columns(): Promise<null> {
    return null;
  }

  async *read({ mapper, signal }: ReadOptions): AsyncIterable<Page> {
    const p = this.pagination;
    let page = p.startPage;
    let previousFirst: string | undefined;
    for (;;) {
      const { body, url } = await this.get({ [p.pageParam]: page, [p.sizeParam]: p.size }, signal);
      const items = this.listOf(body, url);
      if (items.length === 0) return;
      const first = JSON.stringify(items[0]);
      if (first === previousFirst) {
        throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `system "${this.side.systemName}": GET ${url}: page ${page} repeats the previous page (check pagination.pageParam "${p.pageParam}")`);
      }
      previousFirst = first;
      const records: NormalizedRecord[] = [];
      const invalid: InvalidRecord[] = [];
      items.forEach((item, i) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          invalid.push({ ref: `page ${page} item ${i + 1}`, reason: 'not an object' });
          return;
        }
        const result = mapper.map(item, `page ${page} item ${i + 1}`);
        if (result.record) records.push(result.record);
        else invalid.push(result.invalid);
      });
      yield { records, invalid };
      const more = p.hasMore ? Boolean(readPath(body, p.hasMore)) : items.length >= p.size;
      if (!more) return;
      page++;
    }
  }

  async probe(): Promise<ProbeResult[]> {
    const p = this.pagination;
    const check = `endpoint ${this.side.config.path}`;
    try {
      const { body, url } = await this.get({ [p.pageParam]: p.startPage, [p.sizeParam]: 1 });
      const items = this.listOf(body, url);
      return [{ ok: true, check, detail: `answers with a list${this.side.config.list ? ` at "${this.side.config.list}"` : ''} (${items.length} on a 1-item page)` }];
    } catch (err) {
      return [{ ok: false, check, detail: describeError(err) }];
    }
  }

  async close(): Promise<void> {}
}

/** Checks that the system answers at all, for `parity validate`: any HTTP status will do. */
export async function probeHttpSystem(system: HttpSystemConfig): Promise<ProbeResult> {
  const client = createHttpClient(system);
  try {
    const response = await client.get('');
    return { ok: true, check: 'connect', detail: `reached ${redactUrl(system.baseUrl)} (HTTP ${response.status})` };
  } catch (err) {
    return { ok: false, check: 'connect', detail: `${redactUrl(system.baseUrl)}: ${describeError(err)}` };
  }
}

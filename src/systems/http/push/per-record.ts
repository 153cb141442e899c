// Sends records one at a time to a REST API that has no batch endpoint and no idempotency
// keys (most SaaS APIs): a create, update or delete request by the record's remote ID.
// Exactly once in effect without the receiver's help: each intent is in the outbox before it
// is sent; the ledger keeps localId -> remoteId; a create whose answer may have been lost (a
// retry, or an intent left pending by an earlier run) first looks the record up by its key,
// and updates what it finds instead of creating it again. POSTs are never retried blindly.
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance } from 'axios';
import { ParityError } from '../../../core/errors.js';
import { classifyHttp } from '../../../core/failure.js';
import { guardHttp } from '../../../core/http-guard.js';
import { readPath } from '../../../core/paths.js';
import { backoffMs, type RetryPolicy } from '../../../core/retry.js';
import type { OutboxBatch, PushRecord, RecordOutcome } from '../../../push/types.js';
import { HttpClient } from '../client.js';
import { gateAndRetry, type HttpRuntime } from '../runtime.js';
import type { HttpSystemConfig, PerRecordRequest } from '../schema.js';
import { DEFAULT_WRITE_RETRY, sendResultOf, type SendResult } from './client.js';
import type { WireBatch } from './hooks.js';

export interface PerRecordWrite {
  create: PerRecordRequest;
  update: PerRecordRequest;
  delete: PerRecordRequest | null;
  /** The field of the target's records that holds their ID. */
  remoteId: string;
  /** Where the record is in a create or update answer (the body when absent). */
  result?: string | undefined;
  lookup: { path: string; param: string; list?: string | undefined };
  /** The key's field in the target's records (a dotted path): a lookup's hits are checked on it. */
  keyField: string;
}

/** A failure of one record's requests, with what the record's intent should become. */
class RecordFailure extends Error {
  constructor(
    readonly result: SendResult,
    options?: { cause?: unknown },
  ) {
    super('record failed', options);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new ParityError('PARITY_ABORTED', 'aborted'));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', done);
      clearTimeout(timer);
      if (signal?.aborted) reject(new ParityError('PARITY_ABORTED', 'aborted'));
      else resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class PerRecordClient {
  private readonly axios: AxiosInstance;
  private readonly reader: HttpClient;
  private readonly retry: RetryPolicy;

  constructor(
    private readonly system: HttpSystemConfig,
    private readonly systemName: string,
    private readonly write: PerRecordWrite,
    private readonly runtime: HttpRuntime,
    /** Remote IDs the ledger holds, by local ID (loaded once for the whole push). */
    private readonly known: Map<string, string>,
    /** Records the compare found in the target: without a known remote ID, looked up first. */
    private readonly existing: ReadonlySet<string> = new Set(),
  ) {
    this.retry = system.retry ?? DEFAULT_WRITE_RETRY;
    this.reader = new HttpClient(system, systemName, this.retry, runtime);
    const breaker = runtime.breaker;
    this.axios = axios.create({
      baseURL: system.baseUrl,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...system.headers },
      adapter: (config) => breaker.fire(config) as ReturnType<AxiosAdapter>,
    });
    guardHttp(this.axios, { allowed: system.baseUrl, followRedirects: system.followRedirects ?? 'none', deadlineMs: system.timeoutMs, label: `system "${systemName}"` });
    // Updates and deletes by remote ID are idempotent: retried by the layers. A create is not:
    // it is sent with no retry, and its retries go through a lookup first (createOrFind).
    gateAndRetry(this.axios, runtime.gate, this.retry, 'write');
  }

  /**
   * Sends the one record of an outbox entry. `earlier`: the entry was left pending by an earlier
   * attempt (its create may have been applied and its answer lost), so a create looks first.
   */
  async send(batch: OutboxBatch, signal?: AbortSignal, earlier = false): Promise<SendResult> {
    const record = (JSON.parse(batch.payload) as WireBatch).records[0];
    if (!record) return { kind: 'done', outcomes: [] };
    try {
      const outcome = record.op === 'delete' ? await this.remove(record, signal) : await this.upsert(record, signal, earlier || batch.attempts > 0 || this.existing.has(record.localId));
      if (outcome.remoteId) this.known.set(record.localId, outcome.remoteId);
      else this.known.delete(record.localId);
      return { kind: 'done', outcomes: [outcome] };
    } catch (err) {
      if (err instanceof RecordFailure) {
        if (err.result.kind === 'refused') return { kind: 'done', outcomes: [{ localId: record.localId, status: 'rejected', hash: record.hash ?? null, error: err.result.reason }] };
        return err.result;
      }
      throw err;
    }
  }

  private async upsert(record: PushRecord, signal: AbortSignal | undefined, mayExist: boolean): Promise<RecordOutcome> {
    let remoteId = this.known.get(record.localId) ?? null;
    // Found by its key though the compare did not see it: an earlier create of ours landed.
    let status: 'created' | 'updated' = 'updated';
    if (remoteId === null && mayExist) {
      remoteId = await this.lookup(record, signal);
      if (!this.existing.has(record.localId)) status = 'created';
    }
    if (remoteId !== null) {
      const updated = await this.request(this.write.update, record, remoteId, signal);
      // 404: the target lost the record since (deleted by hand): it is created again.
      if (updated !== 'gone') return this.outcome(record, status, remoteId);
    }
    return this.createOrFind(record, signal);
  }

  /** POSTs a create; after a failure whose answer may have been lost, looks the record up
   *  before sending it again, and updates what it finds. */
  private async createOrFind(record: PushRecord, signal: AbortSignal | undefined): Promise<RecordOutcome> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        const found = await this.lookup(record, signal);
        // Our create landed and its answer was lost: brought up to date, counted as created.
        if (found !== null && (await this.request(this.write.update, record, found, signal)) !== 'gone') return this.outcome(record, 'created', found);
      }
      try {
        const body = await this.request(this.write.create, record, null, signal, true);
        const remoteId = this.remoteIdOf(body === 'gone' ? undefined : body) ?? (await this.lookup(record, signal));
        return this.outcome(record, 'created', remoteId);
      } catch (err) {
        const error = err instanceof RecordFailure ? (err.cause as AxiosError | undefined) : undefined;
        if (!error || attempt >= this.retry.retries) throw err;
        const failure = classifyHttp(error, 'write');
        if (failure.action !== 'retry') throw err;
        // 409: the target holds the key already; the lookup finds it straight away.
        await sleep(error.response?.status === 409 ? 0 : backoffMs(attempt + 1, this.retry, error), signal);
      }
    }
  }

  private async remove(record: PushRecord, signal: AbortSignal | undefined): Promise<RecordOutcome> {
    const remoteId = this.known.get(record.localId) ?? (await this.lookup(record, signal));
    // Not there (deleted by an earlier attempt whose answer was lost, or by hand): done.
    if (remoteId !== null && this.write.delete) await this.request(this.write.delete, record, remoteId, signal);
    return { localId: record.localId, status: 'deleted', hash: null };
  }

  private outcome(record: PushRecord, status: 'created' | 'updated', remoteId: string | null): RecordOutcome {
    return { localId: record.localId, status, hash: record.hash ?? null, remoteId: remoteId ?? undefined };
  }

  private remoteIdOf(body: unknown): string | null {
    const value = readPath(readPath(body, this.write.result), this.write.remoteId);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  }

  /** The remote ID of the target's record with this key, or null: GET lookup.path?param=key. */
  private async lookup(record: PushRecord, signal: AbortSignal | undefined): Promise<string | null> {
    let answer;
    try {
      answer = await this.reader.getJson(this.write.lookup.path, { ...this.system.query, [this.write.lookup.param]: record.localId }, signal);
    } catch (err) {
      throw new RecordFailure(this.failureOf(err, 'GET', this.write.lookup.path));
    }
    const list = readPath(answer.body, this.write.lookup.list);
    if (!Array.isArray(list)) {
      throw new RecordFailure({ kind: 'failed', code: 'PARITY_HTTP_BAD_RESPONSE', error: `system "${this.systemName}": GET ${answer.url}: the answer has no list${this.write.lookup.list ? ` at "${this.write.lookup.list}"` : ''} (set write.lookup.list)` });
    }
    // An API may search by prefix or ignore an unknown parameter: only an exact key counts.
    for (const hit of list) {
      if (String(readPath(hit, this.write.keyField) ?? '') !== record.localId) continue;
      const id = this.remoteIdOf(hit);
      if (id !== null) return id;
    }
    return null;
  }

  /** One create, update or delete request; 'gone' for a 404 on a record's own path. */
  private async request(spec: PerRecordRequest, record: PushRecord, remoteId: string | null, signal: AbortSignal | undefined, isCreate = false): Promise<unknown | 'gone'> {
    const url = spec.path.replace(/\{(remoteId|localId)\}/g, (_, name: string) => encodeURIComponent(name === 'remoteId' ? (remoteId ?? '') : record.localId));
    const send = async () =>
      this.axios.request({
        method: spec.method,
        url,
        params: this.system.query,
        data: spec.method === 'DELETE' ? undefined : JSON.stringify(record.data ?? {}),
        headers: await this.runtime.auth.headers(signal),
        signal,
        ...(isCreate ? { 'axios-retry': { retries: 0 } } : {}),
      });
    try {
      try {
        return (await send()).data as unknown;
      } catch (err) {
        // A token that expired early is fetched again once.
        if ((err as AxiosError).response?.status !== 401 || !this.runtime.auth.invalidate()) throw err;
        return (await send()).data as unknown;
      }
    } catch (err) {
      if (!isCreate && (err as AxiosError).response?.status === 404 && remoteId !== null) return 'gone';
      throw new RecordFailure(this.failureOf(err, spec.method, url), { cause: err });
    }
  }

  private failureOf(err: unknown, method: string, url: string): SendResult {
    if (err instanceof ParityError && err.code === 'PARITY_ABORTED') return { kind: 'later', error: `${method} ${url}: aborted`, notBefore: null };
    return sendResultOf(err, `system "${this.systemName}": ${method} ${url}`, this.runtime.breaker.opened, "the write block's paths and the system's baseUrl; the record waits in the outbox");
  }
}

// Writes attachments into an HTTP target: one request per file (`write.upload`), the file as
// the body with its content type, to the path with the record's remote ID (from the sync
// ledger), its key and the field filled in. PUT of the same file twice leaves one file: the
// request is idempotent, so it is retried like a push.
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { guardHttp } from '../../../core/http-guard.js';
import type { AttachmentSink, AttachmentUpload } from '../../types.js';
import { gateAndRetry, HttpRuntime } from '../runtime.js';
import type { HttpSystemConfig } from '../schema.js';
import { DEFAULT_WRITE_RETRY } from './client.js';

export class HttpUploader implements AttachmentSink {
  private readonly axios: AxiosInstance;

  constructor(
    system: HttpSystemConfig,
    systemName: string,
    private readonly upload: { method: 'PUT' | 'POST' | 'PATCH'; path: string },
    private readonly runtime: HttpRuntime,
  ) {
    this.axios = axios.create({ baseURL: system.baseUrl, headers: { ...system.headers }, maxBodyLength: Infinity });
    guardHttp(this.axios, { allowed: system.baseUrl, followRedirects: system.followRedirects, deadlineMs: system.timeoutMs, label: `system "${systemName}"` });
    gateAndRetry(this.axios, runtime.gate, system.retry ?? DEFAULT_WRITE_RETRY, 'write');
  }

  async put(u: AttachmentUpload, signal?: AbortSignal): Promise<void> {
    if (this.upload.path.includes('{remoteId}') && u.remoteId === undefined) throw new Error('the target answered no ID for this record, and the upload path needs {remoteId}');
    const path = this.upload.path
      .replaceAll('{remoteId}', encodeURIComponent(u.remoteId ?? ''))
      .replaceAll('{localId}', encodeURIComponent(u.localId))
      .replaceAll('{field}', encodeURIComponent(u.field));
    const send = async () =>
      this.axios.request({ method: this.upload.method, url: path, data: u.body, headers: { ...(await this.runtime.auth.headers(signal)), 'Content-Type': u.contentType ?? 'application/octet-stream' }, signal });
    try {
      await send();
    } catch (err) {
      if ((err as AxiosError).response?.status !== 401 || !this.runtime.auth.invalidate()) throw err;
      await send();
    }
  }

  async close(): Promise<void> {}
}

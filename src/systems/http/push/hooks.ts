// Request hooks for a receiver that speaks another dialect than DESIGN's push wire format.
// `request` turns the batch into the body to send (and may add headers); `response` turns
// the receiver's answer into DESIGN's per-record results. Both must be pure: a batch re-sent
// after a crash must produce the same request.
import type { PushRecord, RecordStatus } from '../../../push/types.js';

export interface WireBatch {
  entity: string;
  batchId: string;
  records: PushRecord[];
}

export type RequestHook = (batch: WireBatch) => unknown | { body: unknown; headers?: Record<string, string> };
export type ResponseHook = (answer: unknown, batch: WireBatch) => { localId: string; status: RecordStatus; remoteId?: string; error?: string }[];

export interface PushHooks {
  request?: RequestHook | undefined;
  response?: ResponseHook | undefined;
}

/** The body and headers a hook made of a batch. */
export function shapeRequest(hook: RequestHook, batch: WireBatch): { body: string; headers: Record<string, string> } {
  const shaped = hook(batch);
  if (shaped && typeof shaped === 'object' && 'body' in shaped) {
    const { body, headers } = shaped as { body: unknown; headers?: Record<string, string> };
    return { body: typeof body === 'string' ? body : JSON.stringify(body), headers: headers ?? {} };
  }
  return { body: typeof shaped === 'string' ? shaped : JSON.stringify(shaped), headers: {} };
}

// Reads a CSV side in a worker thread when the compare wants only keys and hashes
// (ReadOptions.placesOnly): splitting the file and hashing its records is most of a CSV
// compare's work, and the sides then take one core each while this thread joins them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PortableMapper } from '../../collectors/mapper.js';
import { ParityError, type ErrorCode } from '../../core/errors.js';
import type { Page } from '../../core/record.js';
import { pageOf, type KeyedPage } from './placed.js';
import type { CsvSideSpec } from './schema.js';

export interface WorkerData {
  side: CsvSideSpec;
  baseDir: string;
  mapper: PortableMapper;
}

export type WorkerReply = { page: KeyedPage } | { done: number } | { error: { message: string; code: ErrorCode | null } };

/** The worker's module beside this one's (compiled, or bundled into one folder); null when
 *  running from the TypeScript source, which reads in this thread instead. */
export function workerFile(): URL | null {
  const url = new URL('./csv-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : null;
}

/** Pages a worker may read ahead of this thread. */
const AHEAD = 4;

/** The side's pages, read by a worker thread. `counted`: how many keys the worker's mapper
 *  made (for the report's key chains). Stopping early, or an abort, ends the worker. */
export async function* readInWorker(file: URL, data: WorkerData, counted: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Page> {
  // The worker's heap holds a page or two at a time: a small young generation keeps its
  // memory small too.
  const worker = new Worker(file, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 8 }, stdout: false, stderr: false });
  const replies: WorkerReply[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  worker.on('message', (m: WorkerReply) => {
    replies.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failure ??= err;
    notify();
  });
  worker.on('exit', (code) => {
    failure ??= new ParityError('PARITY_FILE_INVALID', `file ${data.side.system.path}: the thread reading it stopped (exit ${code})`);
    notify();
  });
  try {
    worker.postMessage(AHEAD);
    for (;;) {
      if (signal?.aborted) throw new ParityError('PARITY_ABORTED', 'read aborted');
      const reply = replies.shift();
      if (reply === undefined) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if ('error' in reply) throw new ParityError(reply.error.code ?? 'PARITY_FILE_INVALID', reply.error.message);
      if ('done' in reply) {
        counted(reply.done);
        return;
      }
      worker.postMessage(1);
      yield pageOf(reply.page);
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}

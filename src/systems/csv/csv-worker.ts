// A CSV side read in a worker thread (see in-worker.ts): the file is split, and each record's
// key and hash made, on another core than the compare's. Pages go back as keys, hashes and
// places (placed.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { mapperFromPortable } from '../../collectors/mapper.js';
import { describeError, isParityError } from '../../core/errors.js';
import { CsvCollector } from './collector.js';
import type { WorkerData, WorkerReply } from './in-worker.js';

const data = workerData as WorkerData;
const port = parentPort!;
/** Pages the reader has room for: it asks for one more as it takes each. */
let credit = 0;
let wake: (() => void) | null = null;
port.on('message', (n: number) => {
  credit += n;
  wake?.();
});
const send = (reply: WorkerReply) => port.postMessage(reply);

const mapper = mapperFromPortable(data.mapper);
try {
  const collector = new CsvCollector(data.side, data.baseDir);
  for await (const page of collector.keyedPages(mapper, undefined, false)) {
    while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    send({ page });
  }
  send({ done: mapper.chainCounts[0]! });
} catch (err) {
  send({ error: { message: describeError(err), code: isParityError(err) ? err.code : null } });
}

// An entity's time limit (maxDurationS): the work gets a signal that aborts at the deadline,
// and the caller stops waiting then even if some step does not listen, so one stalled system
// never holds up the entities after it.
import { ParityError } from '../core/errors.js';

export async function withDeadline<T>(ms: number, describe: () => string, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const signal = parent ? AbortSignal.any([parent, deadline.signal]) : deadline.signal;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ParityError('PARITY_DEADLINE', describe());
      deadline.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

// An entity's time limit (maxDurationS): the work gets a signal that aborts at the deadline,
// and the caller stops waiting then even if some step does not listen, so one stalled system
// never holds up the entities after it.
import { ParityError } from '../core/errors.js';

export async function withDeadline<T>(ms: number, describe: () => string, parent: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const signal = parent ? AbortSignal.any([parent, deadline.signal]) : deadline.signal;
  let timer: NodeJS.Timeout | undefined;
  let onParentAbort: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ParityError('PARITY_DEADLINE', describe());
      deadline.abort(error);
      reject(error);
    }, ms);
    // A stop from above (a shutdown, a lost lease) ends the wait too, whatever the step is doing.
    onParentAbort = () => reject(parent?.reason instanceof ParityError ? parent.reason : new ParityError('PARITY_ABORTED', 'stopped: the agent is shutting down'));
    if (parent?.aborted) onParentAbort();
    else parent?.addEventListener('abort', onParentAbort, { once: true });
  });
  try {
    return await Promise.race([work(signal), expired]);
  } finally {
    clearTimeout(timer);
    if (onParentAbort) parent?.removeEventListener('abort', onParentAbort);
  }
}

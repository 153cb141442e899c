// How a parity process stops on SIGTERM or SIGINT, for `run` and `start` alike: the first
// signal drains (nothing new starts, what is in flight finishes, the run records itself
// `cancelled`), what is still running at the deadline is aborted; a second signal exits at
// once (the outbox keeps what was not sent).

/** At most this much of shutdownTimeoutS is kept for a cancelled run to record itself. */
export const CANCEL_GRACE_MS = 3000;

/** When to abort what a drain did not stop: the deadline less the grace for recording. */
export function abortAfterMs(shutdownTimeoutS: number): number {
  const deadline = shutdownTimeoutS * 1000;
  return deadline - Math.min(CANCEL_GRACE_MS, deadline / 4);
}

/** Calls `first` on the first SIGTERM/SIGINT; exits 130 on the second. Returns the undo. */
export function onStopSignals(first: (signal: NodeJS.Signals) => void, say: (line: string) => void): () => void {
  let signals = 0;
  const handler = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      say(`parity: ${signal} again, exiting at once\n`);
      process.exit(130);
    }
    first(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

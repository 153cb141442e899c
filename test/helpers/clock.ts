// A fake clock for tests whose subject waits (backoff, Retry-After, a rate limit, a breaker's
// reset, a schedule): timers and Date are fake, sockets and files stay real. The clock moves
// on in small steps, letting real I/O through between them, so a wait of a minute takes
// milliseconds and what the test sees in Date.now() is the time the code waited for.
import { vi } from 'vitest';

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: [...FAKED], now: Date.now() });
}

/** Runs `work` to its end on the fake clock (which must be on), moving the clock `stepMs` at a time. */
export async function onClock<T>(work: Promise<T>, stepMs = 20): Promise<T> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  done.catch(() => undefined);
  while (!settled) {
    await vi.advanceTimersByTimeAsync(stepMs);
    // A turn of the real event loop: sockets and the SQLite thread pool answer here.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done;
}

// Lets long CPU work give the event loop a turn, so the status API, /healthz and signals stay
// live during a big diff or sort. Awaiting a resolved promise is not enough: only a macrotask
// (setImmediate) lets timers, sockets and signal handlers run.

/** Returns a function to await often: it yields once at least `budgetMs` passed since the last time. */
export function eventLoopTurns(budgetMs = 20): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < budgetMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        last = performance.now();
        resolve();
      }),
    );
  };
}

/**
 * Sorts like Array.prototype.sort, but in slices merged bottom-up, giving the event loop a
 * turn between slices: O(n log n), and never more than a few milliseconds without a turn.
 */
export async function sortInTurns<T>(items: T[], compare: (a: T, b: T) => number, slice = 16_384): Promise<T[]> {
  if (items.length <= slice) return items.sort(compare);
  const turn = eventLoopTurns();
  let runs: T[][] = [];
  for (let i = 0; i < items.length; i += slice) {
    runs.push(items.slice(i, i + slice).sort(compare));
    await turn();
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (!b) {
        merged.push(a);
        continue;
      }
      const out: T[] = new Array<T>(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) {
        out[k++] = compare(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
        if ((k & 0x3fff) === 0) await turn();
      }
      while (i < a.length) out[k++] = a[i++]!;
      while (j < b.length) out[k++] = b[j++]!;
      merged.push(out);
      await turn();
    }
    runs = merged;
  }
  return runs[0]!;
}

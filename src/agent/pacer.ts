// Keeps the two sides of an entity in step while they are read at once.
import type { DiffBuilder, Side } from '../reconcile/diff.js';

/**
 * Keeps the two sides in step. A side whose records wait for the other (it read ahead)
 * pauses after its page until the other side has caught up, unless the other side is done
 * or pausing too: then the sides do not arrive in the same order, and both read on (the
 * diff becomes a hash join). With the same order on both sides, memory stays bounded.
 */
export class Pacer {
  private readonly finished = new Set<Side>();
  private readonly waiting = new Map<Side, () => void>();

  constructor(
    private readonly builder: DiffBuilder,
    private readonly maxAhead: number,
  ) {}

  async after(side: Side): Promise<void> {
    const other: Side = side === 'source' ? 'target' : 'source';
    this.wake(other);
    while (this.builder.pendingCount(side) > this.maxAhead && !this.finished.has(other) && !this.waiting.has(other)) {
      await new Promise<void>((resolve) => this.waiting.set(side, resolve));
    }
  }

  done(side: Side): void {
    this.finished.add(side);
    this.wake(side === 'source' ? 'target' : 'source');
  }

  private wake(side: Side): void {
    const resolve = this.waiting.get(side);
    if (resolve) {
      this.waiting.delete(side);
      resolve();
    }
  }
}

/**
 * Long loops in short slices. The primary accepts every connection and reads every worker's
 * heartbeat on one event loop, so work proportional to the app's series (merging, rendering)
 * gives the loop back every few milliseconds; a worker does the same between the parts it sends.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long a slice runs before it lets the event loop turn. */
export const SLICE_MS = 4;

export class Slices {
  private began = performance.now();
  private calls = 0;

  /** True when the slice is over (the clock is read every 256 calls): `if (slices.due()) await slices.next();`. */
  due(): boolean {
    if ((++this.calls & 255) !== 0) return false;
    return performance.now() - this.began > SLICE_MS;
  }

  /** Lets the event loop turn (timers, I/O), then begins a new slice. */
  async next(): Promise<void> {
    await nextTurn();
    this.began = performance.now();
  }
}

/** Runs tasks one at a time, in the order they were queued: each sees what the one before it left. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // A failed task does not stop the ones after it; its caller sees the failure.
    this.tail = result.catch(() => {});
    return result;
  }
}

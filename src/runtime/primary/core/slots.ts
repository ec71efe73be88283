/**
 * What the core knows of each worker slot (1..workers) beyond the workers in it: how often
 * in a row its workers failed, what the last failure was, and until when it waits before
 * its next worker. One backoff rule for every start in a slot: a fill, a crash replacement,
 * a boot retry, a max_requests or max_memory replacement.
 */

/** A worker served this long before it failed: its slot's failures reset. */
export const STABLE_AFTER_MS = 10_000;
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_MAX_MS = 10_000;

export interface Slot {
  /** Failures in a row. */
  failures: number;
  /** A crash of a worker that had been ready, a boot that failed, or a worker that could not live under max_memory. */
  lastFailure: 'crash' | 'boot' | 'memory' | null;
  /** Awake ms before which no worker starts in this slot (null: none pending). */
  retryAt: number | null;
  /** The wait was logged. */
  announced: boolean;
}

/** The wait before a slot's next worker after `failures` failures in a row: 100 ms doubling to 10 s (none after none). */
export function backoffMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
}

export function slotOf(slots: Map<number, Slot>, id: number): Slot {
  let slot = slots.get(id);
  if (slot === undefined) {
    slot = { failures: 0, lastFailure: null, retryAt: null, announced: false };
    slots.set(id, slot);
  }
  return slot;
}

/**
 * Records a failure at awake time `awake` and sets the slot's wait. A serving worker's
 * first crash is replaced at once (its wait starts with the second in a row); a boot
 * failure waits from the first. `servedMs`: how long the failed worker had served (a
 * crash after STABLE_AFTER_MS starts the count again).
 */
export function recordFailure(slot: Slot, kind: 'crash' | 'boot' | 'memory', awake: number, servedMs = 0): void {
  slot.failures = kind === 'crash' && servedMs >= STABLE_AFTER_MS ? 0 : slot.failures + 1;
  slot.lastFailure = kind;
  const delay = backoffMs(kind === 'crash' ? Math.max(0, slot.failures - 1) : slot.failures);
  slot.retryAt = delay === 0 ? null : awake + delay;
  slot.announced = false;
}

/** The wait left (ms of awake time) before the slot may start a worker; 0 when it may now. */
export function waitLeft(slot: Slot | undefined, awake: number): number {
  return slot?.retryAt == null ? 0 : Math.max(0, slot.retryAt - awake);
}

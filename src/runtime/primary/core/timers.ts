/**
 * The core's timers, derived: after each event, reconcile lists every deadline the state
 * has (a boot limit, a kill, a backoff, the next progress line, the heartbeat tick) and this
 * module turns the difference from what is armed into timer commands. A timer firing only
 * wakes the core; what is due is read from the state, never from the timer's name.
 */

/** Every timer the core sets: the tick, drain_delay, an upgrade's limit, a slot's backoff, and each worker's deadlines by age. */
export type TimerKey =
  | 'heartbeats'
  | 'drain-delay'
  | 'upgrade'
  | 'successor-kill'
  | `backoff:${number}`
  | `boot:${number}`
  | `boot-progress:${number}`
  | `stop:${number}`
  | `stop-progress:${number}`;

/** The timers for one worker of age `age`, by what they are for. */
export const workerTimer = {
  boot: (age: number): TimerKey => `boot:${age}`,
  bootProgress: (age: number): TimerKey => `boot-progress:${age}`,
  stop: (age: number): TimerKey => `stop:${age}`,
  stopProgress: (age: number): TimerKey => `stop-progress:${age}`,
};

/** A timer to set (`ms` from now) or clear (null). */
export interface TimerChange {
  readonly name: TimerKey;
  readonly ms: number | null;
}

/**
 * The changes that make `armed` (name → real due time) match `wanted`, in a stable order;
 * `armed` is updated. A timer already armed for the same time is left alone.
 */
export function timerChanges(armed: Map<TimerKey, number>, wanted: ReadonlyMap<TimerKey, number>, now: number): TimerChange[] {
  const changes: TimerChange[] = [];
  for (const name of armed.keys()) {
    if (!wanted.has(name)) {
      armed.delete(name);
      changes.push({ name, ms: null });
    }
  }
  for (const [name, due] of wanted) {
    if (armed.get(name) === due) continue;
    armed.set(name, due);
    changes.push({ name, ms: Math.max(0, due - now) });
  }
  return changes;
}

/**
 * The primary's awake time: real time minus the time it could not run (SIGSTOP, a paused
 * container or VM, a laptop lid, its event loop blocked). Every deadline the core judges
 * about a worker (silence, boot, stop, backoff) is in awake time, so a worker is judged
 * only on what the primary could have seen: after a stall, the heartbeats queued in the
 * pipes are read before anyone is called silent.
 *
 * The core's own heartbeat tick is the witness: it is due every interval; an event that
 * comes when the tick is overdue shows the primary was not running for that long.
 */
export interface AwakeClock {
  /** Real ms the primary was not awake, over its life. */
  asleep: number;
  /** Real ms by which the next tick is due; null while no tick runs. */
  tickDue: number | null;
}

export function awakeClock(): AwakeClock {
  return { asleep: 0, tickDue: null };
}

/** Called with every event's time, first: credits an overdue tick as sleep. Returns the credit (ms). */
export function observe(clock: AwakeClock, now: number): number {
  if (clock.tickDue === null || now <= clock.tickDue) return 0;
  const slept = now - clock.tickDue;
  clock.asleep += slept;
  clock.tickDue = now;
  return slept;
}

/** The tick came: the next is due one interval from now (null: no more ticks). */
export function ticked(clock: AwakeClock, now: number, intervalMs: number | null): void {
  clock.tickDue = intervalMs === null ? null : now + intervalMs;
}

/** Awake ms at real time `now`. */
export function awakeAt(clock: AwakeClock, now: number): number {
  return now - clock.asleep;
}

/**
 * Awake ms at real time `now` as the next event will see it (an overdue tick counted as
 * sleep), without crediting it: for readers outside the core's events (the metrics), which
 * must not take the core's notice of a stall from it.
 */
export function awakeSeen(clock: AwakeClock, now: number): number {
  return awakeAt(clock, now) - (clock.tickDue !== null && now > clock.tickDue ? now - clock.tickDue : 0);
}

/** The real time at which awake time reaches `awake`, if the primary stays awake from `now`. */
export function realAt(clock: AwakeClock, now: number, awake: number): number {
  return now + Math.max(0, awake - awakeAt(clock, now));
}

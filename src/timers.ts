/** Node's timers overflow past this many ms, and then fire at once (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer for a deadline that may be none: not armed for Infinity or for more than Node's
 * timers hold (about 24.8 days), which would fire at once instead of never.
 */
export function deadlineTimer(ms: number, fire: () => void): NodeJS.Timeout | undefined {
  return Number.isFinite(ms) && ms <= MAX_TIMER_MS ? setTimeout(fire, Math.max(0, ms)) : undefined;
}

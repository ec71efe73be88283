import type { ResolvedSettings } from './options.generated.ts';

type StopSettings = Pick<ResolvedSettings, 'drain_delay' | 'graceful_timeout' | 'hook_timeout'>;

/** Seconds a platform's stop timeout keeps beyond hostd's worst case, so hostd always finishes first. */
const STOP_MARGIN = 2;

/** Each exit hook's deadline in the platform presets: short, so the drain keeps most of the stop window. */
export const PLATFORM_HOOK_TIMEOUT = 3;

/**
 * The longest a graceful stop can take, in seconds, or null when it has no bound
 * (`hook_timeout: 0`). On SIGTERM: `drain_delay`; then each worker drains for up to
 * `graceful_timeout`, runs its shutdown handlers and `worker_exit` (each bounded by
 * `hook_timeout`), and is killed 1 s after that at the latest; then `child_exit` and
 * `on_exit` run in the primary (each bounded by `hook_timeout`).
 */
export function stopBudget(s: StopSettings): number | null {
  if (s.hook_timeout <= 0) return null;
  return s.drain_delay + s.graceful_timeout + 4 * s.hook_timeout + 1;
}

/** A platform's stop timeout for these settings (systemd TimeoutStopSec, terminationGracePeriodSeconds). */
export function platformStopTimeout(s: StopSettings): number | null {
  const budget = stopBudget(s);
  return budget === null ? null : Math.ceil(budget) + STOP_MARGIN;
}

/** The graceful_timeout that makes the whole stop fit a platform's window (a preset's default). */
export function gracefulTimeoutWithin(window: number, drainDelay: number, hookTimeout = PLATFORM_HOOK_TIMEOUT): number {
  const rest = stopBudget({ drain_delay: drainDelay, graceful_timeout: 0, hook_timeout: hookTimeout }) ?? drainDelay;
  return Math.max(1, window - STOP_MARGIN - rest);
}

/**
 * The stop plan: every deadline of a stop, graceful or fast, as one function of the
 * settings and of how many functions the stop calls. The worker follows it step by step;
 * the primary kills a worker only once it is past it; the presets size `graceful_timeout`
 * with it; `hostd export` derives `TimeoutStopSec`, `terminationGracePeriodSeconds` and
 * Docker's `--stop-timeout` from it; docs/guarantees.md states it. Nothing else computes a
 * stop deadline.
 */
import { HostdError } from '../errors.ts';
import type { ResolvedSettings } from './options.generated.ts';
import type { CallDeadline } from './hooks-table.ts';

export type StopSettings = Pick<ResolvedSettings, 'drain_delay' | 'graceful_timeout' | 'hook_timeout'>;

/** `graceful`: SIGTERM; `fast`: SIGINT or SIGQUIT; `escalated`: a second stop signal during a stop. */
export type StopMode = 'graceful' | 'fast' | 'escalated';

/** The deadline of each exit call in a fast stop, when `hook_timeout` is longer (or 0). */
export const FAST_CALL_SECONDS = 3;
/** The deadline of every wait once a stop has been escalated by a second signal. */
export const ESCALATED_SECONDS = 1;
/** Time the primary allows a worker past its plan (process exit, IPC, scheduling) before SIGKILL. */
export const KILL_GRACE_SECONDS = 1;
/** Seconds a platform's stop window keeps beyond hostd's worst case, so hostd always finishes first. */
export const PLATFORM_MARGIN_SECONDS = 2;
/** Each exit call's deadline in the platform presets: short, so the drain keeps most of the window. */
export const PLATFORM_HOOK_TIMEOUT = 3;

/** How many functions a stop calls, by step. */
export interface StopShape {
  /** `post_request` functions plus `host.on('request')` handlers: any of them may still be running. */
  readonly post_request: number;
  readonly worker_int: number;
  /** `host.on('shutdown')` handlers. */
  readonly shutdown: number;
  readonly worker_exit: number;
  readonly child_exit: number;
  readonly on_exit: number;
}

export type StopStepName = 'drain_delay' | 'drain' | 'post_request' | 'worker_int' | 'shutdown' | 'worker_exit' | 'kill_grace' | 'child_exit' | 'on_exit';

export interface StopStep {
  readonly name: StopStepName;
  readonly where: 'primary' | 'worker';
  /** The longest this step may take, in seconds; null when it has no bound (`hook_timeout: 0`). */
  readonly seconds: number | null;
  /** How `seconds` was computed, as the exported files' comments and the docs say it. */
  readonly how: string;
}

export interface StopPlan {
  readonly mode: StopMode;
  /** In the order they happen. */
  readonly steps: readonly StopStep[];
  /** The longest from the primary's stop order to the worker's own exit. */
  readonly worker: number | null;
  /** When the primary kills a worker that is still there, counted from the stop order. */
  readonly killAfter: number | null;
  /** The longest from the stop signal to the primary's exit. */
  readonly total: number | null;
}

/** Seconds as the plans say them: `7 s`, `0.25 s`. */
export const seconds = (n: number): string => `${+n.toFixed(3)} s`;

/** A setting in seconds where 0 means no limit, as a bound: null for none. */
export const bound = (setting: number): number | null => (setting > 0 ? setting : null);

/** The longest `n` waits of at most `each` seconds take: 0 without any, null when `each` has no bound. */
export const repeated = (n: number, each: number | null): number | null => (n === 0 ? 0 : each === null ? null : n * each);

/** The longest a sequence of waits takes: null when one of them has no bound. */
export function boundedSum(values: readonly (number | null)[]): number | null {
  let total = 0;
  for (const value of values) {
    if (value === null) return null;
    total += value;
  }
  return total;
}

/** Steps as a sum a reader can check, term by term (a step of 0 s left out): `drain_delay 5 s + graceful_timeout 7 s + ... = 26 s`. */
export function explainSteps(steps: readonly { readonly seconds: number | null; readonly how: string }[], total: number | null): string {
  const terms = steps.filter((step) => step.seconds !== 0).map((step) => step.how);
  return `${terms.length === 0 ? '0 s' : terms.join(' + ')} = ${total === null ? 'no bound' : seconds(total)}`;
}

/**
 * One call's deadline in seconds (null = none). `drain` calls get `graceful_timeout`. `stop` calls get `hook_timeout`, at most
 * FAST_CALL_SECONDS in a fast stop (FAST_CALL_SECONDS when `hook_timeout` is 0: a fast stop
 * is always bounded) and ESCALATED_SECONDS after a second stop signal.
 */
export function callSeconds(deadline: CallDeadline, s: Pick<StopSettings, 'hook_timeout' | 'graceful_timeout'>, mode: StopMode | null = null): number | null {
  const hook = bound(s.hook_timeout);
  if (deadline === 'none') return null;
  // Alongside the drain, and no longer (0: no drain, so no wait), which a second stop signal cuts short (the runner's escalation does that).
  if (deadline === 'drain') return s.graceful_timeout;
  if (deadline === 'hook_timeout' || mode === null || mode === 'graceful') return hook;
  const cap = mode === 'fast' ? FAST_CALL_SECONDS : ESCALATED_SECONDS;
  return hook === null ? cap : Math.min(hook, cap);
}

/** How long a stopping worker waits for `post_request` calls and request handlers still running. */
function pendingSeconds(s: StopSettings, mode: StopMode): number | null {
  if (mode === 'graceful') return bound(s.hook_timeout);
  return s.hook_timeout > 0 ? Math.min(s.hook_timeout, ESCALATED_SECONDS) : ESCALATED_SECONDS;
}

/** `n` calls of `what`, each within `each` seconds. */
function calls(name: StopStepName, where: StopStep['where'], n: number, each: number | null, what: string): StopStep {
  return { name, where, seconds: repeated(n, each), how: `${what} ${n} × ${each === null ? 'no deadline' : seconds(each)}` };
}

/** The whole plan of a stop in `mode`, for a worker with this shape. */
export function stopPlan(s: StopSettings, shape: StopShape, mode: StopMode): StopPlan {
  const graceful = mode === 'graceful';
  const each = callSeconds('stop', s, mode);
  const pending = shape.post_request > 0 ? pendingSeconds(s, mode) : 0;
  const steps: StopStep[] = [
    { name: 'drain_delay', where: 'primary', seconds: graceful ? s.drain_delay : 0, how: `drain_delay ${seconds(s.drain_delay)}` },
    // Escalated: connections close at once, but `host.on('draining')` handlers still running get up to ESCALATED_SECONDS more.
    mode === 'escalated'
      ? { name: 'drain', where: 'worker', seconds: Math.min(ESCALATED_SECONDS, s.graceful_timeout), how: `host.on('draining') handlers ${seconds(Math.min(ESCALATED_SECONDS, s.graceful_timeout))}` }
      : { name: 'drain', where: 'worker', seconds: graceful ? s.graceful_timeout : 0, how: `graceful_timeout ${seconds(s.graceful_timeout)}` },
    { name: 'post_request', where: 'worker', seconds: pending, how: `post_request wait ${pending === null ? 'no deadline' : seconds(pending)}` },
    // A worker told to stop fast (or escalated before it began) runs worker_int.
    calls('worker_int', 'worker', graceful ? 0 : shape.worker_int, each, 'worker_int'),
    calls('shutdown', 'worker', shape.shutdown, each, "host.on('shutdown')"),
    calls('worker_exit', 'worker', shape.worker_exit, each, 'worker_exit'),
    { name: 'kill_grace', where: 'primary', seconds: KILL_GRACE_SECONDS, how: `kill grace ${seconds(KILL_GRACE_SECONDS)}` },
    calls('child_exit', 'primary', shape.child_exit, each, 'child_exit'),
    calls('on_exit', 'primary', shape.on_exit, each, 'on_exit'),
  ];
  const at = (names: readonly StopStepName[]) => boundedSum(steps.filter((step) => names.includes(step.name)).map((step) => step.seconds));
  const worker = at(['drain', 'post_request', 'worker_int', 'shutdown', 'worker_exit']);
  return {
    mode,
    steps,
    worker,
    killAfter: worker === null ? null : worker + KILL_GRACE_SECONDS,
    total: at(steps.map((step) => step.name)),
  };
}

/** The plan's total as a sum a reader can check: `drain_delay 5 s + graceful_timeout 7 s + ... = 26 s`. */
export function explainPlan(plan: StopPlan): string {
  return explainSteps(plan.steps, plan.total);
}

/**
 * What the presets and the exported files assume of the functions a config's presets and
 * app add: one of each exit call, and one `host.on('shutdown')` and one `host.on('request')`
 * handler (app code registers those as it runs, so no file can count them).
 */
export const ASSUMED_APP_HANDLERS = { shutdown: 1, request: 1 } as const;
/** The shape the presets size their stop for: the app's handlers, and one of each exit hook. */
export const PRESET_SHAPE: StopShape = { post_request: ASSUMED_APP_HANDLERS.request, worker_int: 0, shutdown: ASSUMED_APP_HANDLERS.shutdown, worker_exit: 1, child_exit: 1, on_exit: 1 };

/** A platform's stop timeout for a graceful stop of this plan (systemd TimeoutStopSec, terminationGracePeriodSeconds, Docker's --stop-timeout); null = no bound. */
export function platformStopTimeout(plan: StopPlan): number | null {
  return plan.total === null ? null : Math.ceil(plan.total) + PLATFORM_MARGIN_SECONDS;
}

/**
 * The `graceful_timeout` that makes a graceful stop fit a platform's window (a preset's
 * default). `option` names the preset option that gave the window, for the error when the
 * window cannot hold even a 1 s drain.
 */
export function gracefulTimeoutWithin(window: number, drainDelay: number, option: string, hookTimeout = PLATFORM_HOOK_TIMEOUT): number {
  const rest = stopPlan({ drain_delay: drainDelay, graceful_timeout: 0, hook_timeout: hookTimeout }, PRESET_SHAPE, 'graceful').total ?? 0;
  const graceful = Math.floor(window - PLATFORM_MARGIN_SECONDS - rest);
  if (graceful < 1) {
    throw new HostdError(
      'HOSTD_ERR_CONFIG_INVALID',
      `${option}: ${window} s cannot hold a stop: with drain_delay ${drainDelay} s and hook_timeout ${hookTimeout} s, the rest of a stop takes ${rest} s plus ${PLATFORM_MARGIN_SECONDS} s of margin; give at least ${Math.ceil(rest) + PLATFORM_MARGIN_SECONDS + 1} s`,
    );
  }
  return graceful;
}

/** The shape of a config's graceful stop as far as a file can tell: its hooks (the functions, or how many), plus ASSUMED_APP_HANDLERS. */
export function configShape(hooks: { readonly [P in 'post_request' | 'worker_int' | 'worker_exit' | 'child_exit' | 'on_exit']: readonly unknown[] | number }): StopShape {
  const n = (hook: readonly unknown[] | number) => (typeof hook === 'number' ? hook : hook.length);
  return {
    post_request: n(hooks.post_request) + ASSUMED_APP_HANDLERS.request,
    worker_int: n(hooks.worker_int),
    shutdown: ASSUMED_APP_HANDLERS.shutdown,
    worker_exit: n(hooks.worker_exit),
    child_exit: n(hooks.child_exit),
    on_exit: n(hooks.on_exit),
  };
}

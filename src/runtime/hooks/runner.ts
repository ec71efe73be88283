/**
 * Runs lifecycle hooks and `host.on()` handlers: in order, each call with its own deadline
 * (an AbortSignal in what it receives), traced at `loglevel: debug`. Both the deadline and
 * what a failure (a throw, a rejection, passing its deadline) does come from the call's
 * row in the settings table: a `log` call's failure is logged and the next function still
 * runs (cleanup must not be skipped); any other hook stops at its first failure and hands
 * it back, and the caller applies the row's policy. Request hooks do not come through
 * here: they have no deadline and their own fast path.
 */
import { HOOKS, HOST_EVENTS, type CallDeadline } from '../../config/hooks-table.ts';
import { callSeconds, ESCALATED_SECONDS, type StopMode } from '../../config/stop-plan.ts';
import type { HookEntry } from '../../config/types.ts';
import type { HookContextBase, HookContextMap, HookFields, ServerInfo } from '../../hooks/contexts.ts';
import type { HookName } from '../../config/options.generated.ts';
import { HostdError } from '../../errors.ts';
import type { HostEvent, HostEventMap, HostHandler } from '../../host.ts';
import { type ErrorLog, userStack } from '../log.ts';
import { recordHookDuration } from '../metrics/hooks.ts';

export interface HookRuntime {
  readonly log: ErrorLog;
  /** Read-only facts for the contexts; `server.config` is the settings the deadlines come from. */
  readonly server: ServerInfo;
  /** `primary` or `worker 3`, for the trace. */
  readonly process: string;
  /** Aborted by a second stop signal: running calls' signals abort and their waits shorten. */
  readonly escalation: AbortSignal;
  /** The stop in progress, if any: calls of a stop take their deadline from its plan. */
  readonly stopMode: () => StopMode | null;
  /** Told before each call starts (what it is, its deadline in ms or null), for progress reports. */
  readonly onCall?: (what: string, deadlineMs: number | null) => void;
}

export type { HookFields } from '../../hooks/contexts.ts';

/** What a hook, handler or app returned is awaited only if it is a promise (or promise-like). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** `post_fork[1] (flushCache, from preset acme)`: which function, by position, name and layer. */
export function hookLabel<P extends HookName>(name: P, entries: readonly HookEntry<P>[], index: number): string {
  const entry = entries[index]!;
  const which = entries.length > 1 ? `${name}[${index}]` : name;
  // A function written as `post_fork: () => {}` is named after its key; that says nothing new.
  const fnName = entry.fn.name && entry.fn.name !== name ? `${entry.fn.name}, ` : '';
  return `${which} (${fnName}from ${entry.source})`;
}


/**
 * Calls `fn` with a fresh AbortSignal and waits until what it returns settles or the
 * deadline passes, tracing the call at debug. Resolves with the failure as a HostdError
 * naming `what`, or undefined.
 */
async function callBounded(rt: HookRuntime, what: string, fn: (signal: AbortSignal) => unknown, deadline: CallDeadline): Promise<HostdError | undefined> {
  // The deadline the call's row gives in the stop under way, if any; a shortened one is the fast stop's.
  const seconds = callSeconds(deadline, rt.server.config, rt.stopMode());
  const ms = seconds === null ? null : seconds * 1000;
  const name = deadline === 'drain' ? 'graceful_timeout' : seconds === rt.server.config.hook_timeout ? 'hook_timeout' : "the fast stop's deadline";
  rt.onCall?.(what, ms);
  const controller = new AbortController();
  const started = performance.now();
  let failure: HostdError | undefined;
  try {
    const result = fn(controller.signal);
    if (isThenable(result)) await settleWithin(result, ms, name, controller, rt.escalation, what);
  } catch (error) {
    failure =
      error instanceof HostdError && error.code === 'HOSTD_ERR_HOOK_TIMEOUT'
        ? error
        : new HostdError('HOSTD_ERR_HOOK_FAILED', `${what} threw: ${userStack(error)}`, { cause: error });
  }
  if (rt.log.enabled('debug')) {
    const outcome = failure ? (failure.code === 'HOSTD_ERR_HOOK_TIMEOUT' ? 'timed out' : 'threw') : 'ok';
    rt.log.debug(`${what} in ${rt.process}: ${outcome} after ${(performance.now() - started).toFixed(1)} ms`);
  }
  return failure;
}

/**
 * Runs `name`'s functions with `fields` in their context. Resolves with the failure when
 * the hook's policy is not `log` (the caller applies the policy and reports it once),
 * else with null.
 */
export async function runHook<P extends HookName>(rt: HookRuntime, name: P, entries: readonly HookEntry<P>[], fields: HookFields<P>): Promise<HostdError | null> {
  if (entries.length === 0) return null;
  const started = performance.now();
  try {
    return await runEntries(rt, name, entries, fields);
  } finally {
    recordHookDuration(name, (performance.now() - started) / 1000);
  }
}

async function runEntries<P extends HookName>(rt: HookRuntime, name: P, entries: readonly HookEntry<P>[], fields: HookFields<P>): Promise<HostdError | null> {
  const row = HOOKS[name];
  for (let index = 0; index < entries.length; index++) {
    const fn = entries[index]!.fn;
    const call = (signal: AbortSignal) => fn({ phase: name, log: rt.log, server: rt.server, signal, ...fields } as unknown as HookContextMap[P]);
    const failure = await callBounded(rt, `hook ${hookLabel(name, entries, index)}`, call, row.deadline);
    if (failure === undefined) continue;
    if (row.onError !== 'log') return failure;
    rt.log.error(failure.message);
  }
  return null;
}

/**
 * Runs the `host.on(event)` handlers in subscription order, each bounded by its row's
 * deadline. A failing handler is logged and the next still runs (every event's policy is `log`).
 */
export async function runHostHandlers<E extends HostEvent>(
  rt: HookRuntime,
  event: E,
  handlers: readonly HostHandler<E>[],
  makeEvent: (signal: AbortSignal) => HostEventMap[E],
): Promise<void> {
  const deadline = HOST_EVENTS[event].deadline;
  const run = async (handler: HostHandler<E>, index: number) => {
    const what = `host.on('${event}') handler${handlers.length > 1 ? ` #${index + 1}` : ''}${handler.name ? ` (${handler.name})` : ''}`;
    const failure = await callBounded(rt, what, (signal) => handler(makeEvent(signal)), deadline);
    if (failure) rt.log.error(failure.message);
  };
  // Alongside the drain, handlers share its one deadline: one after another, the second would start late.
  if (deadline === 'drain') await Promise.all(handlers.map(run));
  else for (const [index, handler] of handlers.entries()) await run(handler, index);
}

/** Waits for `promise` until the deadline (shortened by escalation); aborts the call's signal when it passes. */
function settleWithin(
  promise: PromiseLike<unknown>,
  deadlineMs: number | null,
  deadlineName: string,
  controller: AbortController,
  escalation: AbortSignal,
  what: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const expire = (why: string) => {
      const error = new HostdError('HOSTD_ERR_HOOK_TIMEOUT', `${what} did not finish ${why}; its signal was aborted and hostd moved on`);
      controller.abort(error);
      reject(error);
    };
    const arm = (ms: number, why: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => expire(why), ms);
    };
    const endsAt = deadlineMs === null ? Infinity : Date.now() + deadlineMs;
    // A second stop signal shortens the wait to ESCALATED_SECONDS, never lengthens it.
    const onEscalate = () => {
      controller.abort(new HostdError('HOSTD_ERR_HOOK_TIMEOUT', 'a second stop signal arrived'));
      arm(Math.min(ESCALATED_SECONDS * 1000, endsAt - Date.now()), 'after a second stop signal');
    };
    if (deadlineMs !== null) arm(deadlineMs, `within ${deadlineName} (${deadlineMs / 1000} s)`);
    if (escalation.aborted) onEscalate();
    else escalation.addEventListener('abort', onEscalate, { once: true });
    const settle = () => {
      clearTimeout(timer);
      escalation.removeEventListener('abort', onEscalate);
    };
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/**
 * Request hooks with a trace line per call (process, duration, outcome), for `loglevel:
 * debug`. Wrapped once when the worker builds its request path, so at other levels the
 * request path is untouched.
 */
export function traceRequestHooks<P extends 'pre_request' | 'post_request'>(rt: HookRuntime, name: P, entries: readonly HookEntry<P>[]): HookEntry<P>[] {
  return entries.map((entry, index) => {
    const what = `hook ${hookLabel(name, entries, index)} in ${rt.process}`;
    const trace = (started: number, outcome: string) => rt.log.debug(`${what}: ${outcome} after ${(performance.now() - started).toFixed(1)} ms`);
    const fn = ((context: HookContextMap[P]) => {
      const started = performance.now();
      let result: unknown;
      try {
        result = entry.fn(context);
      } catch (error) {
        trace(started, 'threw');
        throw error;
      }
      if (!isThenable(result)) {
        trace(started, 'ok');
        return result;
      }
      return Promise.resolve(result).then(
        (value) => (trace(started, 'ok'), value),
        (error: unknown) => {
          trace(started, 'threw');
          throw error;
        },
      );
    }) as HookEntry<P>['fn'];
    return { ...entry, fn };
  });
}

/**
 * Waits for `promise` (which never rejects) for at most `deadlineMs` (null: no limit), and
 * at most ESCALATED_SECONDS more once `escalation` aborts. Resolves true if it settled in time.
 */
export function waitWithin(promise: Promise<unknown>, deadlineMs: number | null, escalation: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), ms);
    };
    const endsAt = deadlineMs === null ? Infinity : Date.now() + deadlineMs;
    // Shortened to ESCALATED_SECONDS by a second stop signal, never lengthened.
    const onEscalate = () => arm(Math.min(ESCALATED_SECONDS * 1000, endsAt - Date.now()));
    const finish = (settled: boolean) => {
      clearTimeout(timer);
      escalation.removeEventListener('abort', onEscalate);
      resolve(settled);
    };
    if (deadlineMs !== null) arm(deadlineMs);
    if (escalation.aborted) onEscalate();
    else escalation.addEventListener('abort', onEscalate, { once: true });
    void promise.then(() => finish(true));
  });
}

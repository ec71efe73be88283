/**
 * Runs lifecycle hooks and `host.on()` handlers: in order, each call with its own deadline
 * (an AbortSignal in what it receives), traced at `loglevel: debug`. What a hook's failure
 * (a throw, a rejection, passing its deadline) does is its policy in the settings table: a
 * `log` hook never throws (a failing function is logged and the next still runs, since
 * cleanup must not be skipped); any other hook throws at its first failure and the caller's
 * error path carries out the policy (abort the start, fail the worker, ...). Request hooks
 * do not come through here: they have no deadline and their own fast path.
 */
import { HOOKS } from '../../config/settings.ts';
import type { HookEntry } from '../../config/types.ts';
import type { HookContextBase, HookContextMap, ServerInfo } from '../../hooks/contexts.ts';
import type { HookName } from '../../config/options.generated.ts';
import { HostdError } from '../../errors.ts';
import type { HostEvent, HostEventMap, HostHandler } from '../../host.ts';
import { type ErrorLog, userStack } from '../log.ts';

export interface HookRuntime {
  readonly log: ErrorLog;
  readonly server: ServerInfo;
  /** `primary` or `worker 3`, for the trace. */
  readonly process: string;
  /** Aborted by a second stop signal: running hooks' signals abort and waits shorten. */
  readonly escalation: AbortSignal;
}

/** A hook's own context fields: everything but the common ones. */
export type HookFields<P extends HookName> = Omit<HookContextMap[P], keyof HookContextBase>;

/** How long any wait lasts once a stop has been escalated. */
export const ESCALATED_WAIT_MS = 1000;

/** The deadline of each exit hook in a fast stop (INT, QUIT), when `hook_timeout` is longer. */
export const FAST_HOOK_TIMEOUT_MS = 3000;

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
 * Calls `fn` with a fresh AbortSignal and waits until what it returns settles or
 * `deadlineMs` passes (0 = no deadline), tracing the call at debug. Resolves with the
 * failure as a HostdError naming `what`, or undefined.
 */
async function callBounded(rt: HookRuntime, what: string, fn: (signal: AbortSignal) => unknown, deadlineMs: number): Promise<HostdError | undefined> {
  const controller = new AbortController();
  const started = performance.now();
  let failure: HostdError | undefined;
  try {
    const result = fn(controller.signal);
    if (isThenable(result)) await settleWithin(result, deadlineMs, controller, rt.escalation, what);
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
 * Runs `name`'s functions with `fields` in their context. `deadlineMs` bounds each call
 * (0 = none). Throws a HostdError unless the hook's policy is `log`.
 */
export async function runHook<P extends HookName>(
  rt: HookRuntime,
  name: P,
  entries: readonly HookEntry<P>[],
  fields: HookFields<P>,
  deadlineMs: number,
): Promise<void> {
  const keepGoing = HOOKS[name].onError === 'log';
  for (let index = 0; index < entries.length; index++) {
    const fn = entries[index]!.fn;
    const call = (signal: AbortSignal) => fn({ phase: name, log: rt.log, server: rt.server, signal, ...fields } as unknown as HookContextMap[P]);
    const failure = await callBounded(rt, `hook ${hookLabel(name, entries, index)}`, call, deadlineMs);
    if (failure) {
      // A failure that changes what happens next is reported once, by the caller that acts on it.
      if (!keepGoing) throw failure;
      rt.log.error(failure.message);
    }
  }
}

/**
 * Runs the `host.on(event)` handlers in subscription order, each bounded by `deadlineMs`.
 * A failing handler is logged and the next still runs.
 */
export async function runHostHandlers<E extends HostEvent>(
  rt: HookRuntime,
  event: E,
  handlers: readonly HostHandler<E>[],
  makeEvent: (signal: AbortSignal) => HostEventMap[E],
  deadlineMs: number,
): Promise<void> {
  for (const [index, handler] of handlers.entries()) {
    const what = `host.on('${event}') handler${handlers.length > 1 ? ` #${index + 1}` : ''}${handler.name ? ` (${handler.name})` : ''}`;
    const failure = await callBounded(rt, what, (signal) => handler(makeEvent(signal)), deadlineMs);
    if (failure) rt.log.error(failure.message);
  }
}

/** Waits for `promise` until the deadline (shortened by escalation); aborts the call's signal when it passes. */
function settleWithin(promise: PromiseLike<unknown>, deadlineMs: number, controller: AbortController, escalation: AbortSignal, what: string): Promise<unknown> {
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
    const onEscalate = () => {
      controller.abort(new HostdError('HOSTD_ERR_HOOK_TIMEOUT', 'a second stop signal arrived'));
      arm(ESCALATED_WAIT_MS, 'after a second stop signal');
    };
    if (deadlineMs > 0) arm(deadlineMs, `within hook_timeout (${deadlineMs / 1000} s)`);
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

/**
 * `host`: what application and library code sees of hostd. Inside a hostd worker it
 * says so (`running`, `worker`, `capabilities`) and delivers events: `shutdown` (the
 * worker is stopping, after its in-flight requests drained), `reload` (a new generation
 * is starting) and `request` (a response finished). Outside hostd, `running` is false and
 * subscribing throws, so a library can choose its own fallback instead of registering a
 * handler that would never run.
 *
 * This module must exist once per process: the CLI, the config and the app import it
 * through the same files (dist/ shares it as one chunk), or subscriptions would be lost.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HostdError } from './errors.ts';
import type { WorkerExitReason } from './hooks/contexts.ts';

/** What a `shutdown` handler receives. */
export interface ShutdownEvent {
  /** Why the worker stops: `shutdown`, `reload`, `max_requests` or `timeout`. */
  readonly reason: WorkerExitReason;
  /** Aborted when the handler's deadline (`hook_timeout`) passes or the stop turns fast. */
  readonly signal: AbortSignal;
}

/** What a `reload` handler receives. */
export interface ReloadEvent {
  /** The generation now starting; this worker serves until the new one is ready. */
  readonly generation: number;
}

/** What a `request` handler receives, once the response finished or the client went away. */
export interface RequestEvent {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly status: number;
  readonly duration_ms: number;
  readonly aborted: boolean;
  readonly error: Error | null;
}

export interface HostEventMap {
  shutdown: ShutdownEvent;
  reload: ReloadEvent;
  request: RequestEvent;
}

export type HostEvent = keyof HostEventMap;
export type HostHandler<E extends HostEvent> = (event: HostEventMap[E]) => unknown;

/** The worker this code runs in. */
export interface HostWorker {
  /** The slot, 1..`workers`; a replacement keeps it. */
  readonly id: number;
  readonly pid: number;
  /** Counts every worker the primary ever started. */
  readonly age: number;
  /** The config generation this worker serves. */
  readonly generation: number;
}

export interface Host {
  /** True only inside a hostd worker. */
  readonly running: boolean;
  /** This worker, or null outside hostd. */
  readonly worker: HostWorker | null;
  /** The events this process will receive; empty outside hostd. */
  readonly capabilities: readonly HostEvent[];
  /**
   * Subscribes to an event; returns the function that unsubscribes. Throws when this
   * process will never receive the event (check `running` or `capabilities` first).
   */
  on<E extends HostEvent>(event: E, handler: HostHandler<E>): () => void;
  off<E extends HostEvent>(event: E, handler: HostHandler<E>): void;
  /** Asks the primary to reload (SIGHUP's effect). Needs `allow_app_control: true`. */
  reload(): void;
  /** Asks the primary to stop gracefully (SIGTERM's effect). Needs `allow_app_control: true`. */
  stop(): void;
}

/** What the worker runtime gives `host` when it attaches. */
export interface HostBinding {
  readonly worker: HostWorker;
  /** Read when asked: the config is loaded after `host` attaches. */
  readonly allowAppControl: () => boolean;
  /** Sends the request to the primary. */
  readonly control: (action: 'reload' | 'stop') => void;
  /** Called when the first `request` handler is added or the last removed. */
  readonly requestObservers: (active: boolean) => void;
}

const WORKER_EVENTS: readonly HostEvent[] = Object.freeze(['shutdown', 'reload', 'request']);

let binding: HostBinding | null = null;
const handlers: { [E in HostEvent]: Set<HostHandler<E>> } = { shutdown: new Set(), reload: new Set(), request: new Set() };

function notRunning(what: string): HostdError {
  return new HostdError(
    'HOSTD_ERR_NOT_RUNNING',
    `${what}: this process is not a hostd worker, so it would never happen; check host.running (or host.capabilities) and use your own fallback`,
  );
}

export const host: Host = Object.freeze({
  get running() {
    return binding !== null;
  },
  get worker() {
    return binding?.worker ?? null;
  },
  get capabilities() {
    return binding ? WORKER_EVENTS : [];
  },
  on<E extends HostEvent>(event: E, handler: HostHandler<E>): () => void {
    if (!(event in handlers)) throw new HostdError('HOSTD_ERR_NOT_RUNNING', `host.on: unknown event ${JSON.stringify(event)}; hostd has ${WORKER_EVENTS.join(', ')}`);
    if (binding === null) throw notRunning(`host.on(${JSON.stringify(event)})`);
    const set = handlers[event] as Set<HostHandler<E>>;
    set.add(handler);
    if (event === 'request' && set.size === 1) binding.requestObservers(true);
    return () => host.off(event, handler);
  },
  off<E extends HostEvent>(event: E, handler: HostHandler<E>): void {
    const set = handlers[event] as Set<HostHandler<E>> | undefined;
    if (!set?.delete(handler)) return;
    if (event === 'request' && set.size === 0) binding?.requestObservers(false);
  },
  reload(): void {
    control('reload');
  },
  stop(): void {
    control('stop');
  },
});

function control(action: 'reload' | 'stop'): void {
  if (binding === null) throw notRunning(`host.${action}()`);
  if (!binding.allowAppControl()) {
    throw new HostdError('HOSTD_ERR_APP_CONTROL', `host.${action}(): app code may not ${action} hostd unless the config sets allow_app_control: true`);
  }
  binding.control(action);
}

// ---- for the worker runtime ----------------------------------------------------------

/** Makes `host` report this worker. Called by the worker before the config is loaded. */
export function attachHost(next: HostBinding): void {
  binding = next;
}

/** A copy of the handlers now subscribed to `event`, in subscription order. */
export function hostHandlers<E extends HostEvent>(event: E): HostHandler<E>[] {
  return [...(handlers[event] as Set<HostHandler<E>>)];
}

/** The live set of `request` handlers (read on every observed request, so not copied). */
export const requestHandlers: ReadonlySet<HostHandler<'request'>> = handlers.request;

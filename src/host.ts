// Kept in the published .d.ts: `host`'s request events carry `node:http` types (see hooks/contexts.ts).
/// <reference types="node" preserve="true" />
/**
 * `host`: what application and library code sees of hostd. Inside a hostd worker it
 * says so (`running`, `worker`, `capabilities`) and delivers events: `draining` (a
 * graceful stop begins: close long-lived connections now), `shutdown` (the
 * worker is stopping, after its in-flight requests drained), `reload` (a new generation
 * is starting) and `request` (a response finished). Outside hostd, `running` is false and
 * subscribing throws, so a library can choose its own fallback instead of registering a
 * handler that would never run.
 *
 * The state lives on `globalThis`, not in this module, so every copy of this module in a
 * process (hostd's own, one inside an app bundle) sees the same worker and subscriptions.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HostdError } from './errors.ts';
import type { Client } from './hooks/contexts.ts';
import type { WorkerExitReason } from './hooks/reasons.ts';

/** What a `shutdown` handler receives. */
export interface ShutdownEvent {
  /** Why the worker stops: `shutdown`, `reload`, `max_requests` or `timeout`. */
  readonly reason: WorkerExitReason;
  /** Aborted when the handler's deadline (`hook_timeout`) passes or the stop turns fast. */
  readonly signal: AbortSignal;
}

/** What a `draining` handler receives, as a graceful stop begins. */
export interface DrainingEvent {
  /** Why the worker stops: `shutdown`, `reload` (its generation is retired), `max_requests` or `max_memory`. */
  readonly reason: WorkerExitReason;
  /** When connections still open (WebSockets included) are destroyed: `graceful_timeout` from now. */
  readonly deadline: Date;
  /** Aborted at the deadline, or when the stop turns fast. */
  readonly signal: AbortSignal;
}

/** What a `reload` handler receives. */
export interface ReloadEvent {
  /** The generation now starting; this worker serves until the new one is ready. */
  readonly generation: number;
  /** Aborted when the handler's deadline (`hook_timeout`) passes. */
  readonly signal: AbortSignal;
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
  draining: DrainingEvent;
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
  /**
   * Who the client of a request is, behind the proxies `forwarded_allow_ips` trusts: the same
   * object as `ctx.client` in the request hooks, computed once per request. Takes the Node
   * request (Express, Koa's `ctx.req`, Fastify's `request.raw`) or, in a fetch app, the
   * Request its `fetch` received. Throws outside hostd (check `running`).
   */
  client(req: IncomingMessage | Request): Client;
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
  /** The client of a request (a Node request, or the Request a fetch app received). */
  readonly client: (req: IncomingMessage | Request) => Client;
  /** Called when the first `request` handler is added or the last removed. */
  readonly requestObservers: (active: boolean) => void;
}

/** The binding and its subscriptions, kept on `globalThis` (see WORKER). */
interface Attached extends HostBinding {
  readonly handlers: { readonly [E in HostEvent]: Set<HostHandler<E>> };
}

/**
 * Where the worker keeps its binding: a registered symbol on `globalThis`, not a module
 * variable, so that an app bundle carrying its own copy of hostd (esbuild, webpack, ncc)
 * still talks to the worker it runs in.
 */
const WORKER = Symbol.for('hostd.worker');

/** The events a worker delivers (every HostEvent; `satisfies` fails to compile if one is missing). */
const WORKER_EVENTS = Object.freeze(Object.keys({ draining: 0, shutdown: 0, reload: 0, request: 0 } satisfies Record<HostEvent, 0>) as HostEvent[]);

function attached(): Attached | null {
  return ((globalThis as { [WORKER]?: Attached })[WORKER] ?? null);
}

function notRunning(what: string): HostdError {
  return new HostdError(
    'HOSTD_ERR_NOT_RUNNING',
    `${what}: this process is not a hostd worker, so it would never happen; check host.running (or host.capabilities) and use your own fallback`,
  );
}

export const host: Host = Object.freeze({
  get running() {
    return attached() !== null;
  },
  get worker() {
    return attached()?.worker ?? null;
  },
  get capabilities() {
    return attached() ? WORKER_EVENTS : [];
  },
  on<E extends HostEvent>(event: E, handler: HostHandler<E>): () => void {
    if (!WORKER_EVENTS.includes(event)) {
      throw new HostdError('HOSTD_ERR_UNKNOWN_EVENT', `host.on: unknown event ${JSON.stringify(event)}; hostd has ${WORKER_EVENTS.join(', ')}`);
    }
    if (typeof handler !== 'function') throw new HostdError('HOSTD_ERR_UNKNOWN_EVENT', `host.on(${JSON.stringify(event)}): expected a function, got ${typeof handler}`);
    const binding = attached();
    if (binding === null) throw notRunning(`host.on(${JSON.stringify(event)})`);
    const set = binding.handlers[event] as Set<HostHandler<E>>;
    set.add(handler);
    if (event === 'request' && set.size === 1) binding.requestObservers(true);
    return () => host.off(event, handler);
  },
  off<E extends HostEvent>(event: E, handler: HostHandler<E>): void {
    const binding = attached();
    const set = binding?.handlers[event] as Set<HostHandler<E>> | undefined;
    if (!set?.delete(handler)) return;
    if (event === 'request' && set.size === 0) binding!.requestObservers(false);
  },
  client(req: IncomingMessage | Request): Client {
    const binding = attached();
    if (binding === null) throw notRunning('host.client()');
    return binding.client(req);
  },
  reload(): void {
    control('reload');
  },
  stop(): void {
    control('stop');
  },
});

function control(action: 'reload' | 'stop'): void {
  const binding = attached();
  if (binding === null) throw notRunning(`host.${action}()`);
  if (!binding.allowAppControl()) {
    throw new HostdError('HOSTD_ERR_APP_CONTROL', `host.${action}(): app code may not ${action} hostd unless the config sets allow_app_control: true`);
  }
  binding.control(action);
}

// ---- for the worker runtime ----------------------------------------------------------

/** Makes `host` (every copy of it in this process) report this worker. Called before the config is loaded. */
export function attachHost(binding: HostBinding): void {
  const handlers = Object.fromEntries(WORKER_EVENTS.map((event) => [event, new Set()])) as unknown as Attached['handlers'];
  (globalThis as { [WORKER]?: Attached })[WORKER] = { ...binding, handlers };
}

/** A copy of the handlers now subscribed to `event`, in subscription order. */
export function hostHandlers<E extends HostEvent>(event: E): HostHandler<E>[] {
  return [...((attached()?.handlers[event] ?? []) as Iterable<HostHandler<E>>)];
}

/** The live set of `request` handlers (read on every observed request, so not copied); empty before attachHost. */
export function requestHandlers(): ReadonlySet<HostHandler<'request'>> {
  return attached()?.handlers.request ?? new Set();
}

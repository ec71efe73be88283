// Kept in the published .d.ts (TypeScript drops a plain reference since 5.5): a project
// whose tsconfig lists no `types` (the default from TypeScript 6) still gets `node:http`.
/// <reference types="node" preserve="true" />
/**
 * The context object each hook receives, by hook name (`HookContextMap`). Field names
 * are snake_case like the settings. The runtime fills these; the types are what a
 * config file sees in the editor.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ResolvedSettings } from '../config/options.generated.ts';
import type { HookName } from '../config/options.generated.ts';
import type { ChildExitReason, PrimaryExitReason, WorkerExitReason } from './reasons.ts';

/** The logger handed to every hook; lines go to the error log, tagged with the process. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Read-only facts about the primary. */
export interface ServerInfo {
  /** The primary's process id. */
  readonly pid: number;
  /** The resolved settings (defaults, presets, file, env and flags applied), frozen. */
  readonly config: Readonly<ResolvedSettings>;
  /** When the primary started. */
  readonly started_at: Date;
  /** hostd's version. */
  readonly version: string;
}

/** A worker process as the hooks see it. */
export interface WorkerInfo {
  /** The slot, 1..`workers`; a replacement worker takes its predecessor's id. */
  readonly id: number;
  /** The process id; null in `pre_fork`, before the process exists. */
  readonly pid: number | null;
  /** Counts every worker ever started by this primary: 1, 2, 3, ... */
  readonly age: number;
  /** The config generation the worker serves: 1 at start, +1 per reload. */
  readonly generation: number;
  /** When the worker became ready to accept connections; null until then. */
  readonly booted_at: Date | null;
}

// The reason words and where each is reported: one table (reasons.ts) for types, logs and docs.
export type { ChildExitReason, PrimaryExitReason, WorkerExitReason } from './reasons.ts';

/**
 * The client of a request as hostd understands it: the connection's peer, or, when the peer
 * is listed in `forwarded_allow_ips`, the client its forwarding headers (or its PROXY
 * protocol header) name.
 */
export interface Client {
  /** Its IP address; null for a peer on a unix socket that no trusted proxy spoke for. */
  readonly address: string | null;
  /** Its port, where known (a forwarding header rarely says). */
  readonly port: number | null;
  /** The scheme it used to reach the first proxy (or hostd). */
  readonly proto: 'http' | 'https';
  /**
   * Mutual TLS (`cert_reqs`): true when it sent hostd a certificate that a CA of `ca_certs`
   * signed; false when it sent none or one they did not sign (`"optional"` serves it), or
   * when `cert_reqs` is `"none"`; null when hostd serves no TLS (a proxy in front may). The
   * certificate itself is `req.socket.getPeerCertificate()`.
   */
  readonly verified: boolean | null;
}

/** A web-standard app: `fetch(request) => Response` (Hono, itty, ...). */
export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/** What `app` resolves to once loaded: a Node request listener or a fetch app. */
export type App = RequestListener | FetchApp;

/** What an app factory is called with, in each worker, before the worker takes connections. */
export interface AppContext {
  /**
   * The worker's HTTP server (an `https.Server` with `certfile`): attach WebSocket servers
   * to it (`new WebSocketServer({ server })`, socket.io's `new Server(server)`). hostd
   * feeds it the connections; do not call `listen()` on it.
   */
  readonly server: import('node:http').Server;
  /** The worker the app is made for. */
  readonly worker: WorkerInfo;
}

/**
 * An app factory: called once per worker with the worker's server and identity, it returns
 * the app (or a promise of it).
 *
 * @example
 * export default function create({ server }: AppContext) {
 *   const wss = new WebSocketServer({ server });
 *   wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
 *   return (req, res) => res.end('ok');
 * }
 */
export type AppFactory = (context: AppContext) => App | Promise<App>;

/** Fields every hook context has. */
export interface HookContextBase<P extends HookName = HookName> {
  /** The hook's name. */
  readonly phase: P;
  readonly log: Logger;
  readonly server: ServerInfo;
  /** Aborted when the hook's deadline (`hook_timeout`) passes or a second stop signal arrives. */
  readonly signal: AbortSignal;
}

export interface OnStartingContext extends HookContextBase<'on_starting'> {}

export interface PreForkContext extends HookContextBase<'pre_fork'> {
  /** The worker about to be started; `pid` is null. */
  readonly worker: WorkerInfo;
}

export interface PostForkContext extends HookContextBase<'post_fork'> {
  readonly worker: WorkerInfo;
}

export interface PostWorkerInitContext extends HookContextBase<'post_worker_init'> {
  readonly worker: WorkerInfo;
  /** The loaded app. */
  readonly app: App;
}

export interface WhenReadyContext extends HookContextBase<'when_ready'> {
  /** The workers now accepting connections. */
  readonly workers: readonly WorkerInfo[];
}

export interface PreRequestContext extends HookContextBase<'pre_request'> {
  readonly worker: WorkerInfo;
  readonly req: IncomingMessage;
  /** Answer here (e.g. `res.writeHead(503).end()`) and the app is not called. */
  readonly res: ServerResponse;
  /** The `x-request-id` header if the client sent one, else a new id. */
  readonly request_id: string;
  /** Who the client is, behind the proxies `forwarded_allow_ips` trusts (computed when first read). */
  readonly client: Client;
}

export interface PostRequestContext extends Omit<PreRequestContext, 'phase'>, HookContextBase<'post_request'> {
  /** The status code sent. */
  readonly status: number;
  /** Milliseconds from the request's arrival to the end of the response. */
  readonly duration_ms: number;
  /** What the app or `pre_request` threw, if anything. */
  readonly error: Error | null;
  /** True when the client went away before the response finished. */
  readonly aborted: boolean;
}

export interface OnReloadContext extends HookContextBase<'on_reload'> {
  /** The settings in force before this reload. */
  readonly previous: Readonly<ResolvedSettings>;
}

export interface NworkersChangedContext extends HookContextBase<'nworkers_changed'> {
  /** The worker count now. */
  readonly new: number;
  /** The worker count before. */
  readonly old: number;
}

export interface WorkerIntContext extends HookContextBase<'worker_int'> {
  readonly worker: WorkerInfo;
}

export interface WorkerExitContext extends HookContextBase<'worker_exit'> {
  readonly worker: WorkerInfo;
  readonly reason: WorkerExitReason;
}

export interface ChildExitContext extends HookContextBase<'child_exit'> {
  readonly worker: WorkerInfo;
  /** The exit code, or null when a signal ended the process. */
  readonly exit_code: number | null;
  /** The signal that ended the process (`SIGKILL`, ...), or null. */
  readonly exit_signal: NodeJS.Signals | null;
  readonly reason: ChildExitReason;
  /** For a worker killed for `timeout`: the JavaScript stack it was stuck in; null otherwise, or when none could be had. */
  readonly stack: string | null;
}

export interface OnExitContext extends HookContextBase<'on_exit'> {
  /** The code the primary exits with. */
  readonly exit_code: number;
  readonly reason: PrimaryExitReason;
}

/** Hook name → the context it receives. */
export interface HookContextMap {
  on_starting: OnStartingContext;
  pre_fork: PreForkContext;
  post_fork: PostForkContext;
  post_worker_init: PostWorkerInitContext;
  when_ready: WhenReadyContext;
  pre_request: PreRequestContext;
  post_request: PostRequestContext;
  on_reload: OnReloadContext;
  nworkers_changed: NworkersChangedContext;
  worker_int: WorkerIntContext;
  worker_exit: WorkerExitContext;
  child_exit: ChildExitContext;
  on_exit: OnExitContext;
}

/** A hook's own context fields: everything but the common ones (what hostd fills in per call). */
export type HookFields<P extends HookName> = Omit<HookContextMap[P], keyof HookContextBase>;

/** One hook function; it may be async (it is awaited). */
export type HookFn<P extends HookName> = (context: HookContextMap[P]) => unknown;

/** A hook setting: one function, or several run in order. */
export type HookOption<P extends HookName> = HookFn<P> | readonly HookFn<P>[];

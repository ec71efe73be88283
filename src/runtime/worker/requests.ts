/**
 * The request path. The handler is assembled once from what the config uses: with no
 * request hooks and no access log it is the app behind a try (no hook work at all); with
 * them, the hooks run around the app. While draining, a variant that answers with
 * `Connection: close` is swapped in, so the normal path never checks for it.
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HookEntry } from '../../config/types.ts';
import type { Client, PostRequestContext, PreRequestContext, ServerInfo, WorkerInfo } from '../../hooks/contexts.ts';
import type { HostHandler } from '../../host.ts';
import type { AccessRecord } from '../access-log.ts';
import { hookLabel, isThenable } from '../hooks/runner.ts';
import { type ErrorLog, userStack } from '../log.ts';
import type { Listener } from './fetch-adapter.ts';

const require = createRequire(import.meta.url);
let randomUUID: (() => string) | undefined;

/** A new request id. node:crypto is loaded on the first one, not on every worker's boot path. */
function newRequestId(): string {
  randomUUID ??= (require('node:crypto') as typeof import('node:crypto')).randomUUID;
  return randomUUID();
}

export interface RequestPipeline {
  readonly listener: Listener;
  readonly pre: readonly HookEntry<'pre_request'>[];
  readonly post: readonly HookEntry<'post_request'>[];
  readonly log: ErrorLog;
  readonly server: ServerInfo;
  readonly worker: WorkerInfo;
  /** Aborted on a fast stop: the request hooks' `signal`. */
  readonly signal: AbortSignal;
  readonly accessLog: ((record: AccessRecord) => void) | null;
  /** Counts every request as it begins (the heartbeat's count, `max_requests`). */
  readonly requests: RequestCounter;
  /** post_request work still running; a stopping worker waits for it. */
  readonly pending: PendingWork;
  /** The host.on('request') handlers now subscribed (a live set). */
  readonly observers: ReadonlySet<HostHandler<'request'>>;
  /** Answer a failed request with the error and its stack (`show_errors`). */
  readonly showErrors: boolean;
  /** Who the client of a request is (`ctx.client`), computed once when asked. */
  readonly client: (req: IncomingMessage) => Client;
}

/**
 * The requests a worker began: `take()` hands the heartbeat the count since the last take
 * (counting costs no message per request); the total reaching `limit` (`max_requests`, jitter
 * included; 0: none) calls `onLimit`, once.
 */
export class RequestCounter {
  #sinceTake = 0;
  #total = 0;

  constructor(
    private readonly limit = 0,
    private readonly onLimit: () => void = () => {},
  ) {}

  /** One more request. */
  add(): void {
    this.#sinceTake++;
    if (++this.#total === this.limit) this.onLimit();
  }

  /** The requests begun since the last take. */
  take(): number {
    const n = this.#sinceTake;
    this.#sinceTake = 0;
    return n;
  }
}

/** Work that must finish before the worker exits. */
export class PendingWork {
  private count = 0;
  private waiters: (() => void)[] = [];

  track(promise: Promise<unknown>): void {
    this.count++;
    void promise.finally(() => {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`non-error thrown: ${String(value)}`, { cause: value });
}

/** The app or a pre_request hook failed: log it, and answer 500 if nothing was sent yet (else cut the response). */
function failRequest(p: RequestPipeline, req: IncomingMessage, res: ServerResponse, error: unknown, hook?: string): void {
  if (hook === undefined) p.log.error(`Error handling request ${req.method} ${req.url} (the app threw):`, asError(error));
  else p.log.error(`hook ${hook} threw: ${userStack(error)}\n(answered ${req.method} ${req.url} with 500)`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(p.showErrors ? `Internal Server Error\n\n${hook ? `in hook ${hook}: ` : ''}${userStack(error)}\n` : 'Internal Server Error\n');
}

/** Counts body bytes written (for the access log's %(b)s). */
function countBytes(res: ServerResponse): () => number {
  let bytes = 0;
  const size = (chunk: unknown, encoding: unknown) =>
    typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk instanceof Uint8Array ? chunk.byteLength : 0;
  type Write = (chunk: unknown, ...rest: unknown[]) => unknown;
  const target = res as unknown as { write: Write; end: Write };
  const write = target.write;
  const end = target.end;
  target.write = function (chunk, ...rest) {
    bytes += size(chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  };
  target.end = function (chunk, ...rest) {
    if (typeof chunk !== 'function') bytes += size(chunk, rest[0]);
    return end.call(this, chunk, ...rest);
  };
  return () => bytes;
}

export function makeRequestHandler(p: RequestPipeline, draining: boolean): RequestListener {
  const { listener, pre, requests } = p;
  if (pre.length === 0 && p.post.length === 0 && p.accessLog === null && p.observers.size === 0) {
    return (req, res) => {
      if (draining) res.shouldKeepAlive = false;
      requests.add();
      let result: unknown;
      try {
        result = listener(req, res);
      } catch (error) {
        failRequest(p, req, res, error);
        return;
      }
      if (isThenable(result)) result.then(undefined, (error: unknown) => failRequest(p, req, res, error));
    };
  }
  return (req, res) => {
    if (draining) res.shouldKeepAlive = false;
    requests.add();
    const context = new RequestContext(p, req, res);
    // A listener on the instance, not a method of a ServerResponse subclass: Express
    // replaces the response's prototype, and post_request must run for every app.
    (res as ObservedResponse)[CONTEXT] = context;
    res.on('close', onResponseClose);
    // The app is reached from here, not from inside the pre_request loop: V8 then inlines it as on the plain path.
    if (pre.length === 0 || runPreRequest(context, 0)) runApp(context);
  };
}

const CONTEXT = Symbol('hostd.request');
type ObservedResponse = ServerResponse & { [CONTEXT]?: RequestContext };

/**
 * One request's hook context: what pre_request gets, then (phase, status and the rest
 * filled in) what post_request gets. One object per request, and nothing else allocated
 * unless a hook asks for it (`request_id`) or returns a promise.
 */
class RequestContext {
  phase: 'pre_request' | 'post_request' = 'pre_request';
  status = 0;
  duration_ms = 0;
  error: Error | null = null;
  aborted = false;
  #id: string | undefined = undefined;
  readonly #pipeline: RequestPipeline;
  readonly #started = performance.now();
  /** When the request arrived (Date.now()) and the body bytes counter: for the access log only. */
  readonly #access: { readonly startedAt: number; readonly bytes: () => number } | undefined;

  constructor(
    pipeline: RequestPipeline,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    this.#pipeline = pipeline;
    this.#access = pipeline.accessLog ? { startedAt: Date.now(), bytes: countBytes(res) } : undefined;
  }

  // Read from the pipeline on demand: most hooks never touch them, and each copied field costs every request.
  get log(): ErrorLog {
    return this.#pipeline.log;
  }
  get server(): ServerInfo {
    return this.#pipeline.server;
  }
  get signal(): AbortSignal {
    return this.#pipeline.signal;
  }
  get worker(): WorkerInfo {
    return this.#pipeline.worker;
  }

  /** The client's `x-request-id`, else a new one (made only when a hook reads it). */
  get request_id(): string {
    if (this.#id === undefined) {
      const header = this.req.headers['x-request-id'];
      this.#id = typeof header === 'string' && header !== '' ? header : newRequestId();
    }
    return this.#id;
  }

  /** The client behind trusted proxies: computed on the first read, once per request. */
  get client(): Client {
    return this.#pipeline.client(this.req);
  }

  get pipeline(): RequestPipeline {
    return this.#pipeline;
  }

  /** Called once the response is done or the client went away. */
  finish(): void {
    const p = this.#pipeline;
    this.phase = 'post_request';
    this.status = this.res.statusCode;
    this.duration_ms = performance.now() - this.#started;
    this.aborted = !this.res.writableFinished;
    if (this.#access !== undefined) p.accessLog!({ req: this.req, res: this.res, startedAt: this.#access.startedAt, durationMs: this.duration_ms, bytes: this.#access.bytes() });
    if (p.post.length !== 0) {
      const pending = runPostRequest(this, 0);
      if (pending !== undefined) p.pending.track(pending);
    }
    if (p.observers.size !== 0) this.observe();
  }

  private observe(): void {
    const p = this.#pipeline;
    for (const observe of p.observers) {
      try {
        const result = observe(this);
        if (isThenable(result)) p.pending.track(Promise.resolve(result).catch((error: unknown) => observerFailed(this, error)));
      } catch (error) {
        observerFailed(this, error);
      }
    }
  }
}

function onResponseClose(this: ObservedResponse): void {
  this[CONTEXT]!.finish();
}

const answered = (res: ServerResponse) => res.headersSent || res.writableEnded;

/**
 * pre_request functions in order, synchronously until one returns a promise. True when all
 * ran synchronously and none answered: the caller runs the app. After a promise, the rest
 * (and the app) run when it settles.
 */
function runPreRequest(context: RequestContext, from: number): boolean {
  const pre = context.pipeline.pre;
  for (let index = from; index < pre.length; index++) {
    let result: unknown;
    try {
      result = pre[index]!.fn(context as unknown as PreRequestContext);
    } catch (error) {
      preRequestFailed(context, index, error);
      return false;
    }
    if (isThenable(result)) {
      result.then(
        () => {
          if (!answered(context.res) && runPreRequest(context, index + 1)) runApp(context);
        },
        (error: unknown) => preRequestFailed(context, index, error),
      );
      return false;
    }
    // The hook answered the request itself: the app is not called.
    if (answered(context.res)) return false;
  }
  return true;
}

function preRequestFailed(context: RequestContext, index: number, error: unknown): void {
  context.error = asError(error);
  failRequest(context.pipeline, context.req, context.res, error, hookLabel('pre_request', context.pipeline.pre, index));
}

function runApp(context: RequestContext): void {
  const { req, res } = context;
  let result: unknown;
  try {
    result = context.pipeline.listener(req, res);
  } catch (error) {
    context.error = asError(error);
    failRequest(context.pipeline, req, res, error);
    return;
  }
  if (isThenable(result)) {
    result.then(undefined, (error: unknown) => {
      context.error = asError(error);
      failRequest(context.pipeline, req, res, error);
    });
  }
}

/**
 * Every post_request function runs, in order; one that throws is logged and the next still
 * runs. Returns a promise only if a function returned one (the worker waits for it).
 */
function runPostRequest(context: RequestContext, from: number): Promise<void> | undefined {
  const post = context.pipeline.post;
  for (let index = from; index < post.length; index++) {
    let result: unknown;
    try {
      result = post[index]!.fn(context as unknown as PostRequestContext);
    } catch (error) {
      postRequestFailed(context, index, error);
      continue;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => runPostRequest(context, index + 1),
        (error: unknown) => {
          postRequestFailed(context, index, error);
          return runPostRequest(context, index + 1);
        },
      );
    }
  }
  return undefined;
}

function observerFailed(context: RequestContext, error: unknown): void {
  context.log.error(`host.on('request') handler threw: ${userStack(error)}`);
}

function postRequestFailed(context: RequestContext, index: number, error: unknown): void {
  context.log.error(`hook ${hookLabel('post_request', context.pipeline.post, index)} threw: ${userStack(error)}`);
}

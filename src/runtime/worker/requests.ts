/**
 * The request path. The handler is assembled once from what the config uses: with no
 * request hooks and no access log it is the app behind a try (no hook work at all); with
 * them, the hooks run around the app. While draining, a variant that answers with
 * `Connection: close` is swapped in, so the normal path never checks for it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HookEntry } from '../../config/types.ts';
import type { PostRequestContext, PreRequestContext, ServerInfo, WorkerInfo } from '../../hooks/contexts.ts';
import type { AccessRecord } from '../access-log.ts';
import { hookLabel } from '../hooks/runner.ts';
import { type ErrorLog, userStack } from '../log.ts';
import type { Listener } from './fetch-adapter.ts';

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
  /** Called once per request (counts toward `max_requests`); null when not counting. */
  readonly onRequest: (() => void) | null;
  /** post_request work still running; a stopping worker waits for it. */
  readonly pending: PendingWork;
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

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`non-error thrown: ${String(value)}`, { cause: value });
}

/** The app or a pre_request hook failed: log it, and answer 500 if nothing was sent yet (else cut the response). */
function failRequest(log: ErrorLog, req: IncomingMessage, res: ServerResponse, error: unknown, hook?: string): void {
  if (hook === undefined) log.error(`Error handling request ${req.method} ${req.url} (the app threw):`, asError(error));
  else log.error(`hook ${hook} threw: ${userStack(error)}\n(answered ${req.method} ${req.url} with 500)`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('Internal Server Error\n');
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
  const { listener, onRequest, log } = p;
  if (p.pre.length === 0 && p.post.length === 0 && p.accessLog === null) {
    return (req, res) => {
      if (draining) res.shouldKeepAlive = false;
      if (onRequest !== null) onRequest();
      let result: unknown;
      try {
        result = listener(req, res);
      } catch (error) {
        failRequest(log, req, res, error);
        return;
      }
      if (isThenable(result)) result.then(undefined, (error: unknown) => failRequest(log, req, res, error));
    };
  }
  return (req, res) => {
    if (draining) res.shouldKeepAlive = false;
    void observedRequest(p, req, res);
  };
}

async function observedRequest(p: RequestPipeline, req: IncomingMessage, res: ServerResponse): Promise<void> {
  p.onRequest?.();
  const startedAt = Date.now();
  const started = performance.now();
  let error: Error | null = null;
  const bytes = p.accessLog ? countBytes(res) : undefined;
  const hooked = p.pre.length > 0 || p.post.length > 0;
  const idHeader = hooked ? req.headers['x-request-id'] : undefined;
  const context: PreRequestContext | undefined = hooked
    ? {
        phase: 'pre_request',
        log: p.log,
        server: p.server,
        signal: p.signal,
        worker: p.worker,
        req,
        res,
        request_id: typeof idHeader === 'string' && idHeader !== '' ? idHeader : randomUUID(),
      }
    : undefined;

  res.once('close', () => {
    const durationMs = performance.now() - started;
    p.accessLog?.({ req, res, startedAt, durationMs, bytes: bytes?.() });
    if (p.post.length > 0) {
      const post: PostRequestContext = { ...context!, phase: 'post_request', status: res.statusCode, duration_ms: durationMs, error, aborted: !res.writableFinished };
      p.pending.track(runPostRequest(p, post));
    }
  });

  for (let index = 0; index < p.pre.length; index++) {
    try {
      const result = p.pre[index]!.fn(context!);
      if (isThenable(result)) await result;
    } catch (thrown) {
      error = asError(thrown);
      failRequest(p.log, req, res, thrown, hookLabel('pre_request', p.pre, index));
      return;
    }
    if (res.headersSent || res.writableEnded) return;
  }

  try {
    const result = p.listener(req, res);
    if (isThenable(result)) await result;
  } catch (thrown) {
    error = asError(thrown);
    failRequest(p.log, req, res, thrown);
  }
}

/** Every post_request function runs; one that throws is logged and the next still runs. */
async function runPostRequest(p: RequestPipeline, context: PostRequestContext): Promise<void> {
  for (let index = 0; index < p.post.length; index++) {
    try {
      const result = p.post[index]!.fn(context);
      if (isThenable(result)) await result;
    } catch (error) {
      p.log.error(`hook ${hookLabel('post_request', p.post, index)} threw: ${userStack(error)}`);
    }
  }
}

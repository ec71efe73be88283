/**
 * The request path in the test process: makeRequestHandler behind a real node:http server
 * on 127.0.0.1, with the pipeline a worker builds, and the request counter the heartbeat reads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ResolvedSettings } from '../../../src/config/options.generated.ts';
import type { HookEntry } from '../../../src/config/types.ts';
import type { HookFn, PostRequestContext, ServerInfo, WorkerInfo } from '../../../src/hooks/contexts.ts';
import type { HookName } from '../../../src/config/options.generated.ts';
import type { AccessRecord } from '../../../src/runtime/access-log.ts';
import { ErrorLog, type Level } from '../../../src/runtime/log.ts';
import { makeRequestHandler, PendingWork, RequestCounter, type RequestPipeline } from '../../../src/runtime/worker/requests.ts';
import { listen, RawClient } from '../../helpers/http.ts';

/** An error log that keeps its lines (`level: message details`). */
class RecordingLog extends ErrorLog {
  readonly lines: string[] = [];
  constructor() {
    super({ errorlog: null, loglevel: 'debug', log_format: 'text', process: 'worker 1' });
  }
  override enabled(): boolean {
    return true;
  }
  override log(level: Level, message: string, details: readonly unknown[] = []): void {
    this.lines.push([`${level}: ${message}`, ...details.map((d) => (d instanceof Error ? d.message : String(d)))].join(' '));
  }
}

const server: ServerInfo = { pid: 1, config: {} as ResolvedSettings, started_at: new Date(0), version: '0.0.0-test' };
const worker: WorkerInfo = { id: 1, pid: process.pid, age: 1, generation: 1, booted_at: null };

function hook<P extends HookName>(fn: HookFn<P>, source = 'hostd.config.ts'): HookEntry<P> {
  return { fn, source };
}

function pipeline(overrides: Partial<RequestPipeline> = {}): RequestPipeline & { log: RecordingLog } {
  return {
    listener: (_req: IncomingMessage, res: ServerResponse) => res.end('app answered'),
    pre: [],
    post: [],
    log: new RecordingLog(),
    server,
    worker,
    signal: new AbortController().signal,
    accessLog: null,
    requests: new RequestCounter(),
    pending: new PendingWork(),
    observers: new Set(),
    showErrors: false,
    ...overrides,
  } as RequestPipeline & { log: RecordingLog };
}

async function serve(p: RequestPipeline, draining = false): Promise<{ url: string; port: number }> {
  const { port } = await listen(makeRequestHandler(p, draining));
  return { url: `http://127.0.0.1:${port}`, port };
}

/** A promise and its resolve, to wait for a hook to have run. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Checks that `pending` still waits for a call held until `release`, and is idle once it is released. */
async function expectWaitsFor(pending: PendingWork, release: () => void): Promise<void> {
  let idle = false;
  const waited = pending.idle().then(() => (idle = true));
  await new Promise((resolve) => setImmediate(resolve));
  expect(idle).toBe(false);
  release();
  await waited;
}

describe('a request counter', () => {
  it('hands the heartbeat the requests since the last take', () => {
    const counter = new RequestCounter();
    counter.add();
    counter.add();
    expect(counter.take()).toBe(2);
    expect(counter.take()).toBe(0);
    counter.add();
    expect(counter.take()).toBe(1);
  });

  it('calls its limit (max_requests) once, when the total reaches it, whatever was taken', () => {
    let reached = 0;
    const counter = new RequestCounter(3, () => reached++);
    counter.add();
    counter.add();
    expect(counter.take()).toBe(2);
    expect(reached).toBe(0);
    counter.add();
    expect(reached).toBe(1);
    for (let i = 0; i < 5; i++) counter.add();
    expect(reached).toBe(1);
    expect(counter.take()).toBe(6);
  });

  it('never calls it with no limit (0)', () => {
    let reached = 0;
    const counter = new RequestCounter(0, () => reached++);
    for (let i = 0; i < 10; i++) counter.add();
    expect(reached).toBe(0);
  });
});

// The same answers whether the handler is the bare one (no hook, access log or observer) or the one with hooks around the app.
describe.each([
  ['with nothing around the app', {}],
  ['with a post_request hook', { post: [hook<'post_request'>(() => {})] }],
] as const)('the request handler %s', (_, extra) => {
  it('answers with the app and counts every request', async () => {
    const p = pipeline(extra);
    const { url } = await serve(p);
    expect(await (await fetch(`${url}/a`)).text()).toBe('app answered');
    expect(await (await fetch(`${url}/b`)).text()).toBe('app answered');
    expect(p.requests.take()).toBe(2);
  });

  it('answers 500 when the app throws, and logs it', async () => {
    const p = pipeline({
      ...extra,
      listener: () => {
        throw new Error('boom');
      },
    });
    const { url } = await serve(p);
    const response = await fetch(`${url}/x`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(p.log.lines).toContain('error: Error handling request GET /x (the app threw): boom');
  });

  it("answers 500 when the app's promise rejects, with the stack under show_errors", async () => {
    const p = pipeline({ ...extra, showErrors: true, listener: () => Promise.reject(new Error('async boom')) });
    const { url } = await serve(p);
    const response = await fetch(`${url}/x`);
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/^Internal Server Error\n\nError: async boom\n/);
  });

  it('cuts the response when the app throws after sending its head', async () => {
    const p = pipeline({
      ...extra,
      listener: (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200);
        res.write('part');
        throw new Error('late');
      },
    });
    const { port } = await serve(p);
    const client = await RawClient.open(port);
    client.send('/x');
    // Not answered 500 on a response already under way, nor left open: cut.
    expect(['end', 'ECONNRESET']).toContain(await client.ended);
    expect(client.text()).not.toMatch(/Internal Server Error/);
    expect(p.log.lines.some((line) => line.startsWith('error: Error handling request GET /x (the app threw): late'))).toBe(true);
  });

  it('keeps the connection alive, and closes it after the answer while draining', async () => {
    const live = await serve(pipeline(extra));
    expect((await fetch(live.url)).headers.get('connection')).toBe('keep-alive');
    const draining = await serve(pipeline(extra), true);
    const client = await RawClient.open(draining.port);
    client.send('/');
    expect((await client.answer()).headers.connection).toBe('close');
    expect(await client.ended).toBe('end');
  });
});

describe('pre_request', () => {
  it('runs its functions in order, sync and async, before the app', async () => {
    const order: string[] = [];
    const p = pipeline({
      pre: [
        hook<'pre_request'>(() => void order.push('first')),
        hook<'pre_request'>(async ({ res }) => {
          await new Promise((resolve) => setImmediate(resolve));
          order.push('second');
          res.setHeader('x-pre', 'yes');
        }),
        hook<'pre_request'>(() => void order.push('third')),
      ],
      listener: (_req: IncomingMessage, res: ServerResponse) => {
        order.push('app');
        res.end(String(res.getHeader('x-pre')));
      },
    });
    const { url } = await serve(p);
    expect(await (await fetch(url)).text()).toBe('yes');
    expect(order).toEqual(['first', 'second', 'third', 'app']);
  });

  it('answers instead of the app: neither the app nor a later pre_request runs; post_request still does', async () => {
    const calls: string[] = [];
    const done = deferred<PostRequestContext>();
    const p = pipeline({
      pre: [hook<'pre_request'>(({ res }) => void res.writeHead(503).end('down')), hook<'pre_request'>(() => void calls.push('second pre_request'))],
      post: [hook<'post_request'>((context) => done.resolve(context))],
      listener: (_req: IncomingMessage, res: ServerResponse) => {
        calls.push('app');
        res.end();
      },
    });
    const { url } = await serve(p);
    const response = await fetch(url);
    expect([response.status, await response.text()]).toEqual([503, 'down']);
    expect((await done.promise).status).toBe(503);
    expect(calls).toEqual([]);
  });

  it('that throws or rejects is answered 500, named in the log, and given to post_request as the error', async () => {
    for (const fail of [() => Promise.reject(new Error('no token')), () => { throw new Error('no token'); }]) {
      const done = deferred<PostRequestContext>();
      const check = () => fail();
      const p = pipeline({
        pre: [hook<'pre_request'>(() => {}), hook<'pre_request'>(check, 'preset acme')],
        post: [hook<'post_request'>((context) => done.resolve(context))],
      });
      const { url } = await serve(p);
      const response = await fetch(`${url}/private`);
      expect([response.status, await response.text()]).toEqual([500, 'Internal Server Error\n']);
      const context = await done.promise;
      expect(context.error?.message).toBe('no token');
      expect(context.status).toBe(500);
      expect(p.log.lines.some((line) => line.startsWith('error: hook pre_request[1] (check, from preset acme) threw: Error: no token') && line.endsWith('(answered GET /private with 500)'))).toBe(true);
    }
  });
});

describe('post_request', () => {
  it('gets the finished request: status, duration, no error, not aborted, the request id, the worker', async () => {
    const done = deferred<PostRequestContext>();
    const seen: unknown[] = [];
    const p = pipeline({
      pre: [hook<'pre_request'>(({ request_id }) => void seen.push(request_id))],
      post: [hook<'post_request'>((context) => done.resolve(context))],
    });
    const { url } = await serve(p);
    await (await fetch(`${url}/r`, { headers: { 'x-request-id': 'req-7' } })).text();
    const context = await done.promise;
    expect({ phase: context.phase, status: context.status, error: context.error, aborted: context.aborted, request_id: context.request_id, url: context.req.url }).toEqual({
      phase: 'post_request',
      status: 200,
      error: null,
      aborted: false,
      request_id: 'req-7',
      url: '/r',
    });
    expect(context.duration_ms).toBeGreaterThanOrEqual(0);
    expect([context.worker, context.server, context.log, context.signal]).toEqual([worker, server, p.log, p.signal]);
    expect(seen).toEqual(['req-7']);
  });

  it('makes one request id when the client sent none, the same in both phases', async () => {
    const done = deferred<PostRequestContext>();
    const ids: string[] = [];
    const p = pipeline({
      pre: [hook<'pre_request'>(({ request_id }) => void ids.push(request_id))],
      post: [hook<'post_request'>((context) => done.resolve(context))],
    });
    const { url } = await serve(p);
    await (await fetch(url)).text();
    ids.push((await done.promise).request_id);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(ids[1]).toBe(ids[0]);
  });

  it('is told when the client went away before the response finished', async () => {
    const done = deferred<PostRequestContext>();
    const started = deferred();
    const p = pipeline({
      post: [hook<'post_request'>((context) => done.resolve(context))],
      listener: (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200);
        res.write('part');
        started.resolve();
      },
    });
    const { port } = await serve(p);
    const client = await RawClient.open(port);
    client.send('/stream');
    await started.promise;
    client.socket.destroy();
    const context = await done.promise;
    expect([context.aborted, context.status]).toEqual([true, 200]);
  });

  it('runs every function: one that throws is logged and the next runs; the worker waits for the async ones', async () => {
    const ran: string[] = [];
    const release = deferred();
    const called = deferred();
    const p = pipeline({
      post: [
        hook<'post_request'>(function audit() {
          throw new Error('audit failed');
        }),
        hook<'post_request'>(async () => {
          called.resolve();
          await release.promise;
          ran.push('flushed');
        }),
        hook<'post_request'>(() => void ran.push('last')),
      ],
    });
    const { url } = await serve(p);
    await (await fetch(`${url}/x`)).text();
    await called.promise;
    // The async post_request call has not settled: a stopping worker would still wait.
    await expectWaitsFor(p.pending, release.resolve);
    expect(ran).toEqual(['flushed', 'last']);
    expect(p.log.lines.some((line) => line.startsWith('error: hook post_request[0] (audit, from hostd.config.ts) threw: Error: audit failed'))).toBe(true);
  });
});

describe("host.on('request') handlers", () => {
  it('see each finished request; a throwing one is logged, an async one is waited for', async () => {
    const seen: string[] = [];
    const release = deferred();
    const called = deferred();
    const p = pipeline({
      observers: new Set([
        () => {
          throw new Error('observer failed');
        },
        async (event: { status: number; req: IncomingMessage }) => {
          called.resolve();
          await release.promise;
          seen.push(`${event.req.url} ${event.status}`);
        },
      ]),
    });
    const { url } = await serve(p);
    await (await fetch(`${url}/seen`)).text();
    await called.promise;
    await expectWaitsFor(p.pending, release.resolve);
    expect(seen).toEqual(['/seen 200']);
    expect(p.log.lines.some((line) => line.startsWith("error: host.on('request') handler threw: Error: observer failed"))).toBe(true);
  });
});

describe('the access log', () => {
  it('gets one record per request with the status and the body bytes written', async () => {
    const records: AccessRecord[] = [];
    const done = deferred();
    const p = pipeline({
      accessLog: (record) => {
        records.push(record);
        done.resolve();
      },
      listener: (_req: IncomingMessage, res: ServerResponse) => {
        res.statusCode = 201;
        res.write('héllo');
        res.write(Buffer.from([1, 2, 3]));
        res.end('!');
      },
    });
    const { url } = await serve(p);
    const before = Date.now();
    await (await fetch(`${url}/log`)).arrayBuffer();
    await done.promise;
    expect(records).toHaveLength(1);
    const [record] = records;
    expect([record!.req.url, record!.res.statusCode, record!.bytes]).toEqual(['/log', 201, Buffer.byteLength('héllo') + 3 + 1]);
    expect(record!.startedAt).toBeGreaterThanOrEqual(before);
    expect(record!.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('pending work', () => {
  it('is idle at once with nothing tracked, and once everything tracked has settled', async () => {
    const pending = new PendingWork();
    await pending.idle();
    const first = deferred();
    const second = deferred();
    pending.track(first.promise);
    pending.track(second.promise.then(() => Promise.reject(new Error('failed work counts as done'))).catch(() => {}));
    first.resolve();
    await first.promise;
    await expectWaitsFor(pending, second.resolve);
  });
});

/**
 * Serves a web-standard app (`fetch(Request) => Response`) from Node's HTTP server,
 * streaming both ways: the request body is a stream over the incoming message, the
 * response body is written chunk by chunk with back-pressure. A client that goes away
 * aborts the request's signal.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { FetchApp } from '../../hooks/contexts.ts';

/** Where a web Request keeps the Node request it was made from (`host.client(request)` in a fetch app): a WeakMap entry per request costs its set and the collector's work on it. */
const INCOMING = Symbol('hostd.incoming');
type MadeRequest = Request & { [INCOMING]?: IncomingMessage };

/** The Node request behind `req` (itself when it is one); throws for a Request hostd did not make. */
export function incomingOf(req: IncomingMessage | Request): IncomingMessage {
  if (!(req instanceof Request)) return req;
  const found = (req as MadeRequest)[INCOMING];
  if (found === undefined) throw new TypeError('host.client(request): this Request was not made by hostd for the request being served (a copy or a new Request has no client); pass the one your fetch() received');
  return found;
}

function toRequest(req: IncomingMessage, scheme: 'http' | 'https', signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  const request = new Request(`${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, init);
  (request as MadeRequest)[INCOMING] = req;
  return request;
}

async function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse): Promise<void> {
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.writeHead(response.status, response.statusText || undefined);
  if (response.body === null || req.method === 'HEAD') {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

export function fetchListener(app: FetchApp, scheme: 'http' | 'https'): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const response = await app.fetch(toRequest(req, scheme, controller.signal));
    if (!(response instanceof Response)) throw new TypeError(`fetch() returned ${typeof response}, expected a Response`);
    await writeResponse(response, req, res);
  };
}

export type Listener = RequestListener | ((req: IncomingMessage, res: ServerResponse) => Promise<void>);

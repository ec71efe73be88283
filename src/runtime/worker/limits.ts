/**
 * The HTTP limits a worker holds clients to.
 *
 * - `headers_timeout`, `request_timeout`: Node's own check (the parser's connection list,
 *   answered 408), which Node starts only when a server listens; a worker never listens, so
 *   it is started here, at an interval that fits the limits.
 * - `limit_request_*`: checked on the request head before anything else in the worker sees
 *   it (probes, hooks, the app). Each limit that is on adds one small wrapper to the request
 *   handler, assembled once: a limit that is off costs nothing.
 * - `send_timeout`: a sweep over the connections the worker tracks, every quarter of the
 *   limit (`Connections.cutStalled`), not a timer per write.
 */
import { type IncomingMessage, type RequestListener, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import type { ErrorLog } from '../log.ts';

export type LimitSettings = Pick<
  ResolvedSettings,
  'headers_timeout' | 'request_timeout' | 'limit_request_line' | 'limit_request_fields' | 'limit_request_field_size' | 'limit_request_body'
>;

/** Checks closer together than this cost more than they are worth; Node's own default is the farthest apart. */
const MIN_CHECK_MS = 50;
const MAX_CHECK_MS = 30_000;

/**
 * How often to check limits of these lengths (ms, 0 = off): every quarter of the shortest,
 * so a client is cut at most a quarter of its limit late; null when every limit is off.
 */
export function checkInterval(...limitsMs: number[]): number | null {
  const on = limitsMs.filter((ms) => ms > 0);
  if (on.length === 0) return null;
  return Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, Math.floor(Math.min(...on) / 4)));
}

/**
 * Starts Node's check of `headersTimeout` and `requestTimeout` on a server that never
 * listens; false when this Node has no such check to start.
 *
 * Node creates the list that each new connection's parser registers with (the time its
 * current request began, whether its head is complete) and the interval that answers the
 * expired ones 408, in `setupConnectionsTracking`, its own 'listening' listener. Calling it
 * directly is what listening would do: it creates that list and an unref'd interval and
 * touches nothing else (no socket, no handle); `server.close()` stops it as after a listen.
 * Emitting 'listening' instead would tell the app's own listeners that the worker listens.
 * It must run before the first connection: a parser joins the list when it is set up.
 */
export function startRequestTimeouts(http: Server): boolean {
  const setup = http.listeners('listening').find((listener) => listener.name === 'setupConnectionsTracking');
  if (setup === undefined) return false;
  setup.call(http);
  return true;
}

/** The statuses the request limits answer with. */
type Refusal = 413 | 414 | 431;

/**
 * Answers a request over a limit before anything else sees it; the connection closes once
 * the answer is out. Logged at debug: a hostile client must not be able to fill the error log.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: Refusal, why: string, log: ErrorLog, then?: () => void): void {
  log.debug(`request from ${req.socket.remoteAddress ?? 'a client'} answered ${status}: ${why}`);
  // Headers the app may have set already (a chunked body cut mid-way) are not the answer's.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = `${STATUS_CODES[status]}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body, then);
}

/** What a request the client gave up on looks like to the app (Node's own, for a client that went away). */
function abortedError(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** `limit_request_line`: the request line is METHOD SP URL SP HTTP/x.y, so the version and the spaces are 10 bytes. */
function requestLineLimit(next: RequestListener, max: number, log: ErrorLog): RequestListener {
  const room = max - 10;
  return (req, res) => {
    // One byte per character: Node's parser reads the URL as latin1.
    if (req.method!.length + req.url!.length > room) {
      return refuse(req, res, 414, `its request line is ${req.method!.length + req.url!.length + 10} bytes, over limit_request_line (${max})`, log);
    }
    next(req, res);
  };
}

/** `limit_request_fields`: rawHeaders holds every field up to `maxHeadersCount`, which the server sets above the limit. */
function fieldCountLimit(next: RequestListener, max: number, log: ErrorLog): RequestListener {
  const entries = max * 2;
  return (req, res) => {
    if (req.rawHeaders.length > entries) return refuse(req, res, 431, `it has more than ${max} header fields (limit_request_fields)`, log);
    next(req, res);
  };
}

/** `limit_request_field_size`: a field's name and value (Node's parser reads both as latin1: one character per byte). */
function fieldSizeLimit(next: RequestListener, max: number, log: ErrorLog): RequestListener {
  return (req, res) => {
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const size = raw[i]!.length + raw[i + 1]!.length;
      if (size > max) return refuse(req, res, 431, `its header field ${raw[i]!.slice(0, 64)} is ${size} bytes, over limit_request_field_size (${max})`, log);
    }
    next(req, res);
  };
}

/**
 * `limit_request_body`: a Content-Length over the limit is answered 413 at once; a chunked
 * body (whose length nobody knows in advance) is counted as it arrives.
 */
function bodyLimit(next: RequestListener, max: number, log: ErrorLog): RequestListener {
  return (req, res) => {
    // Node has built `req.headers` already (it reads `host` and `expect`): these are lookups.
    const length = req.headers['content-length'];
    if (length !== undefined) {
      // The parser accepts only digits here.
      if (Number(length) > max) return refuse(req, res, 413, `its body is ${length} bytes, over limit_request_body (${max})`, log);
    } else if (req.headers['transfer-encoding'] !== undefined) {
      countBody(req, res, max, log);
    }
    next(req, res);
  };
}

/**
 * Counts a chunked body as Node's parser hands it to the request, and cuts the request once
 * it passes `max`: the app gets no byte beyond the limit, then sees the request aborted (as
 * when a client goes away). The client gets 413 if no response was started, else the
 * connection is closed. Only chunked requests pay for this (one property on the request).
 */
function countBody(req: IncomingMessage, res: ServerResponse, max: number, log: ErrorLog): void {
  const push = req.push;
  let read = 0;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
    // Past the limit, what still arrives is dropped, but read: left unread in the kernel, it
    // would turn the close into a reset, which can cost the client the 413.
    if (read > max) return true;
    if (chunk !== null && (read += (chunk as Buffer).length) > max) {
      const why = `its chunked body passed limit_request_body (${max})`;
      if (res.headersSent) {
        log.debug(`request from ${req.socket.remoteAddress ?? 'a client'} cut: ${why}`);
        req.destroy(abortedError());
      } else {
        refuse(req, res, 413, why, log, () => req.destroy(abortedError()));
      }
      return true;
    }
    return push.call(this, chunk, encoding);
  };
}

/** The request handler with the request-head limits that are on in front of it (outermost: the first checked). */
export function withLimits(handler: RequestListener, s: LimitSettings, log: ErrorLog): RequestListener {
  let next = handler;
  if (s.limit_request_body > 0) next = bodyLimit(next, s.limit_request_body, log);
  if (s.limit_request_field_size > 0) next = fieldSizeLimit(next, s.limit_request_field_size, log);
  if (s.limit_request_fields > 0) next = fieldCountLimit(next, s.limit_request_fields, log);
  if (s.limit_request_line > 0) next = requestLineLimit(next, s.limit_request_line, log);
  return next;
}

/**
 * What the limits need of the server itself, set once before the first connection: the
 * timeouts' check, the most fields the parser keeps, and the 413 for a client that asks
 * `Expect: 100-continue` (so it never sends a body that would be refused).
 */
export function applyServerLimits(http: Server, s: LimitSettings, log: ErrorLog): void {
  const every = checkInterval(s.headers_timeout * 1000, s.request_timeout * 1000);
  if (every !== null) {
    // Not Node's 30 s (the `connectionsCheckingInterval` option, read when the check starts): a 1 s limit would run 30 s over.
    (http as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = every;
    if (!startRequestTimeouts(http)) log.warn(`this Node.js (${process.version}) has no check of slow requests hostd can start: headers_timeout and request_timeout are not enforced`);
  }
  // One more than the limit, so that a request over it is seen whole enough to be refused; above Node's 2000 when the limit is.
  if (s.limit_request_fields > 0) http.maxHeadersCount = s.limit_request_fields + 1;
  if (s.limit_request_body > 0) {
    const max = s.limit_request_body;
    // Node answers 100 Continue itself unless a listener decides; this one refuses first.
    http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const length = req.headers['content-length'];
      if (length !== undefined && Number(length) > max) return refuse(req, res, 413, `its body would be ${length} bytes, over limit_request_body (${max})`, log);
      res.writeContinue();
      http.emit('request', req, res);
    });
  }
}

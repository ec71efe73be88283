/**
 * Health probes hostd answers itself, before the app (and before any hook, the access log
 * or `max_requests` counting): readiness says whether this instance should get traffic,
 * liveness that the worker's event loop runs. With neither configured the request path is
 * the handler as it is.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export interface Probes {
  readonly readiness: string | null;
  readonly liveness: string | null;
  /** False once the instance is draining (SIGTERM, drain_delay) or this worker stops. */
  readonly ready: () => boolean;
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

/** `/readyz` and `/readyz?verbose` both match `/readyz`. */
function matches(url: string | undefined, path: string | null): boolean {
  return path !== null && url !== undefined && (url === path || (url.startsWith(path) && url[path.length] === '?'));
}

export function withProbes(handler: RequestListener, probes: Probes, draining: boolean): RequestListener {
  if (probes.readiness === null && probes.liveness === null) return handler;
  return (req: IncomingMessage, res: ServerResponse) => {
    if (matches(req.url, probes.readiness)) {
      if (draining) res.shouldKeepAlive = false;
      if (probes.ready()) answer(res, 200, 'ready\n');
      else answer(res, 503, 'draining\n');
      return;
    }
    if (matches(req.url, probes.liveness)) {
      if (draining) res.shouldKeepAlive = false;
      answer(res, 200, 'alive\n');
      return;
    }
    handler(req, res);
  };
}

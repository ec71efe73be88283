/**
 * The HTTP limits a worker holds clients to.
 *
 * - `headers_timeout`, `request_timeout`: Node's own check (the parser's connection list,
 *   answered 408), which Node starts only when a server listens; a worker never listens, so
 *   it is started here, at an interval that fits the limits.
 * - `send_timeout`: a sweep over the connections the worker tracks, every quarter of the
 *   limit (`Connections.cutStalled`), not a timer per write.
 */
import type { Server } from 'node:http';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import type { ErrorLog } from '../log.ts';

export type LimitSettings = Pick<ResolvedSettings, 'headers_timeout' | 'request_timeout'>;

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

/** What the limits need of the server itself, set once before the first connection: the timeouts' check. */
export function applyServerLimits(http: Server, s: LimitSettings, log: ErrorLog): void {
  const every = checkInterval(s.headers_timeout * 1000, s.request_timeout * 1000);
  if (every !== null) {
    // Not Node's 30 s (the `connectionsCheckingInterval` option, read when the check starts): a 1 s limit would run 30 s over.
    (http as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = every;
    if (!startRequestTimeouts(http)) log.warn(`this Node.js (${process.version}) has no check of slow requests hostd can start: headers_timeout and request_timeout are not enforced`);
  }
}

/**
 * Keep-alive behind a load balancer: hostd must keep an idle connection longer than the
 * balancer in front of it, so that the balancer always closes first (otherwise it sends a
 * request on a connection hostd is closing, and its client gets a 502: nodejs/node#20256).
 * Node closes an idle keep-alive connection at headersTimeout too, so headers_timeout goes
 * above keepalive, and request_timeout at least there (docs/deploy/behind-a-proxy.md).
 */
import * as z from 'zod/mini';
import { seconds } from '../../config/kinds.ts';
import { SETTINGS } from '../../config/settings.ts';
import type { UserConfig } from '../../config/types.ts';

export const KEEPALIVE_OPTION = { keepalive: z.optional(seconds().schema) };

export interface KeepaliveOptions {
  /**
   * Seconds an idle keep-alive connection is kept: above the idle timeout of the balancer in
   * front (AWS ALB and nginx 60 s, Heroku 90 s, Google's 600 s: docs/deploy/behind-a-proxy.md).
   * `headers_timeout` is set 5 s above it.
   */
  keepalive?: number;
}

/** How much longer than keepalive a connection may take to send its next request's headers. */
const HEADERS_AFTER_KEEPALIVE = 5;

/** The settings that keep idle connections `keepalive` seconds, consistent with each other. */
export function outliveBalancer(keepalive: number): Pick<UserConfig, 'keepalive' | 'headers_timeout' | 'request_timeout'> {
  const headers = keepalive + HEADERS_AFTER_KEEPALIVE;
  const request = SETTINGS.request_timeout.default;
  return { keepalive, headers_timeout: headers, ...(request > 0 && headers > request ? { request_timeout: headers } : {}) };
}

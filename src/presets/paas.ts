/**
 * Heroku, Render, Fly and the like: listen on `$PORT`, take the worker count from
 * `WEB_CONCURRENCY` when the platform sets it, and stop within the platform's 30 s
 * window between SIGTERM and SIGKILL. Idle keep-alive connections are kept longer than the
 * platform's router keeps its own (95 s).
 */
import * as z from 'zod/mini';
import { definePreset } from '../config/define.ts';
import { seconds } from '../config/kinds.ts';
import type { Preset } from '../config/types.ts';
import { gracefulTimeoutWithin, PLATFORM_HOOK_TIMEOUT } from '../config/stop-plan.ts';
import { KEEPALIVE_OPTION, type KeepaliveOptions, outliveBalancer } from './shared/keepalive.ts';
import { bindAllInterfaces, PORT_OPTION, type PortOptions } from './shared/port.ts';

export interface PaasOptions extends PortOptions, KeepaliveOptions {
  /** Seconds the platform allows between SIGTERM and SIGKILL. @default 30 */
  stop_window?: number;
}

const OPTIONS = z.object({ ...PORT_OPTION, ...KEEPALIVE_OPTION, stop_window: z.optional(seconds().schema) });

const paas: (options?: PaasOptions) => Preset = definePreset('paas', OPTIONS, (options) => {
  const concurrency = Number.parseInt(process.env.WEB_CONCURRENCY ?? '', 10);
  return {
    bind: bindAllInterfaces(options),
    workers: concurrency > 0 ? concurrency : 'auto',
    // The whole stop fits the platform's 30 s between SIGTERM and SIGKILL.
    graceful_timeout: gracefulTimeoutWithin(options.stop_window ?? 30, 0, 'paas({ stop_window })'),
    hook_timeout: PLATFORM_HOOK_TIMEOUT,
    // Above the 90 s a Heroku router keeps an idle connection to a dyno; paas({ keepalive }) for another platform.
    ...outliveBalancer(options.keepalive ?? 95),
    errorlog: '-',
    accesslog: '-',
  };
});
export default paas;

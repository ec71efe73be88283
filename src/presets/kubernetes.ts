/**
 * Kubernetes: listen on every interface at `$PORT` (8000); one worker per CPU of the
 * container's quota; `/readyz` and `/livez` answered by hostd before the app; on SIGTERM
 * `/readyz` answers 503 for `drain_delay` seconds while the app keeps serving (so the pod
 * leaves the Service's endpoints before it stops accepting), then the graceful stop, all
 * within `terminationGracePeriodSeconds`. Idle keep-alive connections are kept longer than the
 * load balancer in front keeps its own (65 s).
 */
import * as z from 'zod/mini';
import { definePreset } from '../config/define.ts';
import { seconds, urlPath } from '../config/kinds.ts';
import type { Preset } from '../config/types.ts';
import { gracefulTimeoutWithin, PLATFORM_HOOK_TIMEOUT } from '../config/stop-plan.ts';
import { KEEPALIVE_OPTION, type KeepaliveOptions, outliveBalancer } from './shared/keepalive.ts';
import { bindAllInterfaces, PORT_OPTION, type PortOptions } from './shared/port.ts';

export interface KubernetesOptions extends PortOptions, KeepaliveOptions {
  /** Path of the readiness probe. @default '/readyz' */
  readiness_path?: string;
  /** Path of the liveness probe. @default '/livez' */
  liveness_path?: string;
  /** Seconds `/readyz` answers 503 after SIGTERM before the graceful stop starts. @default 5 */
  drain_delay?: number;
  /** The pod's `terminationGracePeriodSeconds`; the stop is sized to fit it. @default 30 */
  termination_grace_period?: number;
}

/** The options, checked like the settings of the same names. */
const OPTIONS = z.object({
  ...PORT_OPTION,
  ...KEEPALIVE_OPTION,
  readiness_path: z.optional(urlPath().schema),
  liveness_path: z.optional(urlPath().schema),
  drain_delay: z.optional(seconds().schema),
  termination_grace_period: z.optional(seconds().schema),
});

const kubernetes: (options?: KubernetesOptions) => Preset = definePreset('kubernetes', OPTIONS, (options) => {
  const drainDelay = options.drain_delay ?? 5;
  return {
    bind: bindAllInterfaces(options),
    workers: 'auto',
    readiness_path: options.readiness_path ?? '/readyz',
    liveness_path: options.liveness_path ?? '/livez',
    drain_delay: drainDelay,
    // The whole stop (drain_delay, the drain, the exit hooks) fits terminationGracePeriodSeconds.
    graceful_timeout: gracefulTimeoutWithin(options.termination_grace_period ?? 30, drainDelay, 'kubernetes({ termination_grace_period })'),
    hook_timeout: PLATFORM_HOOK_TIMEOUT,
    // Above the 60 s of an AWS ALB, nginx and ingress-nginx; kubernetes({ keepalive }) for another balancer.
    ...outliveBalancer(options.keepalive ?? 65),
    errorlog: '-',
  };
});
export default kubernetes;

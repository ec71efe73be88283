/**
 * Kubernetes: listen on every interface at `$PORT` (8000); one worker per CPU of the
 * container's quota; `/readyz` and `/livez` answered by hostd before the app; on SIGTERM
 * `/readyz` answers 503 for `drain_delay` seconds while the app keeps serving (so the pod
 * leaves the Service's endpoints before it stops accepting), then the graceful stop, all
 * within `terminationGracePeriodSeconds`.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';
import { gracefulTimeoutWithin, PLATFORM_HOOK_TIMEOUT } from '../config/stop-plan.ts';
import { bindAllInterfaces, type PortOptions } from './shared/port.ts';

export interface KubernetesOptions extends PortOptions {
  /** Path of the readiness probe. @default '/readyz' */
  readiness_path?: string;
  /** Path of the liveness probe. @default '/livez' */
  liveness_path?: string;
  /** Seconds `/readyz` answers 503 after SIGTERM before the graceful stop starts. @default 5 */
  drain_delay?: number;
  /** The pod's `terminationGracePeriodSeconds`; the stop is sized to fit it. @default 30 */
  termination_grace_period?: number;
}

export default function kubernetes(options: KubernetesOptions = {}): Preset {
  const drainDelay = options.drain_delay ?? 5;
  return definePreset({
    name: 'kubernetes',
    bind: bindAllInterfaces(options),
    workers: 'auto',
    readiness_path: options.readiness_path ?? '/readyz',
    liveness_path: options.liveness_path ?? '/livez',
    drain_delay: drainDelay,
    // The whole stop (drain_delay, the drain, the exit hooks) fits terminationGracePeriodSeconds.
    graceful_timeout: gracefulTimeoutWithin(options.termination_grace_period ?? 30, drainDelay, 'kubernetes({ termination_grace_period })'),
    hook_timeout: PLATFORM_HOOK_TIMEOUT,
    errorlog: '-',
  });
}

/**
 * Kubernetes: listen on every interface at `$PORT` (8000), one worker per CPU of the
 * container's quota, and stop within the default 30 s terminationGracePeriodSeconds.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export interface KubernetesOptions {
  /** The port to listen on. @default process.env.PORT, else 8000 */
  port?: number;
}

export default function kubernetes(options: KubernetesOptions = {}): Preset {
  return definePreset({
    name: 'kubernetes',
    bind: `0.0.0.0:${options.port ?? (Number(process.env.PORT) || 8000)}`,
    workers: 'auto',
    graceful_timeout: 20,
    hook_timeout: 5,
    errorlog: '-',
  });
}

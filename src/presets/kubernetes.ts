/**
 * Kubernetes: listen on every interface at `$PORT` (8000), one worker per CPU of the
 * container's quota, and stop within the default 30 s terminationGracePeriodSeconds.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';
import { bindAllInterfaces, type PortOptions } from './shared/port.ts';

export interface KubernetesOptions extends PortOptions {}

export default function kubernetes(options: KubernetesOptions = {}): Preset {
  return definePreset({
    name: 'kubernetes',
    bind: bindAllInterfaces(options),
    workers: 'auto',
    graceful_timeout: 20,
    hook_timeout: 5,
    errorlog: '-',
  });
}

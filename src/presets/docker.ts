/**
 * Docker: listen on every interface at `$PORT` (8000), log to stdout and stderr where
 * `docker logs` collects them, and fit the whole stop into the container's stop timeout.
 * As PID 1, hostd honours signals and reaps orphaned processes (docs/deploy/docker.md).
 */
import * as z from 'zod/mini';
import { definePreset } from '../config/define.ts';
import { seconds } from '../config/kinds.ts';
import type { Preset } from '../config/types.ts';
import { gracefulTimeoutWithin, PLATFORM_HOOK_TIMEOUT } from '../config/stop-plan.ts';
import { bindAllInterfaces, PORT_OPTION, type PortOptions } from './shared/port.ts';

export interface DockerOptions extends PortOptions {
  /**
   * Seconds between `docker stop`'s SIGTERM and its SIGKILL: start containers with
   * `--stop-timeout` (Compose: `stop_grace_period`) of this value; Docker's own default is 10.
   * @default 30
   */
  stop_timeout?: number;
}

const OPTIONS = z.object({ ...PORT_OPTION, stop_timeout: z.optional(seconds().schema) });

const docker: (options?: DockerOptions) => Preset = definePreset('docker', OPTIONS, (options) => ({
  bind: bindAllInterfaces(options),
  graceful_timeout: gracefulTimeoutWithin(options.stop_timeout ?? 30, 0, 'docker({ stop_timeout })'),
  hook_timeout: PLATFORM_HOOK_TIMEOUT,
  errorlog: '-',
  accesslog: '-',
}));
export default docker;

/**
 * Development: one worker, restarted when the app's files change (the primary and the
 * socket stay), debug logging that traces every hook call, errors shown in the response,
 * an access log, no heartbeat timeout (a debugger may pause a worker), quick stops.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export interface DevelopmentOptions {
  /** More files or folders to watch (the app's folder and the config are always watched). @default [] */
  watch?: string[];
}

export default function development(options: DevelopmentOptions = {}): Preset {
  return definePreset({
    name: 'development',
    workers: 1,
    reload: true,
    reload_extra_files: options.watch ?? [],
    show_errors: true,
    loglevel: 'debug',
    accesslog: '-',
    timeout: 0,
    graceful_timeout: 2,
  });
}

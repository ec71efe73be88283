/**
 * Development: one worker, restarted when the app's files change (the primary and the
 * socket stay), debug logging that traces every hook call, errors shown in the response,
 * an access log, no heartbeat timeout (a debugger may pause a worker), quick stops.
 */
import * as z from 'zod/mini';
import { definePreset } from '../config/define.ts';
import { pathList } from '../config/kinds.ts';
import type { Preset } from '../config/types.ts';

export interface DevelopmentOptions {
  /** More files or folders to watch (the app's folder and the config are always watched). @default [] */
  watch?: string[];
}

const OPTIONS = z.object({ watch: z.optional(pathList().schema) });

const development: (options?: DevelopmentOptions) => Preset = definePreset('development', OPTIONS, (options) => ({
  workers: 1,
  reload: true,
  reload_extra_files: options.watch ?? [],
  show_errors: true,
  loglevel: 'debug',
  accesslog: '-',
  timeout: 0,
  graceful_timeout: 2,
}));
export default development;

/** Development: one worker, debug logging (which traces every hook call), an access log. */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export default function development(): Preset {
  return definePreset({ name: 'development', workers: 1, loglevel: 'debug', accesslog: '-', graceful_timeout: 2 });
}

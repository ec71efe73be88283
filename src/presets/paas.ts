/**
 * Heroku, Render, Fly and the like: listen on `$PORT`, take the worker count from
 * `WEB_CONCURRENCY` when the platform sets it, and stop within the platform's 30 s
 * window between SIGTERM and SIGKILL.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';
import { bindAllInterfaces, type PortOptions } from './shared/port.ts';

export interface PaasOptions extends PortOptions {}

export default function paas(options: PaasOptions = {}): Preset {
  const concurrency = Number.parseInt(process.env.WEB_CONCURRENCY ?? '', 10);
  return definePreset({
    name: 'paas',
    bind: bindAllInterfaces(options),
    workers: concurrency > 0 ? concurrency : 'auto',
    // Drain, then worker_exit, inside the platform's 30 s: 20 + a 5 s hook deadline.
    graceful_timeout: 20,
    hook_timeout: 5,
    errorlog: '-',
    accesslog: '-',
  });
}

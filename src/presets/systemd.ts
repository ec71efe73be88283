/**
 * systemd: readiness, reloads, stops and watchdog pings through sd_notify (Type=notify),
 * sockets from socket activation when systemd passes them, logs to stderr (the journal).
 * `hostd export systemd` writes the matching unit files.
 */
import * as z from 'zod/mini';
import { definePreset } from '../config/define.ts';
import { flag } from '../config/kinds.ts';
import type { Preset } from '../config/types.ts';

export interface SystemdOptions {
  /** Listen on the sockets systemd passes (LISTEN_FDS) when it passes some. @default true */
  socket_activation?: boolean;
}

/**
 * The sockets systemd passed to this process, read once when this module loads: the
 * primary clears the variables once it has opened the sockets, and a reload reads the
 * config again.
 */
const ACTIVATED_FDS = Number(process.env.LISTEN_PID) === process.pid ? Math.max(0, Number(process.env.LISTEN_FDS) || 0) : 0;

/** `fd://3`, `fd://4`, ... for the sockets systemd passed (they start at fd 3). */
const ACTIVATED_BINDS = Array.from({ length: ACTIVATED_FDS }, (_, i) => `fd://${3 + i}`);

const OPTIONS = z.object({ socket_activation: z.optional(flag().schema) });

const systemd: (options?: SystemdOptions) => Preset = definePreset('systemd', OPTIONS, (options) => {
  const binds = options.socket_activation === false ? [] : ACTIVATED_BINDS;
  return {
    ...(binds.length > 0 ? { bind: binds } : {}),
    sd_notify: true,
    errorlog: '-',
    pidfile: null,
  };
});
export default systemd;

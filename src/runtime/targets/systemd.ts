/**
 * systemd: sd_notify messages to $NOTIFY_SOCKET (readiness, reloads, stops, watchdog,
 * status), and keeping systemd's variables to the primary.
 *
 * Stock Node cannot send to a Unix datagram socket (node:dgram is UDP only; node:net
 * gives EPROTOTYPE). hostd uses, in order:
 *  1. its own native helper (src/native/hostd.c): the primary sends itself, so
 *     `NotifyAccess=main` suffices;
 *  2. the `systemd-notify` tool, with `--pid=` the primary's: the message comes from a
 *     child process, so the unit needs `NotifyAccess=all`;
 *  3. neither: a warning at start, and no notifications.
 * (The npm package node-unix-socket was measured too: its prebuilt binaries exist only for
 * linux-x64 on this registry, and its other platforms' optional packages 404, which makes
 * `npm ci` reject the lockfile. The helper hostd builds for reaping does the job instead.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { printablePath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';
import type { ErrorLog } from '../log.ts';
import { native } from '../native.ts';

/** What a notification says: `{ READY: 1, STATUS: 'serving' }` becomes `READY=1\nSTATUS=serving`. */
export type NotifyState = Readonly<Record<string, string | number>>;

export interface Notifier {
  readonly via: 'the native helper' | 'systemd-notify';
  notify(state: NotifyState): void;
}

/** Socket activation's variables: spent once the primary opened the sockets (as sd_listen_fds(1) does). */
export const LISTEN_VARIABLES = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

/** Whether systemd started this process by socket activation (read at load, before the primary clears the variables). */
export const SOCKET_ACTIVATED = Number(process.env.LISTEN_PID) === process.pid && Number(process.env.LISTEN_FDS) > 0;

/** The variables systemd sets for the main process; workers must not see them. */
export const SYSTEMD_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', ...LISTEN_VARIABLES] as const;

function format(state: NotifyState): string {
  return Object.entries(state)
    .map(([key, value]) => `${key}=${String(value).replaceAll('\n', ' ')}`)
    .join('\n');
}

function viaHelper(socketPath: string, log: ErrorLog): Notifier | null {
  const helper = native();
  if (helper === null) return null;
  return {
    via: 'the native helper',
    notify(state) {
      try {
        helper.sendDatagram(socketPath, format(state));
      } catch (error) {
        log.warn(`sd_notify: could not send to NOTIFY_SOCKET ${printablePath(socketPath)}: ${escapeControls((error as Error).message)}`);
      }
    },
  };
}

function viaTool(log: ErrorLog): Notifier | null {
  if (spawnSync('systemd-notify', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  return {
    via: 'systemd-notify',
    notify(state) {
      const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...format(state).split('\n')], { stdio: 'ignore' });
      child.on('error', (error) => log.warn(`sd_notify: systemd-notify failed: ${error.message}`));
    },
  };
}

/** A notifier for $NOTIFY_SOCKET, or null (with a warning when systemd asked for one but none works). */
export function createNotifier(log: ErrorLog, env: NodeJS.ProcessEnv = process.env): Notifier | null {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath) {
    log.debug('sd_notify: NOTIFY_SOCKET is not set (not started by systemd with Type=notify); nothing to notify');
    return null;
  }
  const notifier = viaHelper(socketPath, log) ?? viaTool(log);
  if (notifier === null) {
    log.warn("sd_notify: cannot send to NOTIFY_SOCKET: hostd's native helper is not built here and systemd-notify is not installed (with it, set NotifyAccess=all)");
  } else {
    log.debug(`sd_notify: sending to ${printablePath(socketPath)} with ${notifier.via}`);
  }
  return notifier;
}

/** The interval at which to send WATCHDOG=1 (half of WATCHDOG_USEC), or null when systemd set no watchdog for us. */
export function watchdogInterval(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** The CLOCK_MONOTONIC time in microseconds, as RELOADING=1 wants it with MONOTONIC_USEC. */
export function monotonicUsec(): string {
  // uv_hrtime is CLOCK_MONOTONIC on Linux, the clock systemd compares with.
  return String(process.hrtime.bigint() / 1000n);
}

/** The environment a worker gets: systemd's variables are the primary's alone. */
export function withoutSystemdVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SYSTEMD_VARIABLES) delete copy[name];
  return copy;
}

/**
 * systemd: sd_notify messages to $NOTIFY_SOCKET (readiness, reloads, stops, watchdog,
 * status), and keeping systemd's variables to the primary.
 *
 * Stock Node cannot send to a Unix datagram socket (node:dgram is UDP only; node:net
 * gives EPROTOTYPE). hostd uses, in order:
 *  1. the optional dependency `node-unix-socket` (prebuilt N-API binaries, no install
 *     script): the primary sends itself, so `NotifyAccess=main` suffices;
 *  2. the `systemd-notify` tool, with `--pid=` the primary's: the message comes from a
 *     child process, so the unit needs `NotifyAccess=all`;
 *  3. neither: a warning at start, and no notifications.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { ErrorLog } from '../log.ts';

/** What a notification says: `{ READY: 1, STATUS: 'serving' }` becomes `READY=1\nSTATUS=serving`. */
export type NotifyState = Readonly<Record<string, string | number>>;

export interface Notifier {
  readonly via: 'node-unix-socket' | 'systemd-notify';
  notify(state: NotifyState): void;
  close(): void;
}

/** The variables systemd sets for the main process; workers must not see them. */
export const SYSTEMD_VARIABLES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

function format(state: NotifyState): string {
  return Object.entries(state)
    .map(([key, value]) => `${key}=${String(value).replaceAll('\n', ' ')}`)
    .join('\n');
}

interface DgramSocket {
  sendTo(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  close(): void;
}

function viaDatagram(socketPath: string, log: ErrorLog): Notifier | null {
  let DgramSocket: new () => DgramSocket;
  try {
    ({ DgramSocket } = createRequire(import.meta.url)('node-unix-socket') as { DgramSocket: new () => DgramSocket });
  } catch {
    return null;
  }
  // "@name" is a socket in the abstract namespace: a leading NUL byte.
  const address = socketPath.startsWith('@') ? `\0${socketPath.slice(1)}` : socketPath;
  const socket = new DgramSocket();
  return {
    via: 'node-unix-socket',
    notify(state) {
      const message = Buffer.from(format(state));
      socket.sendTo(message, 0, message.length, address, (error) => {
        if (error) log.warn(`sd_notify: could not send to NOTIFY_SOCKET ${socketPath}: ${error.message}`);
      });
    },
    close: () => socket.close(),
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
    close() {},
  };
}

/** A notifier for $NOTIFY_SOCKET, or null (with a warning when systemd asked for one but none works). */
export function createNotifier(log: ErrorLog, env: NodeJS.ProcessEnv = process.env): Notifier | null {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath) {
    log.debug('sd_notify: NOTIFY_SOCKET is not set (not started by systemd with Type=notify); nothing to notify');
    return null;
  }
  const notifier = viaDatagram(socketPath, log) ?? viaTool(log);
  if (notifier === null) {
    log.warn('sd_notify: cannot send to NOTIFY_SOCKET: install the optional dependency node-unix-socket, or systemd-notify (then set NotifyAccess=all)');
  } else {
    log.debug(`sd_notify: sending to ${socketPath} with ${notifier.via}`);
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

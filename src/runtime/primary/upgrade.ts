/**
 * The upgrade (SIGUSR2, `hostd upgrade`): the running primary starts a new one from the Node
 * executable and the hostd on disk now, handing it every listening socket as a file
 * descriptor (TCP, unix, inherited `fd://`, socket activation alike: the kernel's socket is
 * shared, so no connection is refused while both run). The new primary resolves the config,
 * boots its workers, and once they serve says so over the IPC channel between the two; the
 * old one then forwards what it still accepts to the new and stops as on SIGTERM.
 *
 * What travels from the old primary to the new, in HOSTD_UPGRADE, is read as untrusted
 * input: a malformed value is no upgrade at all (the new primary then binds as at any start,
 * and fails where the old one still holds the addresses, which keeps it serving).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ResolvedConfig } from '../../config/types.ts';
import { startFolder } from '../../config/working-directory.ts';
import { SOCKET_ACTIVATED } from '../targets/systemd.ts';

/** The variable a new primary finds its inheritance in. */
export const UPGRADE_VARIABLE = 'HOSTD_UPGRADE';

/** Where a primary came from, for `hostd status`. */
export interface UpgradedFrom {
  readonly pid: number;
  readonly version: string;
  /** When the upgrade began (ISO 8601). */
  readonly at: string;
}

/** What a new primary inherits from the one it replaces. */
export interface Inheritance {
  readonly from: UpgradedFrom;
  /** Each listening socket by its bind address, as a file descriptor of this process. */
  readonly binds: ReadonlyMap<string, number>;
  /** The metrics endpoint's socket, if the old primary had one. */
  readonly metrics: number | null;
  /**
   * The old primary answers `upgraded` with TAKEN. One from a hostd before that answer (which
   * does not say so) never does: the new one then takes the pidfile and the control socket as
   * soon as it serves, as that hostd expects.
   */
  readonly acknowledges: boolean;
}

const isFd = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 2;

/** Reads (and removes, so no worker inherits it) the inheritance in `env`; null when there is none or it is not valid. */
export function takeInheritance(env: Readonly<Record<string, string | undefined>>): Inheritance | null {
  const text = env[UPGRADE_VARIABLE];
  delete (env as Record<string, string | undefined>)[UPGRADE_VARIABLE];
  if (text === undefined || text.length > 64 * 1024) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { from, binds, metrics, acknowledges } = value as Record<string, unknown>;
  if (from === null || typeof from !== 'object') return null;
  const { pid, version, at } = from as Record<string, unknown>;
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof version !== 'string' || typeof at !== 'string') return null;
  if (!Array.isArray(binds) || binds.length > 1024) return null;
  const map = new Map<string, number>();
  for (const entry of binds) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !isFd(entry[1])) return null;
    map.set(entry[0], entry[1]);
  }
  if (metrics !== null && !isFd(metrics)) return null;
  if (acknowledges !== undefined && typeof acknowledges !== 'boolean') return null;
  return { from: { pid: pid as number, version: version.slice(0, 64), at: at.slice(0, 64) }, binds: map, metrics: metrics as number | null, acknowledges: acknowledges ?? false };
}

/** Why this primary, running `config`, cannot be upgraded in place, or null. */
export function upgradeRefusal(config: ResolvedConfig): string | null {
  if (process.pid === 1) return 'hostd is PID 1 of its container: a new primary cannot take over the container\'s main process; roll the container instead (a new one from the new image, then stop this one)';
  // Binds a preset read from socket activation's variables, which name this process only (LISTEN_PID): a new
  // primary would not find them. Binds given as fd://N (hostd export systemd --socket) travel with its arguments.
  if (SOCKET_ACTIVATED && config.sources.bind.startsWith('preset ')) return 'systemd started hostd by socket activation: restart the service instead (systemctl restart: systemd holds the sockets meanwhile, so connections wait and none is refused)';
  return null;
}

/** A new primary on its way. */
export interface Successor {
  readonly child: ChildProcess;
  /**
   * Resolves with null once it says it serves, or with why it did not, as the end of "the new
   * primary ..." (it exited, it could not be started). Its limit is the supervisor core's to
   * judge, in awake time.
   */
  readonly outcome: Promise<string | null>;
}

/**
 * Starts the new primary: this process's Node executable and hostd entry as they are on disk
 * now, the same arguments, working folder and environment, the listening sockets passed as
 * descriptors 3 and up, and an IPC channel on which it says it serves.
 */
export function startSuccessor(sockets: readonly { readonly address: string; readonly fd: number }[], metrics: number | null, from: UpgradedFrom): Successor {
  const stdio: (number | 'inherit' | 'ignore' | 'ipc')[] = ['ignore', 'inherit', 'inherit'];
  const binds: [string, number][] = [];
  for (const { address, fd } of sockets) {
    binds.push([address, stdio.length]);
    stdio.push(fd);
  }
  let inheritedMetrics: number | null = null;
  if (metrics !== null) {
    inheritedMetrics = stdio.length;
    stdio.push(metrics);
  }
  stdio.push('ipc');
  // Where this primary started, as named (before chdir): the new one finds its folder there as this one did, a release switched since included.
  const cwd = startFolder() ?? process.cwd();
  const env: NodeJS.ProcessEnv = { ...process.env, PWD: cwd, [UPGRADE_VARIABLE]: JSON.stringify({ from, binds, metrics: inheritedMetrics, acknowledges: true }) };
  // systemd's watchdog names this process; the new one pings as the main process once it sends MAINPID=.
  delete env.WATCHDOG_PID;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio, env, cwd });
  const outcome = new Promise<string | null>((resolve) => {
    let settled = false;
    const settle = (why: string | null) => {
      if (settled) return;
      settled = true;
      resolve(why);
    };
    child.on('message', (message: unknown) => {
      if ((message as { t?: unknown } | null)?.t === 'upgraded') settle(null);
    });
    child.once('error', (error) => settle(`could not be started: ${error.message}`));
    child.once('exit', (code, signal) => settle(`exited with ${signal === null ? `code ${code}` : `signal ${signal}`} before it served (its log says why)`));
  });
  return { child, outcome };
}

/**
 * The new primary, once it serves: tells the one it replaces, and resolves once that one
 * took it as its successor (or is gone). Until then the old one may still turn it down (its
 * limit passed, a stop came first), so the pidfile and the control socket wait for this.
 * `acknowledges`: whether the old one answers at all (Inheritance); if not, resolves at once.
 */
export function tellPredecessor(acknowledges: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function' || !process.connected) return resolve();
    // Its answer comes in a later turn of the event loop, after the listeners below are on.
    process.send({ t: 'upgraded', pid: process.pid });
    if (!acknowledges) return resolve();
    const done = () => {
      process.off('message', onMessage);
      process.off('disconnect', done);
      resolve();
    };
    const onMessage = (message: unknown) => {
      if ((message as { t?: unknown } | null)?.t === TAKEN) done();
    };
    process.on('message', onMessage);
    process.once('disconnect', done);
  });
}

/** The old primary's answer to `upgraded`: the new one is its successor from now on. */
export const TAKEN = 'upgrade_taken';

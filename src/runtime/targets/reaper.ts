/**
 * Orphans and zombies. A process whose parent dies is handed to the nearest "subreaper",
 * else to PID 1, which must then wait() for it, or it stays a zombie. Node reaps only the
 * children it spawned itself. With the native helper (src/native/hostd.c, built beside
 * dist/), the primary becomes a subreaper and reaps the orphans of its workers' children;
 * as PID 1 in a container it reaps every orphan, as an init would. hostd's own workers
 * are left to Node, which needs their exit status.
 */
import { readFileSync } from 'node:fs';
import type { ErrorLog } from '../log.ts';
import { native as loadNative } from '../native.ts';

/** The processes whose parent is `pid` (adopted orphans included). */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** A zombie: it exited and nobody has waited for it yet (state Z in /proc/PID/stat). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}

export interface Reaper {
  stop(): void;
}

/**
 * Starts reaping orphans, leaving alone the processes `isOwn` claims (the workers).
 * Returns null (and says so when it matters, as PID 1) when the native helper is missing.
 */
export function startReaper(isOwn: (pid: number) => boolean, log: ErrorLog): Reaper | null {
  const native = loadNative();
  if (native === null) {
    if (process.pid === 1) log.warn('hostd is PID 1 but cannot reap orphaned processes here (its native helper is not built); run the container with --init, or build hostd where a C compiler is available');
    return null;
  }
  if (!native.becomeSubreaper()) log.debug('reaper: could not become a child subreaper; only PID 1 adopts orphans then');
  const sweep = () => {
    for (const pid of childrenOf(process.pid)) {
      if (!isOwn(pid) && isZombie(pid)) {
        native.reap(pid);
        log.debug(`reaper: reaped orphaned process ${pid}`);
      }
    }
  };
  process.on('SIGCHLD', sweep);
  // SIGCHLD can coalesce; a slow sweep catches what a signal missed.
  const timer = setInterval(sweep, 5000);
  timer.unref();
  return {
    stop() {
      process.off('SIGCHLD', sweep);
      clearInterval(timer);
    },
  };
}

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
 * How long a zombie child is left to Node first. Node collects the children it spawned
 * itself (a hook's child_process, say) as it handles their SIGCHLD, within a turn of the
 * event loop; a sweep that got there first would steal their exit, and their 'exit' and
 * 'close' events would never come. An orphan has no one else to collect it.
 */
const GRACE_MS = 1000;

/**
 * Which of the `zombies` (children not hostd's workers) to reap `now`: those already
 * zombies for GRACE_MS. `firstSeen` carries what earlier sweeps saw; pids no longer
 * zombies leave it.
 */
export function zombiesDue(zombies: readonly number[], firstSeen: Map<number, number>, now: number): number[] {
  for (const pid of firstSeen.keys()) if (!zombies.includes(pid)) firstSeen.delete(pid);
  const due: number[] = [];
  for (const pid of zombies) {
    const seen = firstSeen.get(pid);
    if (seen === undefined) firstSeen.set(pid, now);
    else if (now - seen >= GRACE_MS) due.push(pid);
  }
  return due;
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
  const firstSeen = new Map<number, number>();
  const sweep = () => {
    const zombies = childrenOf(process.pid).filter((pid) => !isOwn(pid) && isZombie(pid));
    for (const pid of zombiesDue(zombies, firstSeen, performance.now())) {
      native.reap(pid);
      firstSeen.delete(pid);
      log.debug(`reaper: reaped orphaned process ${pid}`);
    }
  };
  process.on('SIGCHLD', sweep);
  // A zombie is reaped at a sweep after its grace; SIGCHLD also coalesces. A sweep reads
  // one /proc file, plus one per child.
  const timer = setInterval(sweep, GRACE_MS);
  timer.unref();
  return {
    stop() {
      process.off('SIGCHLD', sweep);
      clearInterval(timer);
    },
  };
}

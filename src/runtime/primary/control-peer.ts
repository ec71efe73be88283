/**
 * Who is at the other end of a control connection. The workers run as the same user as the
 * CLI, so the socket's mode cannot keep app code out: the primary asks the kernel which
 * process connected (SO_PEERCRED, through the native helper) and refuses it when it descends
 * from the primary (a worker, anything a worker started at any depth, and orphans of those,
 * which the primary adopts as the subreaper). Anything that cannot be told is refused: a
 * peer that exited before it was checked, an ancestry that cannot be read, no peer pid.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { type Native, native } from '../native.ts';

/** Where a process stands to the primary: below it, outside it, or not known (refused alike). */
export type Ancestry = 'descendant' | 'outsider' | 'unknown';

/** The parent of a process, from /proc; null once it is gone or cannot be read. */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces and parentheses): state, then ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isSafeInteger(ppid) && ppid >= 0 ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Walks `pid`'s whole ancestry up to the root of its pid namespace (1, or 0 for a process
 * whose parent is outside it, as `docker exec` gives). No depth limit: a chain of any length
 * is walked, and a chain that changes under the walk into a loop is 'unknown'.
 */
export function ancestry(pid: number, ancestor: number, parent: (pid: number) => number | null = parentOf): Ancestry {
  const seen = new Set<number>();
  for (let current = pid; ; ) {
    if (current === ancestor) return 'descendant';
    if (current <= 1) return 'outsider';
    if (seen.has(current)) return 'unknown';
    seen.add(current);
    const next = parent(current);
    if (next === null) return 'unknown';
    current = next;
  }
}

/** Why a connection is refused (naming the peer's pid where there is one), or null when it may go on. */
export type PeerVerdict = string | null;

const APP_CONTROL = 'app code may use the control socket only with allow_app_control: true';

/** The process at the other end of a connected unix socket (SO_PEERCRED), or null where it cannot be had. */
export function peerPidOf(socket: Socket, helper: Native | null = native()): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  const pid = helper !== null && typeof fd === 'number' && fd >= 0 ? helper.peerPid(fd) : -1;
  return pid > 0 ? pid : null;
}

/**
 * The verdict on a control connection when app code is kept out. Without the native helper
 * nothing can be told (the primary warned at start) and every peer goes on.
 */
export function judgePeer(socket: Socket, primaryPid: number = process.pid): PeerVerdict {
  const helper = native();
  if (helper === null) return null;
  const pid = peerPidOf(socket, helper);
  if (pid === null) return `refused: the kernel does not say which process connected, so it is treated as app code; ${APP_CONTROL}`;
  // The primary's own hooks run in-process: the config is the user's, not app code.
  if (pid === primaryPid) return null;
  switch (ancestry(pid, primaryPid)) {
    case 'outsider':
      return null;
    case 'descendant':
      return `refused: pid ${pid} is a hostd worker or was started by one, and ${APP_CONTROL}`;
    case 'unknown':
      return `refused: the ancestry of pid ${pid} cannot be read (it may have exited), so it is treated as app code; ${APP_CONTROL}`;
  }
}

/** Said once at start when app code cannot be kept out: no native helper, no SO_PEERCRED. */
export function peerCheckUnavailable(): string | null {
  if (native() !== null) return null;
  return "hostd's native helper is not built here, so the primary cannot tell app code from the CLI: app code can use the control socket (stop, reload, scale) although allow_app_control is false. Build hostd where a C compiler is available (npm rebuild hostd), or set control_socket: null";
}

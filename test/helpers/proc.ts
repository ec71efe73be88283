/** What /proc says about processes; shared by the tests and the benchmarks (no vitest here). */
import { readFileSync } from 'node:fs';

/** Child processes of `pid` (the workers of a primary); empty once it is gone. */
export function workerPids(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children ? children.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The fields of /proc/<pid>/stat after the command name (state first, then ppid, …; man 5 proc numbers them from 3); null once the process is gone. */
export function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The kernel's state letter for a process (R running, S sleeping, T stopped, Z zombie, …); null once it is gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

/**
 * CPU time per request: the CPU seconds every server process spent (from /proc), divided by
 * the requests they served. Unlike req/s it does not depend on how the machine shares its
 * cores with the load generator and other work, and it is what a user pays for.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** utime + stime of one process, in seconds; 0 for one that is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of the processes, summed. */
export function cpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

/** Microseconds of CPU per request, from the CPU seconds before and after a load and the requests it made; null without requests. */
export function cpuMicrosPerRequest(before: number, after: number, requests: number): number | null {
  if (!(requests > 0) || !(after >= before)) return null;
  return ((after - before) * 1e6) / requests;
}

/** Runs `measure` and answers its result with the CPU µs per request that the processes `pids()` spent meanwhile (null without requests). */
export async function withCpu<T extends { readonly requests: number }>(pids: () => readonly number[], measure: () => Promise<T>): Promise<[T, number | null]> {
  const before = cpuSeconds(pids());
  const result = await measure();
  return [result, cpuMicrosPerRequest(before, cpuSeconds(pids()), result.requests)];
}

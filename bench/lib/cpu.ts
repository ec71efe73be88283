/**
 * CPU time per request: the CPU seconds every server process spent (from /proc), divided by
 * the requests they served. Unlike req/s it does not depend on how the machine shares its
 * cores with the load generator and other work, and it is what a user pays for.
 */
import { statFields } from '../../test/helpers/proc.ts';

/** Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** utime + stime of one process, in seconds; 0 for one that is gone. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // utime and stime (fields 14 and 15 of the whole line).
  return fields === null ? 0 : (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
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

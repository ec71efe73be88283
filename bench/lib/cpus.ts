/**
 * CPU pinning. With the load generator on the same CPUs as the servers, latency percentiles
 * mostly measure the scheduler (the same code gives p99 from 1.2 to 6.8 ms round to round on
 * 2 CPUs). So, where `taskset` exists and there are 2 CPUs or more, the load generator gets
 * the last CPU to itself and every server process the others; all targets alike.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CPUS = availableParallelism();
export const PINNED = CPUS >= 2 && process.env.BENCH_PIN !== '0' && hasTaskset();
export const SERVER_CPUS = PINNED ? (CPUS === 2 ? '0' : `0-${CPUS - 2}`) : null;
export const LOAD_CPU = PINNED ? String(CPUS - 1) : null;

/** `command args` run on the given CPUs (or as is, unpinned). */
export function pinned(cpus: string | null, command: string, args: readonly string[]): [string, string[]] {
  return cpus === null ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]];
}

export const PINNING = PINNED ? `load generator on CPU ${LOAD_CPU}, servers on CPU ${SERVER_CPUS} (taskset)` : `not pinned (${process.env.BENCH_PIN === '0' ? 'BENCH_PIN=0' : 'taskset missing or 1 CPU'})`;

import { availableParallelism } from 'node:os';
import { counted } from '../text.ts';
import { readText as read, selfCgroup as ownCgroup, v2Folders } from './cgroup.ts';

/**
 * The CPU quota of this process's cgroup, in CPUs (fractional), or null when there is none.
 * `root` and `selfCgroup` (the text of /proc/self/cgroup) can be given, for tests.
 */
export function cgroupCpuQuota(root = '/sys/fs/cgroup', selfCgroup = ownCgroup()): number | null {
  // cgroup v2: cpu.max is "max 100000" or "QUOTA PERIOD".
  for (const dir of v2Folders(root, selfCgroup)) {
    const max = read(`${dir}/cpu.max`);
    if (max === null) continue;
    const [quota, period] = max.split(/\s+/);
    if (quota === 'max') return null;
    const q = Number(quota);
    const p = Number(period);
    return q > 0 && p > 0 ? q / p : null;
  }
  // cgroup v1: cfs quota and period, -1 meaning no limit.
  for (const dir of [`${root}/cpu`, `${root}/cpu,cpuacct`, `${root}/cpuacct,cpu`]) {
    const quota = Number(read(`${dir}/cpu.cfs_quota_us`));
    const period = Number(read(`${dir}/cpu.cfs_period_us`));
    if (quota > 0 && period > 0) return quota / period;
  }
  return null;
}

/** What `workers: "auto"` resolves to, and why: the count and the words `print-config` shows. */
export interface AutoWorkers {
  readonly count: number;
  /** `2 CPUs`, or `cgroup CPU quota 1.5 of 8 CPUs` when the quota is what limits. */
  readonly why: string;
}

/** CPUs this process may use: the available CPUs, capped by a cgroup quota (rounded up), at least 1. */
export function autoWorkers(cpus = availableParallelism(), quota = cgroupCpuQuota()): AutoWorkers {
  if (quota !== null && Math.ceil(quota) < cpus) return { count: Math.max(1, Math.ceil(quota)), why: `cgroup CPU quota ${quota} of ${counted(cpus, 'CPU')}` };
  return { count: Math.max(1, cpus), why: counted(cpus, 'CPU') };
}

/** CPUs this process may use: the available CPUs, capped by a cgroup quota (rounded up), at least 1. */
export function usableCpus(cpus = availableParallelism(), quota = cgroupCpuQuota()): number {
  return autoWorkers(cpus, quota).count;
}

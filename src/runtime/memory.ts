import { readText as read, selfCgroup as ownCgroup, v2Folders } from './cgroup.ts';

/**
 * The memory limit of this process's cgroup in bytes, or null when there is none (v2
 * `memory.max` of "max", v1's huge "unlimited" value). `root` and `selfCgroup` can be given, for tests.
 */
export function cgroupMemoryLimit(root = '/sys/fs/cgroup', selfCgroup = ownCgroup()): number | null {
  for (const dir of v2Folders(root, selfCgroup)) {
    const max = read(`${dir}/memory.max`);
    if (max === null) continue;
    return max === 'max' ? null : positive(Number(max));
  }
  // v1 reports "no limit" as a page-rounded 2^63.
  const v1 = Number(read(`${root}/memory/memory.limit_in_bytes`));
  return v1 > 0 && v1 < 2 ** 60 ? v1 : null;
}

function positive(n: number): number | null {
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** What `--max-old-space-size=auto` becomes: three quarters of `limit`, shared by the workers and the primary, in MiB (at least 16). */
export function heapShareMiB(limit: number, workers: number): number {
  return Math.max(16, Math.floor((limit * 0.75) / (workers + 1) / 2 ** 20));
}

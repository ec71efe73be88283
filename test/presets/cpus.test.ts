import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupCpuQuota, usableCpus } from '../../src/runtime/cpus.ts';
import { tempDir } from '../helpers/project.ts';

/** A fake /sys/fs/cgroup with `files` (relative path → content). */
function cgroupRoot(files: Record<string, string>): string {
  const root = tempDir('hostd-cgroup-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('workers: "auto" and the cgroup CPU quota', () => {
  it('reads a cgroup v2 quota from the process cgroup', () => {
    const root = cgroupRoot({ 'kubepods/pod1/cpu.max': '150000 100000\n' });
    expect(cgroupCpuQuota(root, '0::/kubepods/pod1\n')).toBe(1.5);
  });

  it('finds no quota when cpu.max says max', () => {
    expect(cgroupCpuQuota(cgroupRoot({ 'cpu.max': 'max 100000\n' }), '0::/\n')).toBeNull();
  });

  it('falls back to cgroup v1 cfs quota and period', () => {
    const root = cgroupRoot({ 'cpu,cpuacct/cpu.cfs_quota_us': '250000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' });
    expect(cgroupCpuQuota(root, '')).toBe(2.5);
    expect(cgroupCpuQuota(cgroupRoot({ 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' }), '')).toBeNull();
  });

  it('rounds a quota up, and never exceeds the CPUs', () => {
    expect(usableCpus(8, 1.5)).toBe(2);
    expect(usableCpus(2, 16)).toBe(2);
    expect(usableCpus(4, null)).toBe(4);
    expect(usableCpus(4, 0.2)).toBe(1);
  });
});

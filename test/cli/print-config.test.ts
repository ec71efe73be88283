import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { autoWorkers, cgroupCpuQuota, usableCpus } from '../../src/runtime/cpus.ts';
import { hostd } from '../helpers/cli.ts';
import { HELLO_APP, project } from '../helpers/project.ts';

describe('hostd print-config', () => {
  const dir = () =>
    project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': `import { defineConfig, definePreset } from 'hostd';
const team = definePreset({ name: 'team', keepalive: 2, timeout: 5, post_fork: function teamHook() {} });
export default defineConfig({ extends: [team], app: './app.mjs', timeout: 10, post_fork: function fileHook() {} });
`,
    });

  it('shows every value with its source: default, preset, file, env var, flag', async () => {
    const result = await hostd(['print-config', '--graceful-timeout', '7'], { cwd: dir(), env: { HOSTD_WORKERS: '3' } });
    expect(result.code).toBe(0);
    const line = (key: string) => result.stdout.split('\n').find((l) => l.startsWith(`${key} `))?.replace(/\s+/g, ' ');
    expect(line('keepalive')).toBe('keepalive 2 preset team');
    expect(line('timeout')).toBe('timeout 10 hostd.config.ts');
    expect(line('workers')).toBe('workers 3 HOSTD_WORKERS');
    expect(line('graceful_timeout')).toBe('graceful_timeout 7 --graceful-timeout');
    expect(line('max_requests')).toBe('max_requests 0 default');
    expect(line('post_fork')).toBe('post_fork 2 functions preset team, hostd.config.ts');
  });

  it('prints the same as JSON', async () => {
    const result = await hostd(['print-config', '--json'], { cwd: dir(), env: { HOSTD_WORKERS: '3' } });
    const report = JSON.parse(result.stdout) as { settings: Record<string, { value: unknown; source: string }>; hooks: Record<string, unknown[]>; presets: string[] };
    expect(report.presets).toEqual(['team']);
    expect(report.settings.workers).toEqual({ value: 3, source: 'HOSTD_WORKERS' });
    expect(report.settings.backlog).toEqual({ value: 2048, source: 'default' });
    expect(report.hooks.post_fork).toEqual([
      { name: 'teamHook', source: 'preset team' },
      { name: 'fileHook', source: 'hostd.config.ts' },
    ]);
  });

  it('shows what workers: "auto" resolves to on this machine, and why', async () => {
    const auto = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': '{ "app": "./app.mjs", "workers": "auto" }' });
    const cpus = availableParallelism();
    const quota = cgroupCpuQuota();
    const count = usableCpus(cpus, quota);
    const why = quota !== null && Math.ceil(quota) < cpus ? `cgroup CPU quota ${quota} of ${cpus} CPU${cpus === 1 ? '' : 's'}` : `${cpus} CPU${cpus === 1 ? '' : 's'}`;

    const text = await hostd(['print-config'], { cwd: auto });
    const line = text.stdout.split('\n').find((l) => l.startsWith('workers '))?.replace(/\s+/g, ' ');
    expect(line).toBe(`workers ${count} (auto: ${why}) hostd.config.json`);

    // JSON keeps the value as written (existing readers see "auto"); the resolved count is beside it.
    const json = JSON.parse((await hostd(['print-config', '--json'], { cwd: auto })).stdout) as { settings: Record<string, unknown>; auto: Record<string, unknown> };
    expect(json.settings.workers).toEqual({ value: 'auto', source: 'hostd.config.json' });
    expect(json.auto).toEqual({ workers: { value: count, why } });
    const fixed = JSON.parse((await hostd(['print-config', '--json'], { cwd: dir() })).stdout) as { auto: Record<string, unknown> };
    expect(fixed.auto).toEqual({});
  });

  it('names the cgroup quota when it is what limits "auto"', () => {
    expect(autoWorkers(8, 1.5)).toEqual({ count: 2, why: 'cgroup CPU quota 1.5 of 8 CPUs' });
    expect(autoWorkers(2, 16)).toEqual({ count: 2, why: '2 CPUs' });
    expect(autoWorkers(1, null)).toEqual({ count: 1, why: '1 CPU' });
  });
});

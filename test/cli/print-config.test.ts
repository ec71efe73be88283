import { describe, expect, it } from 'vitest';
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
});

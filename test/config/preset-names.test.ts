/**
 * `extends` by name, through the real CLI: a shipped preset's name (what print-config
 * shows, so its output can be fed back), a package's name, and a name that is neither.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostd, printConfig } from '../helpers/cli.ts';
import { HELLO_APP, project } from '../helpers/project.ts';

describe('presets by name in extends', () => {
  it('"kubernetes" in hostd.config.json is the shipped preset', async () => {
    const dir = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': JSON.stringify({ app: './app.mjs', extends: ['kubernetes'] }) });
    const check = await hostd(['check'], { cwd: dir });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/presets\s+kubernetes/);
    const report = await printConfig(dir);
    expect(report.settings.readiness_path).toEqual({ value: '/readyz', source: 'preset kubernetes' });
    expect(report.settings.bind).toEqual({ value: ['0.0.0.0:8000'], source: 'preset kubernetes' });
  });

  it('round-trips what print-config shows: a TS config extending kubernetes() and "systemd", written back as JSON', async () => {
    const dir = project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
export default defineConfig({ app: './app.mjs', extends: [kubernetes(), 'systemd'] });
`,
    });
    const before = await printConfig(dir);
    expect(before.settings.extends!.value).toEqual(['kubernetes', 'systemd']);
    const json = join(dir, 'from-print-config.json');
    writeFileSync(json, JSON.stringify({ app: './app.mjs', extends: before.settings.extends!.value }));
    const check = await hostd(['check', '-c', json], { cwd: dir });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const after = await printConfig(dir, {}, ['-c', json]);
    for (const name of ['bind', 'workers', 'readiness_path', 'sd_notify', 'graceful_timeout']) {
      expect(after.settings[name], name).toEqual(before.settings[name]);
    }
  });

  it("a package's name is its default export", async () => {
    const dir = project({
      'app.mjs': HELLO_APP,
      'hostd.config.json': JSON.stringify({ app: './app.mjs', extends: ['acme-hostd-preset'] }),
      'node_modules/acme-hostd-preset/package.json': JSON.stringify({ name: 'acme-hostd-preset', type: 'module', exports: './index.js' }),
      'node_modules/acme-hostd-preset/index.js': "export default (options = {}) => ({ name: 'acme', keepalive: options.keepalive ?? 9 });\n",
    });
    const report = await printConfig(dir);
    expect(report.settings.keepalive).toEqual({ value: 9, source: 'preset acme' });
  });

  it('a name that is neither shipped nor installed is an error that shows the import to write', async () => {
    const dir = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': JSON.stringify({ app: './app.mjs', extends: ['kubernets', '@acme/hostd-preset'] }) });
    const check = await hostd(['check'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      `hostd.config.json: extends[0]: "kubernets" is not a preset hostd ships nor an installed package; did you mean "kubernetes"? (in hostd.config.ts: import kubernetes from 'hostd/presets/kubernetes' and extends: [kubernetes()])\n`,
    );
    expect(check.stderr).toContain(
      `hostd.config.json: extends[1]: "@acme/hostd-preset" is not a preset hostd ships (kubernetes, systemd, docker, paas, development) nor an installed package: install it (npm i @acme/hostd-preset), or give your preset module's path ("./hostd-preset.ts"), or in hostd.config.ts: import hostdPreset from './hostd-preset.ts' and extends: [hostdPreset()]\n`,
    );
    expect(check.stderr).not.toMatch(/is it installed\?|dist[\\/]/);
  });
});

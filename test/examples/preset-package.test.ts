import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostd } from '../helpers/cli.ts';
import { HELLO_APP, project, REPO } from '../helpers/project.ts';
import { startHostd } from '../helpers/run.ts';

const consumer = join(REPO, 'examples', 'preset-consumer');

describe('examples/preset-package, used by examples/preset-consumer', () => {
  it('names the preset behind every value, nested presets included', async () => {
    const result = await hostd(['print-config', '--json'], { cwd: consumer });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { presets: string[]; settings: Record<string, { value: unknown; source: string }>; hooks: Record<string, { source: string }[]> };
    expect(report.presets).toEqual(['kubernetes', 'acme']);
    expect(report.settings.readiness_path).toEqual({ value: '/readyz', source: 'preset kubernetes' });
    // acme passes its drain_delay option to the kubernetes preset, which sets it.
    expect(report.settings.drain_delay).toEqual({ value: 3, source: 'preset kubernetes' });
    expect(report.settings.proc_name).toEqual({ value: 'orders', source: 'preset acme' });
    expect(report.settings.workers).toEqual({ value: 2, source: 'hostd.config.ts' });
    expect(report.hooks.pre_request).toEqual([{ name: 'pre_request', source: 'preset acme' }]);
  });

  it("serves with the preset's probes and hooks", async () => {
    const run = startHostd(consumer, ['-b', '127.0.0.1:0', '--drain-delay', '0']);
    const url = await run.ready();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const response = await fetch(`${url}/`);
    expect(await response.json()).toEqual({ orders: [] });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    expect(run.output.match(/acme: orders worker \d stopping \(shutdown\)/g)).toHaveLength(2);
  });
});

describe('examples/preset-package options', () => {
  it('are checked: an unknown or mistyped option is a problem naming the preset, at check', async () => {
    const dir = project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import acme from '@acme/hostd-preset';
export default defineConfig({ app: './app.mjs', extends: [acme({ servce: 'orders', drain_delay: '3' })] });
`,
    });
    mkdirSync(join(dir, 'node_modules', '@acme'));
    symlinkSync(join(REPO, 'examples', 'preset-package'), join(dir, 'node_modules', '@acme', 'hostd-preset'), 'dir');
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 3)).toEqual([
      'hostd.config.ts: extends[0]: preset acme: servce: unknown option (did you mean "service"?)',
      'hostd.config.ts: extends[0]: preset acme: drain_delay: expected a number of seconds, got "3"',
      '✗ the config is invalid (2 problems)',
    ]);
  });
});

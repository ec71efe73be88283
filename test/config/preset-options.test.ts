/**
 * A preset's options are checked like settings, through the real CLI: an unknown option
 * gets a did-you-mean, a mistyped one reads `expected ..., got ...`, and each names the
 * preset and the `extends` item it came from, for shipped presets and third-party ones
 * made with definePreset(name, schema, create).
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostd, printConfig } from '../helpers/cli.ts';
import { HELLO_APP, project, REPO } from '../helpers/project.ts';

function withZod(dir: string): string {
  symlinkSync(join(REPO, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), 'dir');
  return dir;
}

const ACME = `import { definePreset } from 'hostd';
import * as z from 'zod';
export default definePreset('acme', z.object({ service: z.optional(z.string()), port: z.optional(z.int()) }), (options) => ({
  proc_name: options.service ?? 'acme',
  bind: \`127.0.0.1:\${options.port ?? 0}\`,
}));
`;

describe('preset options', () => {
  it('reports unknown and mistyped options of shipped presets, at check and at run', async () => {
    const dir = project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
import docker from 'hostd/presets/docker';
import development from 'hostd/presets/development';
export default defineConfig({
  app: './app.mjs',
  extends: [kubernetes({ drain_dely: 3, readiness_path: 'readyz' }), docker({ stop_timeout: '30' }), development({ watch: './src' })],
});
`,
    });
    const expected = [
      'hostd.config.ts: extends[0]: preset kubernetes: drain_dely: unknown option (did you mean "drain_delay"?)',
      'hostd.config.ts: extends[0]: preset kubernetes: readiness_path: expected a path starting with "/", or null, got "readyz"',
      'hostd.config.ts: extends[1]: preset docker: stop_timeout: expected a number of seconds from 0 to 2,147,483, got "30"',
      'hostd.config.ts: extends[2]: preset development: watch: expected a list of paths, got "./src"',
    ];
    const check = await hostd(['check'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stderr.split('\n').slice(0, 4)).toEqual(expected);
    const run = await hostd(['run', '-b', '127.0.0.1:0'], { cwd: dir });
    expect(run.code).toBe(1);
    for (const line of expected) expect(run.stderr).toContain(line);
  });

  it("checks a third-party preset's options against the schema it was made with", async () => {
    const dir = withZod(
      project({
        'app.mjs': HELLO_APP,
        'acme.ts': ACME,
        'hostd.config.ts': `import { defineConfig } from 'hostd';
import acme from './acme.ts';
export default defineConfig({ app: './app.mjs', extends: [acme({ servce: 'orders', port: 'http' })] });
`,
      }),
    );
    const check = await hostd(['check'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('hostd.config.ts: extends[0]: preset acme: servce: unknown option (did you mean "service"?)\n');
    // The schema's own words, as zod puts them.
    expect(check.stderr).toMatch(/hostd\.config\.ts: extends\[0\]: preset acme: port: .*expected number.*\n/);
  });

  it('applies valid options, and the schema-made factory with none when named in extends', async () => {
    const dir = withZod(
      project({
        'app.mjs': HELLO_APP,
        'acme.ts': ACME,
        'hostd.config.ts': `import { defineConfig } from 'hostd';
import acme from './acme.ts';
import kubernetes from 'hostd/presets/kubernetes';
export default defineConfig({ app: './app.mjs', extends: [kubernetes({ drain_delay: 2 }), acme({ service: 'orders' }), './acme.ts'] });
`,
      }),
    );
    const report = await printConfig(dir);
    expect(report.settings.drain_delay).toEqual({ value: 2, source: 'preset kubernetes' });
    expect(report.settings.proc_name).toEqual({ value: 'acme', source: 'preset acme' });
  });
});

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostd } from '../helpers/cli.ts';
import { HELLO_APP, project } from '../helpers/project.ts';

/** hostd's own code never appears in what a user sees for a config mistake. */
function expectNoHostdStack(output: string): void {
  expect(output).not.toMatch(/dist[\\/](chunks|cli)|node_modules[\\/]jiti|node:internal|at async main/);
}

describe('hostd check', () => {
  it('summarises a valid config: file, presets, settings, hooks', async () => {
    const dir = project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': `import { defineConfig, definePreset } from 'hostd';
const team = definePreset({ name: 'team', keepalive: 2, post_fork: () => {} });
export default defineConfig({ extends: [team], app: './app.mjs', workers: 2, post_fork: () => {}, on_exit: () => {} });
`,
    });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('✓ hostd.config.ts is valid');
    expect(result.stdout).toMatch(/presets\s+team/);
    expect(result.stdout).toMatch(/settings\s+4 set: app, workers, keepalive, extends/);
    expect(result.stdout).toMatch(/hooks\s+post_fork ×2, on_exit ×1 \(3 functions\)/);
  });

  it('answers in JSON with --json', async () => {
    const dir = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': '{ "app": "./app.mjs", "workers": 3 }' });
    const result = await hostd(['check', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ valid: true, presets: [], settings: { workers: { value: 3, source: 'hostd.config.json' } }, hooks: {}, warnings: [] });
  });

  it('warns, without failing, when there is no app to run yet', async () => {
    const result = await hostd(['check'], { cwd: project({ 'hostd.config.json': '{}' }) });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: app is not set');
  });

  it('lists every problem, one per line, and exits 1', async () => {
    const dir = project({
      'hostd.config.ts': "export default { workers: -2, wrokers: 3, bind: 'localhost', pre_frok() {} };\n",
    });
    const result = await hostd(['check', '-w', 'zero'], { cwd: dir, env: { HOSTD_TIMEOUT: '-3' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      'hostd.config.ts: bind: expected an address (HOST:PORT, :PORT, [IPv6]:PORT, unix:PATH or fd://N), got "localhost" (missing :PORT)',
      'hostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got -2',
      'hostd.config.ts: wrokers: unknown key (did you mean "workers"?)',
      'hostd.config.ts: pre_frok: unknown key (did you mean "pre_fork"?)',
      'HOSTD_TIMEOUT: expected 0 (off) or a number of seconds from 1 to 2,147,483, got -3',
      '--workers: expected an integer from 1 to 1,024, or "auto", got "zero"',
      '✗ the config is invalid (6 problems)',
    ]);
    expectNoHostdStack(result.stderr);
  });

  it('reports problems as JSON records with --json', async () => {
    const result = await hostd(['check', '--json'], { cwd: project({ 'hostd.config.json': '{ "workers": 0 }' }) });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: false,
      errors: [{ code: 'HOSTD_ERR_CONFIG_INVALID', source: 'hostd.config.json', path: 'workers', message: 'expected an integer from 1 to 1,024, or "auto", got 0' }],
    });
  });

  it("names the preset a problem is in", async () => {
    const dir = project({
      'node_modules/acme-preset/package.json': JSON.stringify({ name: 'acme-preset', type: 'module', exports: './index.js' }),
      'node_modules/acme-preset/index.js': "export default () => ({ name: 'acme', graceful_timeout: 'soon' });\n",
      'hostd.config.ts': "import acme from 'acme-preset';\nexport default { extends: [acme()] };\n",
    });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('preset acme: graceful_timeout: expected a number of seconds from 0 to 2,147,483, got "soon"');
  });

  it.each([
    ['a syntax error', 'hostd.config.ts', 'export default {\n  workers: 2,,\n};\n', /^hostd: hostd\.config\.ts:2:14: syntax error: /],
    ['a throw at load', 'hostd.config.ts', 'const x = 1;\nthrow new TypeError("no DATABASE_URL");\nexport default {};\n', /^hostd: hostd\.config\.ts:2:7: TypeError: no DATABASE_URL/],
    ['a throwing config function', 'hostd.config.mjs', 'export default () => {\n  throw new Error("nope");\n};\n', /^hostd: hostd\.config\.mjs:2:9: Error: nope/],
    ['a missing import', 'hostd.config.ts', "import './gone.ts';\nexport default {};\n", /^hostd: hostd\.config\.ts:1: cannot find module "\.\/gone\.ts"/],
    ['invalid JSON', 'hostd.config.json', '{ "workers": 2, }', /^hostd: hostd\.config\.json:1:\d+: invalid JSON: /],
  ])("shows %s at the user's file and line", async (_what, file, content, pattern) => {
    const result = await hostd(['check'], { cwd: project({ [file]: content }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(pattern);
    expectNoHostdStack(result.stderr);
  });

  it('reports a getter that throws as a problem of the config, not as a hostd bug', async () => {
    const dir = project({ 'hostd.config.ts': "export default {\n  get workers(): number {\n    throw new Error('no workers today');\n  },\n};\n" });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('hostd.config.ts: workers: reading it threw Error: no workers today (at hostd.config.ts:3:11)\n✗ the config is invalid (1 problem)\n');
  });

  it('rejects an empty config file, saying what to write', async () => {
    const write = "write `export default defineConfig({ ... })` (with `import { defineConfig } from 'hostd'`)";
    for (const content of ['', '\n  \n']) {
      const result = await hostd(['check'], { cwd: project({ 'hostd.config.ts': content }) });
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: `hostd: hostd.config.ts is empty; ${write}\n` });
    }
    const devNull = await hostd(['check', '--config', '/dev/null'], { cwd: project({}) });
    expect(devNull.code).toBe(1);
    expect(devNull.stderr).toMatch(/^hostd: \S*\/dev\/null is empty; write `export default/);
    const json = await hostd(['check', '--json'], { cwd: project({ 'hostd.config.json': '' }) });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      valid: false,
      errors: [{ code: 'HOSTD_ERR_CONFIG_LOAD', message: 'hostd.config.json is empty; write a JSON object of settings, as in `{ "app": "./src/app.ts" }`' }],
    });
  });

  it('explains where it looked when there is no config file', async () => {
    const dir = project({});
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no config file found in');
    expect(result.stderr).toContain('hostd init');
    expect((await hostd(['check', '-c', 'missing.ts'], { cwd: dir })).stderr).toBe('hostd: config file not found: missing.ts\n');
  });

  it('refuses a config path that is not a regular file, without reading it', async () => {
    const dir = project({ 'folder/.keep': '' });
    execFileSync('mkfifo', [join(dir, 'pipe.ts')]);
    const cases = [
      [['--config', 'folder'], 'config file folder is a folder, not a regular file'],
      [['--config', '/dev/zero'], 'config file /dev/zero is a character device, not a regular file'],
      [['--config', 'pipe.ts'], 'config file pipe.ts is a named pipe (FIFO), not a regular file'],
    ] as const;
    for (const [args, message] of cases) {
      expect(await hostd(['check', ...args], { cwd: dir, timeoutMs: 5000 })).toMatchObject({ code: 1, stderr: `hostd: ${message}\n` });
    }
    const found = project({ 'hostd.config.ts/.keep': '' });
    expect(await hostd(['check', '--json'], { cwd: found })).toMatchObject({ code: 1, stdout: expect.stringContaining('"HOSTD_ERR_CONFIG_NOT_FOUND"') });
    expect((await hostd(['check'], { cwd: found })).stderr).toBe('hostd: config file hostd.config.ts is a folder, not a regular file\n');
  });

  it('reports a log file in a folder that does not exist, as it does a missing app module', async () => {
    const dir = project({ 'hostd.config.ts': "export default { accesslog: './missing/access.log', errorlog: '-', pidfile: null };\n" });
    const result = await hostd(['check'], { cwd: dir });
    expect(result).toMatchObject({ code: 1, stderr: 'hostd.config.ts: accesslog: ./missing/access.log: the folder ./missing does not exist\n✗ the config is invalid (1 problem)\n' });
  });

  it('quotes a path with control characters wherever it prints one', async () => {
    const folder = 'we\nird\x1b[2J';
    const dir = project({ [`${folder}/hostd.config.ts`]: 'export default { workers: 0 };\n', [`${folder}/ok.ts`]: 'export default { accesslog: "./gone\\u0007/x.log" };\n' });
    const shown = (file: string) => JSON.stringify(`${folder}/${file}`);
    const invalid = await hostd(['check', '--config', `${folder}/hostd.config.ts`], { cwd: dir });
    expect(invalid.stderr.split('\n')[0]).toBe(`${shown('hostd.config.ts')}: workers: expected an integer from 1 to 1,024, or "auto", got 0`);
    const missing = await hostd(['check', '--config', `${folder}/nope.ts`], { cwd: dir });
    expect(missing.stderr).toBe(`hostd: config file not found: ${shown('nope.ts')}\n`);
    const folderMissing = await hostd(['check', '--config', `${folder}/ok.ts`], { cwd: dir });
    expect(folderMissing.stderr.split('\n')[0]).toBe(`${shown('ok.ts')}: accesslog: ${shown('gone\x07/x.log').replace('"', '"./')}: the folder ${shown('gone\x07').replace('"', '"./')} does not exist`);
    for (const result of [invalid, missing, folderMissing]) expect(result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });

  it('exits 2 on a usage error, with a suggestion', async () => {
    const dir = project({ 'hostd.config.json': '{}' });
    const unknownFlag = await hostd(['check', '--wokers', '2'], { cwd: dir });
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/unknown option '--wokers'[\s\S]*Did you mean --workers\?/);
    const missingValue = await hostd(['check', '--config'], { cwd: dir });
    expect(missingValue.code).toBe(2);
    const unknownCommand = await hostd(['chek'], { cwd: dir });
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/Did you mean check\?/);
  });

  it('reports an address listed twice, and a metrics_bind that is a bind, where run would fail with "address already in use"', async () => {
    const dir = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': '{ "app": "./app.mjs", "bind": ["0.0.0.0:8102", "127.0.0.1:8103"], "metrics_bind": "127.0.0.1:8103" }' });
    const twice = await hostd(['check', '--no-app', '-b', '127.0.0.1:8102', '-b', '127.0.0.1:8102'], { cwd: dir });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('--bind: 127.0.0.1:8102 is listed more than once\n');
    const file = await hostd(['check', '--no-app'], { cwd: dir });
    expect(file.code).toBe(1);
    expect(file.stderr.trimEnd().split('\n')).toEqual(['hostd.config.json: metrics_bind: metrics_bind 127.0.0.1:8103 is also in bind: the metrics endpoint needs an address of its own', '✗ the config is invalid (1 problem)']);
    const overlap = await hostd(['check', '--no-app', '--json'], { cwd: dir, env: { HOSTD_BIND: '[::]:8102,0.0.0.0:8102', HOSTD_METRICS_BIND: '127.0.0.1:8102' } });
    expect((JSON.parse(overlap.stdout) as { errors: { source: string; message: string }[] }).errors.map((e) => `${e.source}: ${e.message}`)).toEqual([
      'HOSTD_BIND: [::]:8102 and 0.0.0.0:8102 cannot both listen: [::]:8102 listens on every IPv4 and IPv6 address',
      'HOSTD_BIND: metrics_bind 127.0.0.1:8102 and bind [::]:8102 cannot both listen: [::]:8102 listens on every IPv4 and IPv6 address; metrics_bind 127.0.0.1:8102 and bind 0.0.0.0:8102 cannot both listen: 0.0.0.0:8102 listens on every IPv4 address',
    ]);
    // run refuses it as a config problem, before binding anything.
    const run = await hostd(['run', '-b', '127.0.0.1:0', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '-b', 'unix:./a.sock', '-b', 'unix:a.sock'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--bind: unix:${join(dir, 'a.sock')} is listed more than once`);
    // Port 0 picks a free port for each: no collision.
    expect(run.stderr).not.toContain('127.0.0.1:0');
    expect(run.stderr).not.toContain('address already in use');
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES } from '../../src/config/shipped-presets.ts';
import { execFileSync } from 'node:child_process';
import { CLI, cleanEnv, FULL_CLI, hostd } from '../helpers/cli.ts';
import { HELLO_APP, project, REPO } from '../helpers/project.ts';

/** Runs hostd with its stdout a pipe whose reader has gone away before hostd writes (`| head -1`, a closed pager). */
function intoClosedPipe(args: readonly string[], cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('the command line', () => {
  it('prints its version and help, and help for each command', async () => {
    const cwd = project({});
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect((await hostd(['--version'], { cwd })).stdout.trim()).toBe(pkg.version);
    const help = await hostd(['--help'], { cwd });
    expect(help.code).toBe(0);
    for (const command of ['run', 'check', 'print-config', 'schema', 'init']) expect(help.stdout).toContain(command);
    const runHelp = await hostd(['run', '--help'], { cwd });
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toMatch(/-w, --workers <n\|auto>/);
    expect(runHelp.stdout).toMatch(/--graceful-timeout <seconds>/);
    expect(runHelp.stdout).toMatch(/Worker processes options:/);
    for (const command of ['check', 'print-config', 'schema', 'init']) expect((await hostd([command, '--help'], { cwd })).code).toBe(0);
    // Only the command run gets the setting flags built: `help run` is run's help, and every command takes them.
    expect((await hostd(['help', 'run'], { cwd })).stdout).toMatch(/-w, --workers <n\|auto>/);
    const misspelt = await hostd(['print-config', '--workerz', '3'], { cwd });
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain('Did you mean --workers?');
    const withConfig = project({ 'hostd.config.ts': "export default { app: './app.mjs' };\n", 'app.mjs': HELLO_APP });
    const given = await hostd(['print-config', '--workers', '3', '--json'], { cwd: withConfig });
    expect(JSON.parse(given.stdout)).toMatchObject({ settings: { workers: { value: 3, source: '--workers' } } });
  });

  it('answers a bare --version and --help from the bin alone, exactly as the whole CLI does', () => {
    const run = (cli: string, arg: string) => execFileSync(process.execPath, [cli, arg], { encoding: 'utf8', env: cleanEnv({ COLUMNS: '80' }) });
    for (const arg of ['--version', '-V', '--help', '-h']) expect(run(CLI, arg), arg).toBe(run(FULL_CLI, arg));
  });

  it('prints the JSON Schema that is committed as schema/hostd.schema.json', async () => {
    const result = await hostd(['schema'], { cwd: project({}) });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(readFileSync(join(REPO, 'schema', 'hostd.schema.json'), 'utf8')));
  });
});

describe('hostd init', () => {
  it('writes a starter config that checks clean once the app exists', async () => {
    const dir = project({ 'src/app.ts': "export default (req: unknown, res: { end(s: string): void }) => res.end('hi');\n" });
    const result = await hostd(['init'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('wrote hostd.config.ts');
    expect((await hostd(['check'], { cwd: dir })).code).toBe(0);
  });

  it.each(PRESET_NAMES)('starts from the %s preset', async (preset) => {
    const dir = project({ 'src/app.ts': 'export default () => () => {};\n' });
    expect((await hostd(['init', '--preset', preset], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(dir, 'hostd.config.ts'), 'utf8')).toContain(`from 'hostd/presets/${preset}'`);
    const check = await hostd(['check', '--json'], { cwd: dir });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).presets).toEqual([preset]);
  });

  it('refuses to overwrite a config (exit 1), and rejects an unknown preset (exit 2)', async () => {
    const dir = project({ 'hostd.config.json': '{}' });
    const again = await hostd(['init'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('hostd.config.json already exists');
    const other = project({});
    const unknown = await hostd(['init', '--preset', 'kubernets'], { cwd: other });
    expect(unknown.code).toBe(2);
    expect(existsSync(join(other, 'hostd.config.ts'))).toBe(false);
  });

  it('ends quietly, with its own exit code, when the reader of its output went away', async () => {
    const valid = project({ 'app.mjs': HELLO_APP, 'hostd.config.json': '{ "app": "./app.mjs" }' });
    for (const args of [['print-config'], ['print-config', '--json'], ['check'], ['schema'], ['--help'], ['--version']]) {
      expect({ args, ...(await intoClosedPipe(args, valid)) }).toEqual({ args, code: 0, signal: null, stderr: '' });
    }
    const invalid = project({ 'hostd.config.json': '{ "workers": 0 }' });
    expect(await intoClosedPipe(['check', '--json'], invalid)).toEqual({ code: 1, signal: null, stderr: '' });
    // Output that cannot be written for another reason is a failure, said on stderr.
    const devFull = openSync('/dev/full', 'w');
    const full = spawnSync(process.execPath, [CLI, '--version'], { env: cleanEnv(), stdio: ['ignore', devFull, 'pipe'], encoding: 'utf8' });
    closeSync(devFull);
    expect({ code: full.status, stderr: full.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^hostd: cannot write to standard output: ENOSPC/) });
  });
});

/**
 * `hostd init` in projects of each shape: the config it writes finds the app, is in the
 * project's language and module type, and passes `hostd check` as written.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostd, printConfig } from '../helpers/cli.ts';
import { project, REPO, tempDir } from '../helpers/project.ts';

const CJS_APP = "module.exports = (req, res) => res.end('hi');\n";
const ESM_APP = "export default (req, res) => res.end('hi');\n";
const TS_APP = "import type { IncomingMessage, ServerResponse } from 'node:http';\nexport default (req: IncomingMessage, res: ServerResponse) => res.end('hi');\n";

/** Runs `hostd init` in `dir`, then `hostd check` on what it wrote; returns init's output and the file's text. */
async function init(dir: string, file: string, ...args: string[]): Promise<{ stdout: string; text: string }> {
  const result = await hostd(['init', ...args], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  const check = await hostd(['check'], { cwd: dir });
  expect(check.code, check.stdout + check.stderr).toBe(0);
  expect(check.stdout).toContain(`✓ ${file} is valid`);
  return { stdout: result.stdout, text: readFileSync(join(dir, file), 'utf8') };
}

describe('hostd init fits the project', () => {
  it('a CommonJS JavaScript project: hostd.config.js with require() and module.exports', async () => {
    const dir = project({ 'src/app.js': CJS_APP }, { type: 'commonjs' });
    const { stdout, text } = await init(dir, 'hostd.config.js');
    expect(stdout).toContain('wrote hostd.config.js (CommonJS)');
    expect(stdout).toContain('app: ./src/app.js (found src/app.js)');
    expect(text).toContain("const { defineConfig } = require('hostd');");
    expect(text).toContain('module.exports = defineConfig({');
    expect(text).not.toMatch(/^(import|export) /m);
    expect(text).toContain("app: './src/app.js',");
  });

  it('a CommonJS project with a preset requires the preset too', async () => {
    const dir = project({ 'app.cjs': CJS_APP }, { type: 'commonjs' });
    const { text } = await init(dir, 'hostd.config.js', '--preset', 'docker');
    expect(text).toContain("const { default: docker } = require('hostd/presets/docker');");
    expect(text).toContain("app: './app.cjs',");
  });

  it('an ES module JavaScript project ("type": "module"): hostd.config.js with import and export', async () => {
    const dir = project({ 'app.js': ESM_APP, 'server.js': ESM_APP }, { type: 'module' });
    const { stdout, text } = await init(dir, 'hostd.config.js');
    expect(stdout).toContain('wrote hostd.config.js (an ES module)');
    // app.* before server.*.
    expect(stdout).toContain('app: ./app.js (found app.js)');
    expect(text).toContain("import { defineConfig } from 'hostd';");
    expect(text).toContain('export default defineConfig({');
  });

  it('ES modules as .mjs in a CommonJS package: hostd.config.mjs', async () => {
    const dir = project({ 'server.mjs': ESM_APP }, { type: 'commonjs' });
    const { stdout, text } = await init(dir, 'hostd.config.mjs');
    expect(stdout).toContain('app: ./server.mjs (found server.mjs)');
    expect(text).toContain('export default defineConfig({');
  });

  it('a TypeScript project: hostd.config.ts, src/app.ts first', async () => {
    const dir = project({ 'src/app.ts': TS_APP, 'app.js': ESM_APP, 'tsconfig.json': '{}' });
    const { stdout, text } = await init(dir, 'hostd.config.ts');
    expect(stdout).toContain('wrote hostd.config.ts (TypeScript)');
    expect(stdout).toContain('app: ./src/app.ts (found src/app.ts)');
    expect(text).toContain("app: './src/app.ts',");
  });

  it('the app from package.json "main" when no usual file is there', async () => {
    const dir = project({ 'package.json': JSON.stringify({ name: 'fixture', private: true, main: 'lib/index.js' }), 'lib/index.js': CJS_APP });
    const { stdout, text } = await init(dir, 'hostd.config.js');
    expect(stdout).toContain('app: ./lib/index.js (found lib/index.js, package.json "main")');
    expect(text).toContain("app: './lib/index.js',");
  });

  it('says so when it finds no app, and writes a placeholder in the project\'s language', async () => {
    const dir = project({}, { type: 'module' });
    const result = await hostd(['init'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('no app module found (looked for src/app.*, app.*, server.* and package.json "main")');
    expect(readFileSync(join(dir, 'hostd.config.js'), 'utf8')).toContain("app: './src/app.js',");
  });

  it('refuses to overwrite a config without --force, naming it; --force replaces it', async () => {
    const dir = project({ 'app.js': ESM_APP, 'hostd.config.json': '{ "workers": 3 }' });
    const refused = await hostd(['init'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('hostd: hostd.config.json already exists here; not overwriting (hostd init --force replaces it)\n');
    expect(readFileSync(join(dir, 'hostd.config.json'), 'utf8')).toBe('{ "workers": 3 }');

    const { stdout } = await init(dir, 'hostd.config.js', '--force');
    // The old file is gone: two config files side by side would stop every command.
    expect(stdout).toContain('replacing hostd.config.json');
    const again = await hostd(['init', '--force'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('replacing the old one');
  });

  it('--preset kubernetes keeps the preset\'s own values: only what it does not set is written', async () => {
    const dir = project({ 'src/app.ts': TS_APP });
    const { text } = await init(dir, 'hostd.config.ts', '--preset', 'kubernetes');
    expect(text).toContain('extends: [kubernetes()],');
    for (const key of ['bind', 'workers', 'graceful_timeout']) expect(text).not.toMatch(new RegExp(`^\\s*${key}:`, 'm'));
    const { settings } = await printConfig(dir);
    for (const key of ['bind', 'workers', 'graceful_timeout']) expect(settings[key]!.source).toBe('preset kubernetes');
    // What the preset leaves alone is still written, for the user to see and change.
    expect(settings.timeout!.source).toBe('hostd.config.ts');
  });

  it('writes hooks that add to hostd\'s own log lines rather than repeat them', async () => {
    const dir = project({ 'src/app.ts': TS_APP });
    const { text } = await init(dir, 'hostd.config.ts');
    expect(text).toContain('post_fork: () => {');
    expect(text).toContain('worker_exit: async () => {');
    // hostd logs "worker N stopping (reason)" itself.
    expect(text).not.toMatch(/log\.\w+\(/);
  });
});

describe('the written config type-checks', () => {
  it('in every project shape, with and without a preset; a wrong value is an error in each', async () => {
    const shapes = [
      [{ 'src/app.js': CJS_APP }, 'commonjs', 'hostd.config.js'],
      [{ 'app.js': ESM_APP }, 'module', 'hostd.config.js'],
      [{ 'server.mjs': ESM_APP }, 'commonjs', 'hostd.config.mjs'],
      [{ 'src/app.ts': TS_APP }, 'module', 'hostd.config.ts'],
    ] as const;
    const good: string[] = [];
    const bad: string[] = [];
    for (const [files, type, file] of shapes) {
      for (const args of [[], ['--preset', 'kubernetes']]) {
        const dir = project(files, { type });
        expect((await hostd(['init', ...args], { cwd: dir })).code).toBe(0);
        good.push(join(dir, file));
      }
      const dir = project(files, { type });
      await hostd(['init'], { cwd: dir });
      writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace("workers: 'auto'", "workers: 'lots'"));
      bad.push(join(dir, file));
    }
    // One tsc run over every file (each is typed by its own package.json): strict, unused names reported, JavaScript checked.
    const compilerOptions = { strict: true, allowJs: true, checkJs: true, module: 'nodenext', noEmit: true, noUnusedLocals: true, noUnusedParameters: true, skipLibCheck: true, typeRoots: [join(REPO, 'node_modules', '@types')], types: ['node'] };
    const tsconfig = join(tempDir(), 'tsconfig.json');
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions, files: [...good, ...bad] }));
    const result = spawnSync(process.execPath, [createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc'), '-p', tsconfig, '--pretty', 'false'], { encoding: 'utf8', cwd: dirname(tsconfig) });
    const failed = new Set([...result.stdout.matchAll(/^(\S+)\(\d+,\d+\): error/gm)].map((m) => resolve(dirname(tsconfig), m[1]!)));
    expect([...failed].sort(), result.stdout).toEqual([...bad].sort());
  });
});

describe('a port given alone', () => {
  it('is shown how to write it, on the flag and in the file', async () => {
    const dir = project({ 'app.mjs': ESM_APP, 'hostd.config.json': '{ "app": "./app.mjs", "bind": "8001" }' });
    const file = await hostd(['check'], { cwd: dir });
    expect(file.code).toBe(1);
    expect(file.stderr).toContain(
      'hostd.config.json: bind: expected an address (HOST:PORT, :PORT, [IPv6]:PORT, unix:PATH or fd://N), got "8001" (write ":8001" for every interface or "127.0.0.1:8001" for this machine only)\n',
    );
    writeFileSync(join(dir, 'hostd.config.json'), '{ "app": "./app.mjs" }');
    const flag = await hostd(['check', '-b', '8001'], { cwd: dir });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('--bind[0]: expected an address (HOST:PORT, :PORT, [IPv6]:PORT, unix:PATH or fd://N), got "8001" (write ":8001" for every interface or "127.0.0.1:8001" for this machine only)\n');
    expect(flag.stderr).not.toContain('missing :PORT');
  });
});

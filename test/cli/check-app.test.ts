/**
 * `hostd check` loads the app as a worker would, in a process of its own: an app that
 * cannot be served is a problem named at `app`, with the fix; the load has a deadline
 * (boot_timeout) and leaves nothing running.
 */
import { readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostd } from '../helpers/cli.ts';
import { alive } from '../helpers/proc.ts';
import { HELLO_APP, project, REPO } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const CONFIG = "import { defineConfig } from 'hostd';\nexport default defineConfig({ app: %APP%, bind: '127.0.0.1:0', workers: 1 });\n";

/** A project serving `app` from `files`, with the repository's copies of `frameworks` installed. */
function appProject(app: string, files: Record<string, string>, frameworks: readonly string[] = [], type: 'module' | 'commonjs' = 'module'): string {
  const dir = project({ ...files, 'hostd.config.ts': CONFIG.replace('%APP%', JSON.stringify(app)) }, { type });
  for (const name of frameworks) symlinkSync(join(REPO, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  return dir;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether 127.0.0.1:`port` can be bound now. */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise((resolve) => server.close(resolve));
  return bound;
}

/** Gone, or a zombie: killed, but not reaped (a container's init may never reap it). */
function dead(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Neither hostd's own stack nor the app's: a problem is one line. */
function expectOneLine(stderr: string, line: string): void {
  expect(stderr).toBe(`${line}\n✗ the app cannot be served\n`);
}

/** Writes the pid of whoever imports it, for checking that the process is gone. */
const PID_AT_IMPORT = "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./app.pid', import.meta.url), String(process.pid));\n";

const running: Hostd[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

type Shape = [what: string, app: string, files: Record<string, string>, message: string, frameworks?: string[], type?: 'module' | 'commonjs'];

describe('hostd check: the app', () => {
  it.each<Shape>([
    [
      'a CommonJS module.exports = { app }',
      './src/app.js',
      { 'src/app.js': "const app = (req, res) => res.end('hi');\nmodule.exports = { app };\n" },
      './src/app.js exports no default; it exports app: write "./src/app.js#app"',
      [],
      'commonjs',
    ],
    [
      'an ES module with only named exports',
      './app.mjs',
      { 'app.mjs': "export const version = 2;\nexport const api = (req, res) => res.end('hi');\n" },
      './app.mjs exports no default; it exports api and version: write "./app.mjs#api"',
    ],
    [
      'a Fastify instance',
      './app.mjs',
      { 'app.mjs': "import Fastify from 'fastify';\nconst app = Fastify();\napp.get('/', async () => 'hi');\nexport default app;\n" },
      "./app.mjs#default is a Fastify instance, not a request listener: export a factory that awaits app.ready() and returns (req, res) => app.server.emit('request', req, res) (see `app` in hostd's docs/settings.md)",
      ['fastify'],
    ],
    [
      'a Koa app',
      './app.mjs',
      { 'app.mjs': "import Koa from 'koa';\nconst app = new Koa();\napp.use((ctx) => { ctx.body = 'hi'; });\nexport default app;\n" },
      './app.mjs#default is a Koa app, not a request listener: export app.callback()',
      ['koa'],
    ],
    [
      'a node:http server',
      './app.mjs',
      { 'app.mjs': "import { createServer } from 'node:http';\nexport default createServer((req, res) => res.end('hi'));\n" },
      './app.mjs#default is a server, not an app: export the request listener you gave createServer() (hostd binds the sockets itself)',
    ],
    [
      'a factory that throws',
      './app.mjs',
      { 'app.mjs': "export default () => {\n  throw new Error('DATABASE_URL is not set');\n};\n" },
      'the app factory ./app.mjs#default threw Error: DATABASE_URL is not set (at app.mjs:2:9)',
    ],
    [
      'a factory that returns a Koa app',
      './app.mjs',
      { 'app.mjs': "import Koa from 'koa';\nexport default async () => new Koa();\n" },
      'the app factory ./app.mjs#default returned a Koa app, not a request listener: return app.callback()',
      ['koa'],
    ],
    [
      'a factory that starts its own server',
      './app.mjs',
      { 'app.mjs': "import { createServer } from 'node:http';\nexport default () => {\n  const app = (req, res) => res.end('hi');\n  createServer(app).listen(0);\n  return app;\n};\n" },
      'the app factory ./app.mjs#default starts its own server (listen() at app.mjs:4): hostd binds the sockets; remove the listen call and return the app',
    ],
    ['a module that throws at import', './app.mjs', { 'app.mjs': "const port = 1;\nthrow new TypeError('no config for ' + port);\n" }, 'importing ./app.mjs failed: app.mjs:2:7: TypeError: no config for 1'],
    ['a TypeScript module that does not parse', './app.ts', { 'app.ts': 'export default {\n  a: 1,,\n};\n' }, 'importing ./app.ts failed: app.ts:2:8: syntax error: Unexpected token'],
    [
      'a value that is not an app',
      './app.mjs',
      { 'app.mjs': 'export default 42;\n' },
      './app.mjs#default is 42; expected a request listener (req, res) => ..., an object with fetch(request), or a factory ({ server, worker }) => either',
    ],
    [
      'a rejection left unhandled while loading',
      './app.mjs',
      { 'app.mjs': "Promise.reject(new Error('connect ECONNREFUSED'));\nawait new Promise((resolve) => setTimeout(resolve, 50));\nexport default (req, res) => res.end();\n" },
      'loading ./app.mjs led to an uncaught Error: connect ECONNREFUSED (at app.mjs:1:16)',
    ],
    ['a module that exports nothing', './app.mjs', { 'app.mjs': 'const app = 1;\n' }, './app.mjs exports nothing: export the app (export default app)'],
    ['a missing named export', './app.mjs#ap', { 'app.mjs': "export const app = (req, res) => res.end('hi');\n" }, './app.mjs has no export "ap" (did you mean "app"?)'],
  ])('reports %s at `app`, with the fix, in one line', async (_what, app, files, message, frameworks = [], type = 'module') => {
    const result = await hostd(['check'], { cwd: appProject(app, files, frameworks, type) });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expectOneLine(result.stderr, `hostd.config.ts: app: ${message}`);
  });

  it('reports an Express app that calls listen() at import, and leaves neither the process nor the port behind', async () => {
    const port = await freePort();
    const app = `${PID_AT_IMPORT}import express from 'express';\nconst app = express();\napp.get('/', (req, res) => res.send('hi'));\napp.listen(${port}, () => console.log('listening'));\n`;
    const dir = appProject('./app.mjs', { 'app.mjs': app }, ['express']);
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expectOneLine(
      result.stderr,
      'hostd.config.ts: app: ./app.mjs starts its own server when imported (listen() at app.mjs:6): hostd binds the sockets; remove the listen call and export the app (export default app)',
    );
    const pid = Number(readFileSync(join(dir, 'app.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(await portFree(port)).toBe(true);
  });

  it('gives up on an app that never finishes loading at boot_timeout, and kills it with what it started', async () => {
    const started = "import { spawn } from 'node:child_process';\nwriteFileSync(new URL('./sleep.pid', import.meta.url), String(spawn('sleep', ['300'], { stdio: 'ignore' }).pid));\n";
    const dir = appProject('./app.mjs', { 'app.mjs': `${PID_AT_IMPORT}${started}await new Promise(() => setInterval(() => {}, 1000));\nexport default (req, res) => res.end();\n` });
    const result = await hostd(['check', '--boot-timeout', '0.5'], { cwd: dir });
    expect(result.code).toBe(1);
    expectOneLine(
      result.stderr,
      'hostd.config.ts: app: ./app.mjs did not finish loading within boot_timeout (0.5 s), so a worker would not boot either: a top-level await or the app factory never settled (raise --boot-timeout if it is only slow, or skip this with --no-app)',
    );
    expect(alive(Number(readFileSync(join(dir, 'app.pid'), 'utf8')))).toBe(false);
    // The app's own child was killed with it (a zombie until this machine's init reaps it, if it does).
    const sleep = Number(readFileSync(join(dir, 'sleep.pid'), 'utf8'));
    await waitUntil(() => dead(sleep), `sleep ${sleep} to be killed`);
  });

  it('says what an app that exits while loading printed', async () => {
    const dir = appProject('./app.mjs', { 'app.mjs': "console.error('fatal: REDIS_URL is not set');\nprocess.exit(4);\n" });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, 'hostd.config.ts: app: loading ./app.mjs ended the process: it exited with code 4 after printing "fatal: REDIS_URL is not set"');
  });

  it('loads the app with the config env set, as a worker does', async () => {
    const dir = project({
      'app.mjs': "if (process.env.GREETING !== 'hi') throw new Error('no GREETING');\nexport default (req, res) => res.end(process.env.GREETING);\n",
      'hostd.config.ts': "export default { app: './app.mjs', env: { GREETING: 'hi' } };\n",
    });
    expect(await hostd(['check'], { cwd: dir })).toMatchObject({ code: 0, stderr: '' });
  });

  it('loads an app that subscribes to host events in its factory, as it would in a worker', async () => {
    const app = `import { host } from 'hostd';
export default ({ server }) => {
  if (!host.running) throw new Error('host says this is not hostd');
  host.on('draining', () => {});
  host.on('shutdown', () => {});
  return (req, res) => res.end('ok');
};
`;
    const dir = appProject('./app.mjs', { 'app.mjs': app });
    expect(await hostd(['check'], { cwd: dir })).toMatchObject({ code: 0, stderr: '' });
  });

  it.each([
    ['a listener', './app.mjs', { 'app.mjs': HELLO_APP }, 'a request listener'],
    ['a TypeScript listener', './src/app.ts', { 'src/app.ts': "export default (req: unknown, res: { end(s: string): void }) => res.end('hi');\n" }, 'a request listener'],
    ['a fetch app', './app.mjs', { 'app.mjs': "export default { fetch: () => new Response('hi') };\n" }, 'a fetch app'],
    ['an async factory', './app.mjs', { 'app.mjs': "export default async () => (req, res) => res.end('hi');\n" }, 'a factory of a request listener'],
    ['a named CommonJS export', './app.cjs#app', { 'app.cjs': "module.exports = { app: ((x) => (req, res) => res.end(x))('hi') };\n" }, 'a request listener'],
  ])('passes %s, and says what it loaded', async (_what, app, files, kind) => {
    const result = await hostd(['check'], { cwd: appProject(app, files) });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('✓ hostd.config.ts is valid');
    expect(result.stdout).toMatch(new RegExp(`\\n  app\\s+${app.replace(/[.#]/g, '\\$&')}: ${kind}\\n`));
  });

  it('skips the load with --no-app: the app is not imported', async () => {
    const dir = appProject('./app.mjs', { 'app.mjs': `${PID_AT_IMPORT}export default 42;\n` });
    const result = await hostd(['check', '--no-app'], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/\n {2}app\s+\.\/app\.mjs \(not loaded: --no-app\)\n/);
    expect(() => readFileSync(join(dir, 'app.pid'))).toThrow();
    // Without it, the same app is a problem (so the skip is what made the difference).
    expect((await hostd(['check'], { cwd: dir })).code).toBe(1);
  });

  it('--no-app is not a value of the app setting: --app still works beside it', async () => {
    const dir = project({ 'good.mjs': HELLO_APP, 'hostd.config.json': '{ "app": "./missing.mjs" }' });
    const result = await hostd(['check', '--app', './good.mjs'], { cwd: dir });
    expect(result.stdout).toMatch(/app\s+\.\/good\.mjs: a request listener/);
    expect((await hostd(['check', '--app', './good.mjs', '--no-app'], { cwd: dir })).stdout).toMatch(/app\s+\.\/good\.mjs \(not loaded: --no-app\)/);
  });

  it('names the variable when the app comes from HOSTD_APP', async () => {
    const dir = project({ 'app.mjs': 'export default 42;\n', 'hostd.config.json': '{}' });
    const result = await hostd(['check'], { cwd: dir, env: { HOSTD_APP: './app.mjs' } });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toMatch(/^HOSTD_APP: \.\/app\.mjs#default is 42; expected/);
  });

  it('reports the app in --json, as a record with its code when it cannot be served', async () => {
    const good = await hostd(['check', '--json'], { cwd: appProject('./app.mjs', { 'app.mjs': HELLO_APP }) });
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, app: { spec: './app.mjs', loaded: true, kind: 'a request listener' } });
    const skipped = await hostd(['check', '--json', '--no-app'], { cwd: appProject('./app.mjs', { 'app.mjs': HELLO_APP }) });
    expect(JSON.parse(skipped.stdout)).toMatchObject({ valid: true, app: { spec: './app.mjs', loaded: false, kind: null } });
    const bad = await hostd(['check', '--json'], { cwd: appProject('./app.mjs', { 'app.mjs': 'export const api = (req, res) => res.end();\n' }) });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      errors: [{ code: 'HOSTD_ERR_APP_INVALID', source: 'hostd.config.ts', path: 'app', message: './app.mjs exports no default; it exports api: write "./app.mjs#api"' }],
    });
  });

  it('hostd run says what check says, from the worker that loads the app', async () => {
    const dir = appProject('./src/app.js', { 'src/app.js': "module.exports = { app: (req, res) => res.end('hi') };\n" }, [], 'commonjs');
    const checked = await hostd(['check'], { cwd: dir });
    const message = checked.stderr.split('\n')[0]!.replace('hostd.config.ts: app: ', '');
    expect(message).toBe('./src/app.js exports no default; it exports app: write "./src/app.js#app"');
    const run = startHostd(dir);
    running.push(run);
    expect((await run.exited).code).toBe(3);
    expect(run.output).toContain(`failed to boot: ${message}`);
  });

  it('hostd run refuses an app that listens while it loads, without the port being taken', async () => {
    const port = await freePort();
    const app = `const { createServer } = require('node:http');\nconst app = (req, res) => res.end('hi');\ncreateServer(app).listen(${port});\nmodule.exports = app;\n`;
    const dir = appProject('./server.js', { 'server.js': app }, [], 'commonjs');
    const message = './server.js starts its own server when imported (listen() at server.js:3): hostd binds the sockets; remove the listen call and export the app (module.exports = app)';
    expectOneLine((await hostd(['check'], { cwd: dir })).stderr, `hostd.config.ts: app: ${message}`);
    const run = startHostd(dir);
    running.push(run);
    await run.waitForOutput(/failed to boot: .*starts its own server/);
    expect(await portFree(port)).toBe(true);
    expect((await run.exited).code).toBe(3);
    expect(run.output).toContain(`failed to boot: ${message}`);
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigInputs, resolveConfig } from '../../src/config/resolve.ts';
import { ConfigInvalidError, HostdError } from '../../src/errors.ts';
import { HELLO_APP, project } from '../helpers/project.ts';

function inputs(cwd: string, more: Partial<ConfigInputs> = {}): ConfigInputs {
  return { command: 'check', cwd, requireFile: true, flags: {}, env: {}, ...more };
}

/** The lines of the ConfigInvalidError `promise` rejects with, relative to the project. */
async function problems(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigInvalidError);
  return (error as ConfigInvalidError).message.split('\n');
}

/** The message of the HostdError that resolving the config of `dir` fails with. */
async function loadFailure(dir: string): Promise<string> {
  const error = await resolveConfig(inputs(dir)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HostdError);
  return (error as HostdError).message;
}

const TS_CONFIG = (body: string, head = '') => `import { defineConfig, definePreset } from 'hostd';\n${head}\nexport default defineConfig(${body});\n`;

describe('finding the config file', () => {
  it.each(['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'])('finds hostd.config.%s from a subfolder, up to the project root', async (ext) => {
    const body = ext === 'json' ? '{ "workers": 3 }' : ext === 'cjs' || ext === 'cts' ? 'module.exports = { workers: 3 };' : 'export default { workers: 3 };';
    const dir = project({ [`hostd.config.${ext}`]: body, 'src/deep/.keep': '' });
    const config = await resolveConfig(inputs(join(dir, 'src', 'deep')));
    expect(config.file).toBe(join(dir, `hostd.config.${ext}`));
    expect(config.settings.workers).toBe(3);
  });

  it('stops at the nearest package.json', async () => {
    const dir = project({ 'hostd.config.json': '{ "workers": 3 }', 'packages/api/package.json': '{}' });
    await expect(resolveConfig(inputs(join(dir, 'packages', 'api')))).rejects.toMatchObject({ code: 'HOSTD_ERR_CONFIG_NOT_FOUND' });
    const optional = await resolveConfig(inputs(join(dir, 'packages', 'api'), { requireFile: false }));
    expect(optional.file).toBeNull();
    expect(optional.settings.workers).toBe(1);
  });

  it('refuses to pick between two config files', async () => {
    const dir = project({ 'hostd.config.json': '{}', 'hostd.config.ts': 'export default {}' });
    await expect(resolveConfig(inputs(dir))).rejects.toMatchObject({ code: 'HOSTD_ERR_CONFIG_AMBIGUOUS' });
  });

  it('takes --config relative to the working directory', async () => {
    const dir = project({ 'conf/prod.ts': 'export default { workers: 5 };' });
    expect((await resolveConfig(inputs(dir, { configFile: 'conf/prod.ts' }))).settings.workers).toBe(5);
    await expect(resolveConfig(inputs(dir, { configFile: 'nope.ts' }))).rejects.toMatchObject({ code: 'HOSTD_ERR_CONFIG_NOT_FOUND' });
  });
});

describe('loading', () => {
  it('loads TypeScript importing local .ts files, with top-level await', async () => {
    const dir = project({
      'ports.ts': 'export const port: number = await Promise.resolve(9123);\n',
      'hostd.config.ts': TS_CONFIG('{ bind: `127.0.0.1:${port}` }', "import { port } from './ports.ts';"),
    });
    expect((await resolveConfig(inputs(dir))).settings.bind).toEqual(['127.0.0.1:9123']);
  });

  it('loads a TypeScript config in a CommonJS project', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG('{ workers: 4 }'), 'lib.js': 'module.exports = 1;' }, { type: 'commonjs' });
    expect((await resolveConfig(inputs(dir))).settings.workers).toBe(4);
  });

  it('loads a CommonJS config that requires hostd', async () => {
    const dir = project({ 'hostd.config.cjs': "const { defineConfig } = require('hostd');\nmodule.exports = defineConfig({ workers: 6 });\n" }, { type: 'commonjs' });
    expect((await resolveConfig(inputs(dir))).settings.workers).toBe(6);
  });

  it('calls a default-exported (async) function with { command, mode }', async () => {
    const dir = project({
      'hostd.config.ts': TS_CONFIG('async ({ command, mode }) => ({ env: { COMMAND: command, MODE: mode } })'),
    });
    expect((await resolveConfig(inputs(dir, { command: 'run' }))).settings.env).toEqual({ COMMAND: 'run', MODE: 'production' });
    expect((await resolveConfig(inputs(dir, { env: { NODE_ENV: 'development' } }))).settings.env).toEqual({ COMMAND: 'check', MODE: 'development' });
  });

  it('re-reads the file on every load (what a reload relies on)', async () => {
    const dir = project({ 'hostd.config.mjs': 'export default { workers: 1 };' });
    expect((await resolveConfig(inputs(dir))).settings.workers).toBe(1);
    writeFileSync(join(dir, 'hostd.config.mjs'), 'export default { workers: 2 };');
    expect((await resolveConfig(inputs(dir))).settings.workers).toBe(2);
  });

  it('resolves JSON hook references to functions, and names what is wrong with bad ones', async () => {
    const dir = project({
      'hooks.mjs': 'export function postFork() {}\nexport const notAFunction = 1;\nexport default function () {}\n',
      'hostd.config.json': JSON.stringify({ post_fork: './hooks.mjs#postFork', pre_fork: './hooks.mjs', on_exit: ['./hooks.mjs#postFork'] }),
    });
    const config = await resolveConfig(inputs(dir));
    expect(config.hooks.post_fork.map((h) => h.fn.name)).toEqual(['postFork']);
    expect(config.hooks.pre_fork).toHaveLength(1);

    writeFileSync(join(dir, 'hostd.config.json'), JSON.stringify({ post_fork: './hooks.mjs#postfork', pre_fork: ['./hooks.mjs#notAFunction'], on_exit: './missing.mjs#x' }));
    const lines = await problems(resolveConfig(inputs(dir)));
    expect(lines).toContain('hostd.config.json: post_fork: "./hooks.mjs" has no export "postfork" (did you mean "postFork"?)');
    expect(lines).toContain('hostd.config.json: pre_fork[0]: expected "./hooks.mjs#notAFunction" to name a function, got 1');
    expect(lines.find((l) => l.startsWith('hostd.config.json: on_exit: cannot load "./missing.mjs"'))).toBeTruthy();
  });

  it('reports a missing default export', async () => {
    const dir = project({ 'hostd.config.ts': 'export const workers = 2;\n' });
    await expect(resolveConfig(inputs(dir))).rejects.toThrow(/hostd\.config\.ts has no default export/);
  });
});

describe('layering: defaults < presets < file < HOSTD_* < flags', () => {
  const layered = () =>
    project({
      'app.mjs': HELLO_APP,
      'hostd.config.ts': TS_CONFIG(
        `{
          extends: [outer],
          app: './app.mjs',
          timeout: 40,
          env: { FROM_FILE: '1', SHARED: 'file' },
          post_fork: function fileHook() {},
        }`,
        `const base = definePreset({ name: 'base', keepalive: 2, timeout: 10, graceful_timeout: 20, env: { FROM_BASE: '1', SHARED: 'base' }, post_fork: function baseHook() {} });
         const outer = definePreset({ name: 'outer', extends: [base], graceful_timeout: 25, post_fork: [function outerHook() {}] });`,
      ),
    });

  it('applies each layer above the one before, and says where each value came from', async () => {
    const dir = layered();
    const config = await resolveConfig(inputs(dir, { env: { HOSTD_WORKERS: '3', HOSTD_TIMEOUT: '50' }, flags: { timeout: ['60'] } }));
    expect(config.presets).toEqual(['base', 'outer']);
    expect(config.settings).toMatchObject({ keepalive: 2, graceful_timeout: 25, timeout: 60, workers: 3, max_requests: 0 });
    expect(config.sources).toMatchObject({
      keepalive: 'preset base',
      graceful_timeout: 'preset outer',
      app: 'hostd.config.ts',
      workers: 'HOSTD_WORKERS',
      timeout: '--timeout',
      max_requests: 'default',
    });
    expect(config.settings.app).toBe(join(dir, 'app.mjs'));
  });

  it('merges env key by key, later layers winning', async () => {
    const config = await resolveConfig(inputs(layered(), { flags: { env: ['FROM_FLAG=1'] } }));
    expect(config.settings.env).toEqual({ FROM_BASE: '1', SHARED: 'file', FROM_FILE: '1', FROM_FLAG: '1' });
    expect(config.sources.env).toBe('preset base + hostd.config.ts + --env');
  });

  it("runs presets' hooks first, in extends order, nested presets before their parent", async () => {
    const config = await resolveConfig(inputs(layered()));
    expect(config.hooks.post_fork.map((h) => [h.fn.name, h.source])).toEqual([
      ['baseHook', 'preset base'],
      ['outerHook', 'preset outer'],
      ['fileHook', 'hostd.config.ts'],
    ]);
  });

  it('accepts a preset factory as is, and applies a preset reached twice once', async () => {
    const dir = project({
      'hostd.config.ts': TS_CONFIG(
        '{ extends: [factory, shared, other] }',
        `const shared = definePreset({ name: 'shared', post_fork: () => {} });
         const other = definePreset({ name: 'other', extends: [shared] });
         const factory = () => definePreset({ name: 'made', workers: 7 });`,
      ),
    });
    const config = await resolveConfig(inputs(dir));
    expect(config.presets).toEqual(['made', 'shared', 'other']);
    expect(config.settings.workers).toBe(7);
    expect(config.hooks.post_fork).toHaveLength(1);
  });

  it('loads presets named by module in JSON configs', async () => {
    const dir = project({
      'presets/team.mjs': "import { definePreset } from 'hostd';\nexport default (options = {}) => definePreset({ name: 'team', workers: options.workers ?? 2 });\n",
      'hostd.config.json': JSON.stringify({ extends: ['./presets/team.mjs'] }),
    });
    const config = await resolveConfig(inputs(dir));
    expect(config.presets).toEqual(['team']);
    expect(config.sources.workers).toBe('preset team');
  });
});

describe('problems', () => {
  it('reports every problem in every layer at once, each naming its source', async () => {
    const dir = project({
      'hostd.config.ts': TS_CONFIG(
        `{
          extends: [acme],
          workers: -2,
          wrokers: 3,
          bind: ['127.0.0.1:8000', 'localhost'],
          post_fork: [() => {}, 3],
          app: './missing.ts',
        } as never`,
        "const acme = definePreset({ name: 'acme', loglevel: 'verbose' as never, timeout: -1 });",
      ),
    });
    const lines = await problems(resolveConfig(inputs(dir, { env: { HOSTD_WROKERS: '2', HOSTD_KEEPALIVE: 'x' }, flags: { graceful_timeout: ['soon'] } })));
    expect(lines).toEqual([
      'preset acme: timeout: expected 0 (off) or a number of seconds from 1 to 2,147,483, got -1',
      'preset acme: loglevel: expected one of "debug", "info", "warning", "error", "critical", got "verbose"',
      'hostd.config.ts: bind[1]: expected an address (HOST:PORT, :PORT, [IPv6]:PORT, unix:PATH or fd://N), got "localhost" (missing :PORT)',
      'hostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got -2',
      'hostd.config.ts: post_fork[1]: expected a function, got 3',
      'hostd.config.ts: wrokers: unknown key (did you mean "workers"?)',
      'HOSTD_WROKERS: unknown hostd variable (did you mean "HOSTD_WORKERS"?)',
      'HOSTD_KEEPALIVE: expected a number of seconds from 0 to 2,147,483, got "x"',
      '--graceful-timeout: expected a number of seconds from 0 to 2,147,483, got "soon"',
      'hostd.config.ts: app: cannot find the app module "missing.ts"',
    ]);
  });

  it('says what env takes: an object in the file, KEY=VALUE pairs in a variable or flag', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG('{ env: null } as never') });
    expect(await problems(resolveConfig(inputs(dir, { env: { HOSTD_ENV: 'abc' }, flags: { env: ['A=1', 'b'] } })))).toEqual([
      'hostd.config.ts: env: expected an object of string values, got null',
      'HOSTD_ENV: expected KEY=VALUE pairs separated by commas, got "abc"',
      '--env: expected KEY=VALUE pairs separated by commas, got "A=1,b"',
    ]);
  });

  it('reports a getter or Proxy that throws as a problem at its key, with what it threw and where', async () => {
    const dir = project({
      'hostd.config.ts': [
        "import { defineConfig, definePreset } from 'hostd';",
        "const team = definePreset({ name: 'team', get timeout(): number { throw new TypeError('no timeout'); } });",
        'const hooks = new Proxy([() => {}], { get(target, key) { if (key === "1") throw new Error("no hook"); return key === "length" ? 2 : Reflect.get(target, key); } });',
        'export default defineConfig({',
        '  extends: [team],',
        '  get workers(): number {',
        "    throw new Error('no workers today');",
        '  },',
        '  env: { get SECRET(): string { throw "vault is sealed"; } },',
        '  post_fork: hooks as never,',
        '  wrokers: 2,',
        '} as never);',
        '',
      ].join('\n'),
    });
    const lines = await problems(resolveConfig(inputs(dir)));
    expect(lines).toEqual([
      'preset team: timeout: reading it threw TypeError: no timeout (at hostd.config.ts:2:73)',
      'hostd.config.ts: workers: reading it threw Error: no workers today (at hostd.config.ts:7:11)',
      'hostd.config.ts: env.SECRET: reading it threw "vault is sealed"',
      'hostd.config.ts: post_fork[1]: reading it threw Error: no hook (at hostd.config.ts:3:81)',
      'hostd.config.ts: wrokers: unknown key (did you mean "workers"?)',
    ]);
  });

  it('reports a default export that cannot be read at all, from an object or a function', async () => {
    const keys = project({ 'hostd.config.ts': 'export default new Proxy({}, { ownKeys() { throw new Error("no keys"); } });\n' });
    expect(await problems(resolveConfig(inputs(keys)))).toEqual(['hostd.config.ts: reading the default export threw Error: no keys (at hostd.config.ts:1:50)']);
    // Nothing but the keys is read: not `then` (which awaiting would), not the prototype once it is known plain.
    const reads = project({ 'hostd.config.mjs': 'export default () => new Proxy({ workers: 2 }, { get(target, key) { if (key !== "workers") throw new Error(`read ${String(key)}`); return target[key]; } });\n' });
    expect((await resolveConfig(inputs(reads))).settings.workers).toBe(2);
  });

  it('reports a log or pidfile that cannot be written where it is: no folder, or a folder in its place', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG("{ accesslog: './missing/access.log', errorlog: './hostd.config.ts/error.log', pidfile: './run' }"), 'run/.keep': '' });
    expect(await problems(resolveConfig(inputs(dir, { env: { HOSTD_PIDFILE: '/no-such-folder/hostd.pid' } })))).toEqual([
      'hostd.config.ts: accesslog: ./missing/access.log: the folder ./missing does not exist',
      'hostd.config.ts: errorlog: ./hostd.config.ts/error.log: ./hostd.config.ts is not a folder',
      'HOSTD_PIDFILE: /no-such-folder/hostd.pid: the folder /no-such-folder does not exist',
    ]);
    expect(await problems(resolveConfig(inputs(dir, { flags: { accesslog: ['-'], errorlog: ['logs/error.log'] } })))).toEqual([
      '--errorlog: ./logs/error.log: the folder ./logs does not exist',
      'hostd.config.ts: pidfile: ./run is a folder; name a file in it',
    ]);
    // `-` and null are not paths; a worker replays what its primary checked; export describes another machine.
    const fine = project({ 'hostd.config.ts': TS_CONFIG("{ accesslog: '-', errorlog: null, pidfile: './missing/hostd.pid' }") });
    const first = await resolveConfig(inputs(fine, { flags: { pidfile: [join(fine, 'hostd.pid')] } }));
    expect(first.settings).toMatchObject({ accesslog: '-', errorlog: null });
    expect((await resolveConfig(inputs(fine, { modules: first.modules }))).settings.pidfile).toBe(join(fine, 'missing', 'hostd.pid'));
    expect((await resolveConfig(inputs(fine, { command: 'export' }))).settings.pidfile).toBe(join(fine, 'missing', 'hostd.pid'));
  });

  it('reports a value once even when its schema fails it twice', async () => {
    const dir = project({ 'hostd.config.json': '{ "app": [], "backlog": -9007199254740992, "unix_group": 1e21 }' });
    const lines = await problems(resolveConfig(inputs(dir, { env: { HOSTD_UNIX_GROUP: '99999999999999999999' } })));
    expect(lines).toEqual([
      'hostd.config.json: app: expected a module path, optionally with #export, as in "./src/app.ts#app", got an array',
      'hostd.config.json: unix_group: expected a group name or id, or null, got 1e+21',
      'hostd.config.json: backlog: expected an integer from 1 to 65,535, got -9007199254740992',
      'HOSTD_UNIX_GROUP: expected a group name or id, or null, got 100000000000000000000',
    ]);
  });

  it('refuses an env variable named __proto__ rather than dropping it', async () => {
    const dir = project({ 'hostd.config.json': '{ "env": { "__proto__": { "A": "1" } } }' });
    expect(await problems(resolveConfig(inputs(dir, { flags: { env: ['__proto__=x'] } })))).toEqual([
      'hostd.config.json: env.__proto__: expected a variable name other than __proto__, got an object',
      '--env: __proto__: expected a variable name other than __proto__, got "x"',
    ]);
  });

  it('refuses app: null, which its TypeScript and JSON types do not allow', async () => {
    const dir = project({ 'hostd.config.json': '{ "app": null }' });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual(['hostd.config.json: app: expected a module path, optionally with #export, as in "./src/app.ts#app", got null']);
  });

  it('quotes a key that would not read as itself, so each problem stays one line', async () => {
    const dir = project({ 'hostd.config.json': JSON.stringify({ env: { 'a\nb': 1, 'MY.VAR': 2, PORT: 3 }, 'wor\nkers': 1 }) });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual([
      'hostd.config.json: env["a\\nb"]: expected a string, got 1',
      'hostd.config.json: env["MY.VAR"]: expected a string, got 2',
      'hostd.config.json: env.PORT: expected a string, got 3',
      'hostd.config.json: "wor\\nkers": unknown key (did you mean "workers"?)',
    ]);
  });

  it('names a preset cycle', async () => {
    const dir = project({
      'hostd.config.ts': TS_CONFIG('{ extends: [a] }', "const a: any = definePreset({ name: 'a' }); const b = definePreset({ name: 'b', extends: [a] }); a.extends = [b];"),
    });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual(['preset b: extends[0]: preset cycle: a → b → a']);
  });

  it('rejects an extends item that is not a preset', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG('{ extends: [{ workers: 2 }] } as never') });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual(['hostd.config.ts: extends[0]: expected a preset made with definePreset({ name, ... }), got an object']);
  });

  it('checks settings that depend on each other', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG("{ certfile: './cert.pem', headers_timeout: 100, request_timeout: 50 }") });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual([
      'hostd.config.ts: certfile: certfile and keyfile must be set together',
      'hostd.config.ts: headers_timeout: headers_timeout (100) must not exceed request_timeout (50)',
    ]);
    const keepalive = project({ 'hostd.config.ts': TS_CONFIG('{ keepalive: 75 }') });
    expect(await problems(resolveConfig(inputs(keepalive)))).toEqual([
      'hostd.config.ts: headers_timeout: headers_timeout (60) must be greater than keepalive (75): Node counts the time a keep-alive connection waits for its next request against headers_timeout, so it would close the connection first',
    ]);
    const off = project({ 'hostd.config.ts': TS_CONFIG('{ keepalive: 75, headers_timeout: 0 }') });
    expect((await resolveConfig(inputs(off))).settings.keepalive).toBe(75);
  });

  it('does not judge a pair by a key that is itself invalid', async () => {
    const dir = project({ 'hostd.config.ts': TS_CONFIG("{ certfile: './cert.pem', keyfile: 123 } as never") });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual([expect.stringMatching(/^hostd\.config\.ts: keyfile: /)]);
  });

  it('rejects a default export that is not an object', async () => {
    const dir = project({ 'hostd.config.mjs': 'export default 42;' });
    expect(await problems(resolveConfig(inputs(dir)))).toEqual(['hostd.config.mjs: expected the default export to be a config object (defineConfig({ ... })), got 42']);
  });

  it('shows a throwing config at the line that threw, without hostd frames', async () => {
    const dir = project({ 'hostd.config.ts': 'const a = 1;\nfunction boom(): never {\n  throw new Error("DATABASE_URL is not set");\n}\nexport default { workers: boom() };\n' });
    const error = await resolveConfig(inputs(dir)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostdError);
    const message = (error as HostdError).message;
    expect(message.split('\n')[0]).toBe('hostd.config.ts:3:9: Error: DATABASE_URL is not set');
    expect(message).toContain('> 3 |   throw new Error("DATABASE_URL is not set");');
    expect(message).toContain('    at boom (hostd.config.ts:3:9)');
    expect(message).not.toMatch(/src[\\/]config|dist[\\/]|jiti/);
  });

  it('shows a syntax error with its file, line and column', async () => {
    const dir = project({ 'hostd.config.ts': 'export default {\n  workers: 2,\n  bind: ,\n};\n' });
    await expect(resolveConfig(inputs(dir))).rejects.toThrow(/^hostd\.config\.ts:3:9: syntax error: Unexpected token/);
  });

  it('shows a throw at the column the user wrote, on the first line and after code babel rewrites', async () => {
    const first = 'export default { workers: 2 as number, bind: (() => { throw new Error("on line 1"); })() };';
    const later = 'const port: number = Number("8000");   if (port) {   throw   new RangeError("on line 3"); }';
    const one = project({ 'hostd.config.ts': `${first}\n` });
    const at = first.indexOf('new Error') + 1;
    expect((await loadFailure(one)).split('\n').slice(0, 3)).toEqual([`hostd.config.ts:1:${at}: Error: on line 1`, `> 1 | ${first}`, `    | ${' '.repeat(at - 1)}^`]);
    // Again, from jiti's transform cache this time.
    expect((await loadFailure(one)).split('\n')[0]).toBe(`hostd.config.ts:1:${at}: Error: on line 1`);
    const three = project({ 'hostd.config.ts': `import { defineConfig } from 'hostd';\n\n${later}\nexport default defineConfig({});\n` });
    expect((await loadFailure(three)).split('\n')[0]).toBe(`hostd.config.ts:3:${later.indexOf('new RangeError') + 1}: RangeError: on line 3`);
  });

  it('shows a syntax error at the line and column an editor shows (from 1), with the caret under it', async () => {
    const dir = project({ 'hostd.config.ts': 'export const port: number = 1; const bind = ;\n' });
    expect(await loadFailure(dir)).toBe(['hostd.config.ts:1:45: syntax error: Unexpected token', '> 1 | export const port: number = 1; const bind = ;', `    | ${' '.repeat(44)}^`, '  2 | '].join('\n'));
  });

  it('names the importing file and line of a missing import', async () => {
    const dir = project({ 'hostd.config.ts': "import { x } from './helpers.ts';\nexport default { x };\n" });
    await expect(resolveConfig(inputs(dir))).rejects.toThrow('hostd.config.ts:1: cannot find module "./helpers.ts" (check the path and extension)');
  });

  it('shows a JSON syntax error with its line', async () => {
    const dir = project({ 'hostd.config.json': '{\n  "workers": 2,,\n}' });
    await expect(resolveConfig(inputs(dir))).rejects.toThrow(/^hostd\.config\.json:2:\d+: invalid JSON/);
  });
});

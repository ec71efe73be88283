import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModuleGraph } from '../../src/config/modules.ts';
import { type ConfigInputs, resolveConfig } from '../../src/config/resolve.ts';
import { describeLoadError } from '../../src/config/user-error.ts';
import { HostdError } from '../../src/errors.ts';
import { project, REPO } from '../helpers/project.ts';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Evaluates `file` of `dir` in `graph` and returns its default export. */
async function defaultOf(graph: ModuleGraph, dir: string, file = 'hostd.config.ts'): Promise<unknown> {
  const path = join(dir, file);
  return (await graph.import(path, path)).default;
}

/** What `hostd check` would say about the error evaluating `file` of `dir` in `graph`. */
async function loadProblem(graph: ModuleGraph, dir: string, file = 'hostd.config.ts'): Promise<string> {
  const error = await defaultOf(graph, dir, file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return describeLoadError(error, join(dir, file), dir, graph.sources);
}

const GENERATION = {
  'ports.ts': [
    'export const port: number = await Promise.resolve(9123);',
    'export const where = { url: import.meta.url, dirname: import.meta.dirname };',
    '',
  ].join('\n'),
  'lib.mjs': "export default 'mjs 1';\n",
  'legacy.cjs': "module.exports = { value: 'cjs 1', dirname: __dirname };\n",
  'data.json': '{ "value": "json 1" }\n',
  'old/package.json': '{ "type": "commonjs" }\n',
  'old/index.js': "exports.value = 'js 1';\n",
  'hostd.config.ts': [
    "import { port, where } from './ports.ts';",
    "import mjs from './lib.mjs';",
    "import legacy from './legacy.cjs';",
    "import data from './data.json';",
    "import { value as js } from './old';",
    'export default { port, where, mjs, cjs: legacy.value, cjsDirname: legacy.dirname, json: data.value, js };',
    '',
  ].join('\n'),
};

describe('a generation: the texts the primary evaluated', () => {
  it('replays the original code after the files changed, broke or went away, at their original location', async () => {
    const dir = project(GENERATION);
    const first = new ModuleGraph();
    const original = await defaultOf(first, dir);
    expect(original).toEqual({
      port: 9123,
      where: { url: pathToFileURL(join(dir, 'ports.ts')).href, dirname: dir },
      mjs: 'mjs 1',
      cjs: 'cjs 1',
      cjsDirname: dir,
      json: 'json 1',
      js: 'js 1',
    });
    const sources = first.sources;
    expect(Object.keys(sources).sort()).toEqual(
      ['hostd.config.ts', 'ports.ts', 'lib.mjs', 'legacy.cjs', 'data.json', 'old/index.js'].map((file) => join(dir, file)).sort(),
    );
    expect(sources[join(dir, 'lib.mjs')]).toBe(GENERATION['lib.mjs']);

    writeFileSync(join(dir, 'hostd.config.ts'), 'export default { edited: true };\n');
    writeFileSync(join(dir, 'ports.ts'), 'export const port: number = await ;\n');
    writeFileSync(join(dir, 'lib.mjs'), "export default 'mjs 2';\n");
    rmSync(join(dir, 'legacy.cjs'));
    writeFileSync(join(dir, 'data.json'), '{ "value": ');
    rmSync(join(dir, 'old'), { recursive: true });

    const replay = new ModuleGraph(sources);
    expect(await defaultOf(replay, dir)).toEqual(original);
    expect(replay.sources).toEqual(sources);
    expect(await defaultOf(new ModuleGraph(), dir)).toEqual({ edited: true });
  });

  it('reads a module that is not in the replayed sources from disk, and records it', async () => {
    const dir = project({ 'extra.ts': 'export const extra = 1;\n' });
    const config = "import { extra } from './extra.ts';\nexport default { extra };\n";
    const graph = new ModuleGraph({ [join(dir, 'hostd.config.ts')]: config });
    expect(await defaultOf(graph, dir)).toEqual({ extra: 1 });
    expect(graph.sources).toEqual({ [join(dir, 'hostd.config.ts')]: config, [join(dir, 'extra.ts')]: 'export const extra = 1;\n' });
  });

  it('resolves an import to the replayed file, not to one added on disk since', async () => {
    const dir = project({ 'lib.ts': 'export default "ts";\n', 'hostd.config.ts': "export { default } from './lib.js';\n" });
    const first = new ModuleGraph();
    expect(await defaultOf(first, dir)).toBe('ts');
    writeFileSync(join(dir, 'lib.js'), 'export default "compiled js";\n');
    expect(await defaultOf(new ModuleGraph(first.sources), dir)).toBe('ts');
    expect(await defaultOf(new ModuleGraph(), dir)).toBe('compiled js');
  });

  it('evaluates a local module again in a new graph, JavaScript included (a reload)', async () => {
    const dir = project({ 'lib.mjs': 'export const value = 1;\n', 'hostd.config.ts': "export { value as default } from './lib.mjs';\n" });
    expect(await defaultOf(new ModuleGraph(), dir)).toBe(1);
    writeFileSync(join(dir, 'lib.mjs'), 'export const value = 2;\n');
    expect(await defaultOf(new ModuleGraph(), dir)).toBe(2);
  });

  it('resolves a config whose file was deleted from the sources of its generation', async () => {
    const dir = project({
      'hooks.mjs': 'export function postFork() {}\n',
      'hostd.config.json': JSON.stringify({ workers: 3, post_fork: './hooks.mjs#postFork' }),
    });
    const inputs: ConfigInputs = { command: 'run', cwd: dir, requireFile: true, flags: {}, env: {} };
    const first = await resolveConfig(inputs);
    expect(Object.keys(first.modules).sort()).toEqual([join(dir, 'hooks.mjs'), join(dir, 'hostd.config.json')]);
    rmSync(join(dir, 'hostd.config.json'));
    rmSync(join(dir, 'hooks.mjs'));
    writeFileSync(join(dir, 'hostd.config.ts'), 'export default { workers: 5 };\n');

    const replayed = await resolveConfig({ ...inputs, modules: first.modules });
    expect(replayed.file).toBe(join(dir, 'hostd.config.json'));
    expect(replayed.settings.workers).toBe(3);
    expect(replayed.hooks.post_fork.map((h) => h.fn.name)).toEqual(['postFork']);
    const named = await resolveConfig({ ...inputs, configFile: 'hostd.config.json', modules: first.modules });
    expect(named.settings.workers).toBe(3);
    // Not even a folder in its place stops a replay: the file is never looked at on disk.
    mkdirSync(join(dir, 'hostd.config.json'));
    expect((await resolveConfig({ ...inputs, configFile: 'hostd.config.json', modules: first.modules })).settings.workers).toBe(3);
    rmSync(join(dir, 'hostd.config.json'), { recursive: true });
    expect((await resolveConfig(inputs)).settings.workers).toBe(5);
  });
});

describe('module instances', () => {
  it('evaluates a module imported twice once, and gives a cycle the exports filled so far', async () => {
    const dir = project({
      'count.ts': 'export const log: string[] = [];\nlog.push("count");\n',
      'a.ts': "import { log } from './count.ts';\nimport { b } from './b.ts';\nlog.push('a');\nexport const a = () => 'a' + b();\n",
      'b.ts': "import { log } from './count.ts';\nimport { a } from './a.ts';\nlog.push('b');\nexport const b = () => 'b';\nexport const seenA = typeof a;\n",
      'x.cjs': "exports.early = 1;\nconst y = require('./y.cjs');\nexports.late = 2;\nexports.fromY = y.sawEarly;\n",
      'y.cjs': "const x = require('./x.cjs');\nexports.sawEarly = x.early;\nexports.sawLate = x.late;\n",
      'hostd.config.ts': [
        "import { log } from './count.ts';",
        "import { a } from './a.ts';",
        "import { seenA } from './b.ts';",
        "import x from './x.cjs';",
        "import y from './y.cjs';",
        "export default { log, a: a(), seenA, x, y, again: (await import('./count.ts')).log === log };",
        '',
      ].join('\n'),
    });
    expect(await defaultOf(new ModuleGraph(), dir)).toEqual({
      log: ['count', 'b', 'a'],
      a: 'ab',
      seenA: 'undefined',
      x: { early: 1, late: 2, fromY: 1 },
      y: { sawEarly: 1 },
      again: true,
    });
  });

  it('waits for a module that is still evaluating when it is not a cycle', async () => {
    const dir = project({
      'slow.ts': 'await new Promise((resolve) => setTimeout(resolve, 20));\nexport const ready = true;\n',
      'one.ts': "import { ready } from './slow.ts';\nexport const one = ready;\n",
      'two.ts': "import { ready } from './slow.ts';\nexport const two = ready;\n",
      'hostd.config.ts': "const [{ one }, { two }] = await Promise.all([import('./one.ts'), import('./two.ts')]);\nexport default { one, two };\n",
    });
    expect(await defaultOf(new ModuleGraph(), dir)).toEqual({ one: true, two: true });
  });

  it('leaves packages to Node: one instance for the whole process', async () => {
    const dir = project({
      'node_modules/counter/package.json': JSON.stringify({ name: 'counter', type: 'module', exports: './index.js' }),
      'node_modules/counter/index.js': 'globalThis.counterLoads = (globalThis.counterLoads ?? 0) + 1;\nexport const loads = globalThis.counterLoads;\nexport default function counter() {}\n',
      'node_modules/legacy/package.json': JSON.stringify({ name: 'legacy', main: 'index.js' }),
      'node_modules/legacy/index.js': 'module.exports = function legacy() {};\nmodule.exports.named = 1;\n',
      'hostd.config.ts': [
        "import counter, { loads } from 'counter';",
        "import * as namespace from 'counter';",
        "import legacy, { named } from 'legacy';",
        "import { readFileSync } from 'node:fs';",
        "import { defineConfig } from 'hostd';",
        'export default defineConfig({ workers: 2, env: { LOADS: String(loads) }, post_fork: [counter, namespace.default, legacy], readFileSync, named } as never);',
        '',
      ].join('\n'),
    });
    const native = (await import(pathToFileURL(join(dir, 'node_modules/counter/index.js')).href)) as { default: unknown; loads: number };
    const first = (await defaultOf(new ModuleGraph(), dir)) as Record<string, unknown>;
    const second = (await defaultOf(new ModuleGraph(), dir)) as Record<string, unknown>;
    expect(first.workers).toBe(2);
    expect(first.env).toEqual({ LOADS: String(native.loads) });
    expect(first.post_fork).toEqual([native.default, native.default, createRequire(join(dir, 'x.js'))('legacy')]);
    expect(second.post_fork).toEqual(first.post_fork);
    expect(first.readFileSync).toBe(readFileSync);
    expect(first.named).toBe(1);
    expect((globalThis as { counterLoads?: number }).counterLoads).toBe(1);
  });

  it('evaluates a package whose entry is TypeScript (a workspace package), and records it', async () => {
    const dir = project({
      'node_modules/workspace-lib/package.json': JSON.stringify({ name: 'workspace-lib', type: 'module', main: 'src/index.ts' }),
      'node_modules/workspace-lib/src/index.ts': "export { port } from './port.ts';\n",
      'node_modules/workspace-lib/src/port.ts': 'export const port: number = 8123;\n',
      'hostd.config.ts': "import { port } from 'workspace-lib';\nexport default { port };\n",
    });
    const graph = new ModuleGraph();
    expect(await defaultOf(graph, dir)).toEqual({ port: 8123 });
    expect(Object.keys(graph.sources)).toContain(join(dir, 'node_modules/workspace-lib/src/port.ts'));
  });

  it('resolves local modules as TypeScript does: .js for .ts, no extension, a folder index, #imports, file: URLs', async () => {
    const dir = project({
      'package.json': JSON.stringify({ name: 'fixture', type: 'module', imports: { '#internal': './lib/internal.ts' } }),
      'lib/a.ts': 'export const a = 1;\n',
      'lib/b.mts': 'export const b = 2;\n',
      'lib/c.ts': 'export const c = 3;\n',
      'lib/index.ts': 'export const index = 4;\n',
      'lib/internal.ts': 'export const internal = 5;\n',
      'lib/d.cts': 'module.exports = { d: 6 };\n',
      'hostd.config.ts': [
        "import { a } from './lib/a.js';",
        "import { b } from './lib/b.mjs';",
        "import { c } from './lib/c';",
        "import { index } from './lib';",
        "import { internal } from '#internal';",
        "const { d } = await import(new URL('./lib/d.cjs', import.meta.url).href);",
        "export default { a, b, c, index, internal, d, resolved: import.meta.resolve('./lib/a.js') };",
        '',
      ].join('\n'),
    });
    // Where Node loads the graph (config/native.ts), a graph after the first of a process (this test's) has its own URLs.
    const resolved = expect.stringMatching(new RegExp(`^${escapeRegExp(pathToFileURL(join(dir, 'lib/a.ts')).href)}(?:\\?hostd-config=\\d+)?$`));
    expect(await defaultOf(new ModuleGraph(), dir)).toEqual({ a: 1, b: 2, c: 3, index: 4, internal: 5, d: 6, resolved });
  });

  it('requires local modules synchronously from CommonJS, TypeScript included', async () => {
    const dir = project(
      {
        'helpers.ts': "import { join } from 'node:path';\nexport const joined: string = join('a', 'b');\nexport default 'helpers';\n",
        'tla.ts': 'export const late = await Promise.resolve(1);\n',
        'hostd.config.cjs': "const helpers = require('./helpers.ts');\nmodule.exports = { joined: helpers.joined, name: helpers.default, strict: (function () { return this === undefined; })() };\n",
        'broken.cjs': "const { late } = require('./tla.ts');\nmodule.exports = late;\n",
      },
      { type: 'commonjs' },
    );
    // Not transpiled: plain CommonJS stays sloppy, as Node runs it.
    expect(await defaultOf(new ModuleGraph(), dir, 'hostd.config.cjs')).toEqual({ joined: join('a', 'b'), name: 'helpers', strict: false });
    expect(await loadProblem(new ModuleGraph(), dir, 'broken.cjs')).toBe('broken.cjs:1: cannot require "./tla.ts": it uses top-level await (import it instead)');
  });
});

describe('problems, at the user file and line', () => {
  it('shows a syntax error in an imported module, as evaluated', async () => {
    const dir = project({
      'helper.ts': 'export const a = 1;\nexport const b = ;\n',
      'plain.cjs': 'module.exports = {\n  a: 1,,\n};\n',
      'data.json': '{\n  "a": 1,\n}\n',
      'hostd.config.ts': "import { a } from './helper.ts';\nexport default { a };\n",
    });
    const graph = new ModuleGraph();
    const message = await loadProblem(graph, dir);
    expect(message).toMatch(/^helper\.ts:2:18: syntax error: Unexpected token/);
    expect(message).toContain('> 2 | export const b = ;');
    expect(await loadProblem(new ModuleGraph(), dir, 'plain.cjs')).toMatch(/^plain\.cjs:2:8: syntax error: Unexpected token/);
    expect(await loadProblem(new ModuleGraph(), dir, 'data.json')).toMatch(/^data\.json:3:1: invalid JSON: /);

    // Quoted as it was evaluated, not as it is now on disk.
    writeFileSync(join(dir, 'helper.ts'), 'changed\n');
    expect(describeLoadError(await defaultOf(graph, dir).catch((e: unknown) => e), join(dir, 'hostd.config.ts'), dir, graph.sources)).toContain(
      '> 2 | export const b = ;',
    );
  });

  it("shows jiti's own parse error (an app's) at the column an editor shows", () => {
    const sources = { '/project/bad.ts': 'export default {\n  workers: 2,,\n};\n' };
    const message = describeLoadError(new Error('ParseError: Unexpected token  \n /project/bad.ts:2:13'), '/project/bad.ts', '/project', sources);
    expect(message.split('\n').slice(0, 4)).toEqual(['bad.ts:2:14: syntax error: Unexpected token', '  1 | export default {', '> 2 |   workers: 2,,', `    | ${' '.repeat(13)}^`]);
  });

  it('names the importing file and line of a missing local module or package', async () => {
    const dir = project({
      'lib.ts': "export const x = 1;\n\nexport { y } from './nope.ts';\n",
      'pkg.ts': "import 'not-installed';\n",
      'hostd.config.ts': "import { x } from './lib.ts';\nexport default { x };\n",
    });
    expect(await loadProblem(new ModuleGraph(), dir)).toBe('lib.ts:3: cannot find module "./nope.ts" (check the path and extension)');
    expect(await loadProblem(new ModuleGraph(), dir, 'pkg.ts')).toBe('pkg.ts:1: cannot find module "not-installed" (is it installed?)');
  });

  it('shows a throw in an imported module at its line, without hostd frames', async () => {
    const dir = project({
      'db.ts': 'const url = process.env.NO_SUCH_VARIABLE;\nif (!url) throw new Error("DATABASE_URL is not set");\nexport default url;\n',
      'hostd.config.ts': "import url from './db.ts';\nexport default { url };\n",
    });
    const message = await loadProblem(new ModuleGraph(), dir);
    expect(message.split('\n')[0]).toBe('db.ts:2:17: Error: DATABASE_URL is not set');
    expect(message).toContain('> 2 | if (!url) throw new Error("DATABASE_URL is not set");');
    expect(message).not.toMatch(/src[\\/]config|dist[\\/]|jiti|node:/);
  });
});

/**
 * The evaluator relies on the shape of jiti's transform output (the version is pinned in
 * package.json): these fail when an update changes it.
 */
describe("jiti's transform, as the evaluator relies on it", () => {
  const jitiRequire = createRequire(join(REPO, 'package.json'));
  const { createJiti } = jitiRequire('jiti') as {
    createJiti: (id: string, options: object) => { transform(options: object): string };
  };
  const jiti = createJiti(join(REPO, 'x.ts'), { fsCache: false, moduleCache: false });
  const transform = (source: string, async = true) => jiti.transform({ source, filename: '/project/x.ts', ts: true, async, interopDefault: true });

  it('is the pinned version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.jiti).toBe((jitiRequire('jiti/package.json') as { version: string }).version);
  });

  it('turns imports into awaited jitiImport calls with babel interop, and inlines import.meta', () => {
    const code = transform(
      "import a from './a.ts';\nimport * as b from 'b';\nexport const url = import.meta.url;\nexport const r = import.meta.resolve('./c.js');\nexport default [a, b, await import('./d.ts')];\n",
    );
    expect(code).toMatch(/_interopRequireDefault\(await jitiImport\("\.\/a\.ts"\)\)/);
    expect(code).toMatch(/function _interopRequireDefault\(e\) \{\s*return e && e\.__esModule \? e : \{ default: e \};\s*\}/);
    expect(code).toMatch(/_interopRequireWildcard\(await jitiImport\("b"\)\)/);
    expect(code).toContain('"file:///project/x.ts"');
    expect(code).toContain("jitiESMResolve('./c.js')");
    expect(code).toMatch(/jitiImport\('\.\/d\.ts'\)/);
    expect(code).toContain('Object.defineProperty(exports, "__esModule", { value: true })');
    // Lines are kept, so stack traces point at the user's lines.
    const lines = code.split('\n');
    expect([lines[2], lines[3], lines[4]]).toEqual([expect.stringContaining('file:///project/x.ts'), expect.stringContaining('jitiESMResolve'), expect.stringContaining("jitiImport('./d.ts')")]);
  });

  it('turns imports into require() calls when not async', () => {
    expect(transform("import { a } from './a.ts';\nexport const b = a;\n", false)).toMatch(/require\("\.\/a\.ts"\)/);
  });

  it('reports a syntax error as an assignment to exports.__JITI_ERROR__', () => {
    const code = transform('export default {\n  workers: 2,,\n};\n');
    expect(code.startsWith('exports.__JITI_ERROR__ = ')).toBe(true);
    expect(JSON.parse(code.slice('exports.__JITI_ERROR__ = '.length))).toEqual({
      filename: '/project/x.ts',
      line: 2,
      column: 13,
      code: 'ParseError',
      message: expect.stringMatching(/^Unexpected token/),
    });
  });

  it('is run by the evaluator with the parameters it expects', async () => {
    const dir = project({ 'hostd.config.ts': 'export default typeof jitiImport + typeof jitiESMResolve + typeof require + typeof module + __filename;\n' });
    expect(await defaultOf(new ModuleGraph(), dir)).toBe(`functionfunctionfunctionobject${join(dir, 'hostd.config.ts')}`);
  });

  it('throws as HostdErrors', async () => {
    const dir = project({ 'hostd.config.ts': "import './gone.ts';\n" });
    await expect(defaultOf(new ModuleGraph(), dir)).rejects.toBeInstanceOf(HostdError);
  });
});

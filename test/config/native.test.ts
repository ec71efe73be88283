/**
 * A config loaded by Node itself (src/config/native.ts) where Node strips types by default
 * (22.18+, 23.6+), and by jiti where it does not or cannot: the same values, positions and
 * messages either way. Each module says who evaluated it: Node's first stack frame is the
 * module's file: URL, jiti's (code hostd compiled) the file's path.
 */
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knownLoaders, ModuleGraph } from '../../src/config/modules.ts';
import { knownUrlCount, LOADER_RUNTIME, NATIVE_TYPESCRIPT, probeCount } from '../../src/config/native.ts';
import { releaseConfig, resolveConfig } from '../../src/config/resolve.ts';
import { describeLoadError } from '../../src/config/user-error.ts';
import { hostd } from '../helpers/cli.ts';
import { waitUntil } from '../helpers/run.ts';
import { project } from '../helpers/project.ts';

/** Who the running Node makes evaluate an erasable config. */
const NODE = NATIVE_TYPESCRIPT ? 'node' : 'jiti';
const WHO = "export const who: string = new Error().stack!.split('\\n')[1]!.includes('file://') ? 'node' : 'jiti';\n";
/** Counts the module's evaluations in `globalThis[key]`: the probe that precedes Node's loading must run none. */
const counted = (key: string) => `(globalThis as Record<string, number>)[${JSON.stringify(key)}] = ((globalThis as Record<string, number>)[${JSON.stringify(key)}] ?? 0) + 1;\n`;
const runs = (key: string) => (globalThis as Record<string, unknown>)[key];

async function load(dir: string, graph = new ModuleGraph(), file = 'hostd.config.ts'): Promise<Record<string, unknown>> {
  const path = join(dir, file);
  return (await graph.import(path, path)).default as Record<string, unknown>;
}

async function problem(dir: string, file = 'hostd.config.ts'): Promise<string> {
  const graph = new ModuleGraph();
  const error = await load(dir, graph, file).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  return describeLoadError(error, join(dir, file), dir, graph.sources);
}

describe('a config Node can load itself', () => {
  it('is loaded by Node where it strips types by default, its local TypeScript, JavaScript and JSON modules too', async () => {
    const dir = project({
      'lib.ts': `${WHO}export const port: number = 8123;\nexport type Port = number;\n`,
      'plain.mjs': "export const who = new Error().stack.split('\\n')[1].includes('file://') ? 'node' : 'jiti';\n",
      'data.json': '{ "__proto__": 1, "name": "data" }\n',
      'attributed.json': '{ "name": "attributed" }\n',
      'hostd.config.ts': [
        "import type { Port } from './lib.ts';",
        "import { port, who as libWho } from './lib.js';",
        "import { who as plainWho } from './plain.mjs';",
        "import data from './data.json';",
        "import attributed from './attributed.json' with { type: 'json' };",
        counted('nativeConfigRuns').trimEnd(),
        WHO.trimEnd(),
        'const typed: Port = port;',
        'export default { typed, who, libWho, plainWho, data: Object.keys(data), attributed: attributed.name, url: import.meta.url, dirname: import.meta.dirname };',
        '',
      ].join('\n'),
    });
    const config = await load(dir);
    expect(config).toEqual({ typed: 8123, who: NODE, libWho: NODE, plainWho: NODE, data: ['__proto__', 'name'], attributed: 'attributed', url: expect.stringMatching(/^file:\/\/.*\/hostd\.config\.ts(?:\?hostd-config=\d+)?$/), dirname: dir });
    expect(runs('nativeConfigRuns')).toBe(1);
  });

  it('replays its generation: the texts it ran, not the files as they are now', async () => {
    const dir = project({ 'lib.ts': `${WHO}export const value: string = 'first';\n`, 'hostd.config.ts': "import { value, who } from './lib.ts';\nexport default { value, who };\n" });
    const first = new ModuleGraph();
    expect(await load(dir, first)).toEqual({ value: 'first', who: NODE });
    writeFileSync(join(dir, 'lib.ts'), "export const value: string = 'second';\n");
    expect(await load(dir, new ModuleGraph(first.sources))).toEqual({ value: 'first', who: NODE });
    expect(await load(dir, new ModuleGraph())).toMatchObject({ value: 'second' });
  });

  it('follows a folder behind a symlink as its path names it: a release switched behind current is the one loaded, its packages too, and the probe runs none of it', async () => {
    const base = project({});
    for (const n of [1, 2]) {
      mkdirSync(join(base, 'releases', String(n)), { recursive: true });
      writeFileSync(join(base, 'releases', String(n), 'lib.ts'), `export const release: number = ${n};\n`);
      // A package in the release's own node_modules, as a preset or a workspace library is.
      mkdirSync(join(base, 'releases', String(n), 'node_modules', 'tuning'), { recursive: true });
      writeFileSync(join(base, 'releases', String(n), 'node_modules', 'tuning', 'package.json'), '{ "name": "tuning", "type": "module", "main": "index.js" }');
      writeFileSync(join(base, 'releases', String(n), 'node_modules', 'tuning', 'index.js'), `export const tuning = ${n * 10};\n`);
      writeFileSync(join(base, 'releases', String(n), 'hostd.config.ts'), `import { release } from './lib.ts';\nimport { tuning } from 'tuning';\n${counted(`symlinkedRuns${n}`)}export default { release, tuning, workers: ${n} };\n`);
    }
    symlinkSync(join('releases', '1'), join(base, 'current'));
    expect(await load(join(base, 'current'))).toEqual({ release: 1, tuning: 10, workers: 1 });
    symlinkSync(join('releases', '2'), join(base, 'current.next'));
    renameSync(join(base, 'current.next'), join(base, 'current'));
    expect(await load(join(base, 'current'))).toEqual({ release: 2, tuning: 20, workers: 2 });
    expect([runs('symlinkedRuns1'), runs('symlinkedRuns2')]).toEqual([1, 1]);
  });

  it('shows a throw at the line and column the user wrote, types before it on the line', async () => {
    const line = "const url: string | undefined = process.env.NO_SUCH_VARIABLE; if (!url) throw new Error('DATABASE_URL is not set');";
    const dir = project({ 'db.ts': `${WHO}${line}\nexport default url;\n`, 'hostd.config.ts': "import url from './db.ts';\nexport default { url };\n" });
    const message = await problem(dir);
    expect(message.split('\n')[0]).toBe(`db.ts:2:${line.indexOf('new Error') + 1}: Error: DATABASE_URL is not set`);
    expect(message).toContain(`> 2 | ${line}`);
    expect(message).not.toMatch(/hostd-(?:config|probe)|src[\\/]config|node:/);
  });

  it('takes what the config imports with import() while it runs, what Node cannot run evaluated as jiti evaluates a required module', async () => {
    const dir = project({
      'enum.ts': 'export enum Level { Low = 1, High }\n',
      'legacy.cjs': "module.exports = { value: 'cjs', 'not-an-identifier': 2 };\n",
      'hostd.config.ts': [
        WHO.trimEnd(),
        "const { Level } = await import('./enum.ts');",
        "const legacy = await import('./legacy.cjs');",
        "export default { who, high: Level.High, value: legacy.value, other: legacy['not-an-identifier'], whole: legacy.default.value };",
        '',
      ].join('\n'),
    });
    expect(await load(dir)).toEqual({ who: NODE, high: 2, value: 'cjs', other: 2, whole: 'cjs' });
  });
});

describe.skipIf(!NATIVE_TYPESCRIPT)("the URLs Node's module hooks know", () => {
  /** A config of three local modules: three URLs a graph keeps while in use. */
  const THREE = { 'lib.ts': 'export const workers: number = 2;\n', 'data.json': '{ "name": "data" }\n', 'hostd.config.ts': "import { workers } from './lib.js';\nimport data from './data.json';\nexport default { workers, proc_name: data.name };\n" };

  it("are those of the graphs in use alone: a probe's once it is over, a graph's once it is released, through many reloads", async () => {
    const dir = project(THREE);
    const before = knownUrlCount();
    let live = new ModuleGraph();
    expect(await load(dir, live)).toEqual({ workers: 2, proc_name: 'data' });
    expect(knownUrlCount() - before).toBe(3);
    for (let reload = 1; reload <= 5; reload++) {
      const next = new ModuleGraph();
      expect(await load(dir, next)).toEqual({ workers: 2, proc_name: 'data' });
      live.release();
      live = next;
      expect(knownUrlCount() - before).toBe(3);
    }
    live.release();
    expect(knownUrlCount()).toBe(before);
  });

  it('are kept for a load under way when its graph is released: it ends as that graph, then they go', async () => {
    // The config, running, waits for the release, then imports `./lib.js`: lib.ts as the graph resolves it, which Node's own resolution would not find.
    const gate = globalThis as { releaseGate?: { running: () => void; released: Promise<void> } };
    let running!: () => void;
    let released!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    gate.releaseGate = { running, released: new Promise<void>((resolve) => (released = resolve)) };
    const dir = project({
      'lib.ts': 'export const workers: number = 2;\n',
      'hostd.config.ts': "const gate = (globalThis as any).releaseGate;\ngate.running();\nawait gate.released;\nconst { workers } = await import('./lib.js');\nexport default { workers };\n",
    });
    const before = knownUrlCount();
    const graph = new ModuleGraph();
    const loading = load(dir, graph);
    await started;
    graph.release();
    released();
    expect(await loading).toEqual({ workers: 2 });
    expect(knownUrlCount()).toBe(before);
  });

  it("serve a released graph's module that imports later (a timer it left) as the graph did, and keep none of it", async () => {
    const dir = project({
      'lib.ts': 'export const workers: number = 2;\n',
      'lazy.ts': 'export enum Lazy { Low = 1, High }\n',
      'hostd.config.ts': "import { workers } from './lib.ts';\nexport const later = () => Promise.all([import('./lib.js'), import('./lazy')]);\nexport default { workers };\n",
    });
    const before = knownUrlCount();
    const graph = new ModuleGraph();
    const path = join(dir, 'hostd.config.ts');
    const exports = await graph.import(path, path);
    graph.release();
    expect(knownUrlCount()).toBe(before);
    writeFileSync(join(dir, 'lib.ts'), 'export const workers: number = 3;\n');
    const [late, lazy] = await (exports.later as () => Promise<Record<string, unknown>[]>)();
    // The instance the graph loaded, not the file as it is now; a module it never loaded, from disk then (an enum: evaluated as jiti does).
    expect([late!.workers, (lazy!.Lazy as Record<string, number>).High]).toEqual([2, 2]);
    expect(knownUrlCount()).toBe(before);
  });

  it('are released with the config resolved through them, and at once for a config that fails to resolve', async () => {
    const dir = project(THREE);
    const inputs = { command: 'check', cwd: dir, requireFile: true, flags: {}, env: {} } as const;
    const before = knownUrlCount();
    const first = await resolveConfig(inputs);
    const second = await resolveConfig(inputs);
    expect(second.settings.workers).toBe(2);
    releaseConfig(first);
    expect(knownUrlCount() - before).toBe(3);
    await expect(resolveConfig({ ...inputs, flags: { workers: ['-1'] } })).rejects.toMatchObject({ code: 'HOSTD_ERR_CONFIG_INVALID' });
    // Released once its load is over, a turn later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(knownUrlCount() - before).toBe(3);
    releaseConfig(second);
    expect(knownUrlCount()).toBe(before);
  });

  it('are kept for a load config_timeout gave up on (an exported function) until it ends: what it imports meanwhile is still the graph\'s', async () => {
    const gate = globalThis as { lateGate?: { go: Promise<void>; done: (outcome: string) => void } };
    let go!: () => void;
    let done!: (outcome: string) => void;
    const ended = new Promise<string>((resolve) => (done = resolve));
    gate.lateGate = { go: new Promise<void>((resolve) => (go = resolve)), done };
    const dir = project({
      'lib.ts': 'export const workers: number = 2;\n',
      'hostd.config.ts': [
        'const gate = (globalThis as any).lateGate;',
        'export default async () => {',
        '  await gate.go;',
        "  gate.done(await import('./lib.js').then((lib) => String(lib.workers), (error: Error) => error.message));",
        '  return {};',
        '};',
        '',
      ].join('\n'),
    });
    const before = knownUrlCount();
    const inputs = { command: 'check', cwd: dir, requireFile: true, flags: { config_timeout: ['0.05'] }, env: {} } as const;
    await expect(resolveConfig(inputs)).rejects.toMatchObject({ code: 'HOSTD_ERR_CONFIG_TIMEOUT' });
    go();
    expect(await ended).toBe('2');
    await waitUntil(() => knownUrlCount() === before, 'the graph released once its load ended', 5000);
  });
});

describe.skipIf(!NATIVE_TYPESCRIPT)('a generation replayed (a worker)', () => {
  const ERASABLE = { 'lib.ts': `${WHO}export const port: number = 8123;\n`, 'hostd.config.ts': "import { port, who } from './lib.js';\nexport default { port, who };\n" };
  const ENUM = { 'lib.ts': `${WHO}export enum Port { Http = 8123 }\nexport const port = Port.Http;\n`, 'hostd.config.ts': "import { port, who } from './lib.ts';\nexport default { port, who };\n" };

  it.each([
    ['Node', ERASABLE, 'node'],
    ['jiti', ENUM, 'jiti'],
  ] as const)("takes who loaded each root from the graph that read its texts, and probes none: %s", async (_, files, who) => {
    const dir = project(files);
    const file = join(dir, 'hostd.config.ts');
    const primary = new ModuleGraph();
    expect(await load(dir, primary)).toEqual({ port: 8123, who });
    expect(primary.loaders).toEqual({ runtime: LOADER_RUNTIME, roots: { [file]: who } });
    const probes = probeCount();
    const worker = new ModuleGraph(primary.sources, knownLoaders(JSON.parse(JSON.stringify(primary.loaders))));
    expect(await load(dir, worker)).toEqual({ port: 8123, who });
    expect(probeCount()).toBe(probes);
  });

  it('probes as before when that is not known, or said in a way it does not take, or found on another runtime, or said of a file it reads from disk', async () => {
    const dir = project(ERASABLE);
    const file = join(dir, 'hostd.config.ts');
    const primary = new ModuleGraph();
    await load(dir, primary);
    const runtime = LOADER_RUNTIME;
    for (const [sources, loaders] of [
      [primary.sources, undefined],
      [primary.sources, { runtime, roots: { [file]: 'jit' } }],
      [primary.sources, { runtime, roots: [['node']] }],
      // The shape before the runtime was sent, from a primary of an older hostd.
      [primary.sources, { [file]: 'node' }],
      // The node binary replaced between the primary's start and this worker's fork: another Node, or its stripper another.
      [primary.sources, { runtime: runtime.replace(process.version, 'v26.0.0-other'), roots: { [file]: 'node' } }],
      [{}, { runtime, roots: { [file]: 'node' } }],
    ] as const) {
      const probes = probeCount();
      expect(await load(dir, new ModuleGraph(sources, knownLoaders(loaders)))).toEqual({ port: 8123, who: 'node' });
      expect(probeCount()).toBe(probes + 1);
    }
  });
});

describe("who loaded a config's roots, as another process says (a worker's boot message)", () => {
  const HERE = 'node v26.10.0; strip; amaro 1.1.11; typescript strip';
  const roots = { '/a/hostd.config.ts': 'node', '/a/preset.ts': 'jiti' };

  it("is taken only from a process of the same runtime, and only a path's node or jiti", () => {
    expect(knownLoaders({ runtime: HERE, roots: { ...roots, 'relative.ts': 'node', '/a/b.ts': 'other', '/a/c.ts': 1 } }, HERE)).toEqual(roots);
    expect(knownLoaders({ runtime: LOADER_RUNTIME, roots })).toEqual(roots);
    expect(Object.getPrototypeOf(knownLoaders({ runtime: HERE, roots: JSON.parse('{"__proto__": "node"}') }, HERE))).toBe(null);
  });

  it.each([
    ['another Node (its binary replaced on disk since the primary started)', { runtime: 'node v24.21.0; strip; amaro 1.1.11; typescript strip', roots }],
    ['another stripper', { runtime: 'node v26.10.0; strip; amaro 1.2.0; typescript strip', roots }],
    ['Node told not to strip types (worker_exec_argv, NODE_OPTIONS)', { runtime: 'node v26.10.0; strip; amaro 1.1.11; typescript false', roots }],
    ['no runtime (an older primary)', roots],
    ['a runtime that is no text', { runtime: 26, roots }],
    ['roots that are no record', { runtime: HERE, roots: [['/a/hostd.config.ts', 'node']] }],
    ['no roots', { runtime: HERE }],
    ['null', null],
    ['a text', HERE],
    ['a list', [HERE, roots]],
    ['nothing', undefined],
  ])('is nothing (every root probed) when it comes from %s', (_, value) => {
    expect(knownLoaders(value, HERE)).toEqual({});
  });
});

describe('a config Node cannot load itself', () => {
  it.each([
    ['an enum', 'export enum Mode { A, B }\nexport const value = Mode.B;\n'],
    ['a namespace', 'export namespace Space { export const inner = 1; }\nexport const value = Space.inner;\n'],
    ['parameter properties', 'class Box { constructor(public inner: number) {} }\nexport const value = new Box(1).inner;\n'],
    ["CommonJS's variables", "import { basename } from 'node:path';\nexport const value = basename(__dirname).length > 0 ? 1 : 0;\n"],
  ])('falls back to jiti, for its whole graph and once, when a module it imports uses %s', async (_, module) => {
    const key = `fallbackRuns${Math.random()}`;
    const dir = project({ 'lib.ts': `${counted(key)}${WHO}${module}`, 'hostd.config.ts': `${counted(key)}${WHO}import { value, who as libWho } from './lib.ts';\nexport default { value, who, libWho };\n` });
    const config = await load(dir);
    expect(config.value).toBeTruthy();
    expect([config.who, config.libWho]).toEqual(['jiti', 'jiti']);
    expect(runs(key)).toBe(2);
  });

  it('shows a throw in such a module at the line and column the user wrote, as before', async () => {
    const line = "  constructor(public name: string | undefined) { if (!name) throw new Error('no name'); }";
    const dir = project({ 'box.ts': `export class Box {\n${line}\n}\nexport default new Box(undefined);\n`, 'hostd.config.ts': "import box from './box.ts';\nexport default { box };\n" });
    const message = await problem(dir);
    expect(message.split('\n')[0]).toBe(`box.ts:2:${line.indexOf('new Error') + 1}: Error: no name`);
    expect(message).toContain(`> 2 | ${line}`);
  });

  it('reports a syntax error as jiti always did', async () => {
    const dir = project({ 'helper.ts': 'export const a: number = 1;\nexport const b = ;\n', 'hostd.config.ts': "import { a } from './helper.ts';\nexport default { a };\n" });
    const message = await problem(dir);
    expect(message).toMatch(/^helper\.ts:2:18: syntax error: Unexpected token/);
    expect(message).toContain('> 2 | export const b = ;');
  });
});

it("prints none of Node's experimental-feature warnings (hostd check on a TypeScript config)", async () => {
  const dir = project({ 'app.mjs': 'export default (req, res) => res.end();\n', 'hostd.config.ts': "import { defineConfig } from 'hostd';\nconst workers: number = 2;\nexport default defineConfig({ app: './app.mjs', workers });\n" });
  const result = await hostd(['check'], { cwd: dir });
  expect(result.code).toBe(0);
  expect(result.stderr).not.toMatch(/Warning/);
});

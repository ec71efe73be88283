/**
 * hostd's transform cache (src/config/transform-cache.ts) and its resolution of `hostd`
 * itself (load.ts): what lets a process evaluate an unchanged config without loading jiti.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePackage } from '../../src/config/load.ts';
import { ModuleGraph } from '../../src/config/modules.ts';
import { cachedTransform, storeTransform } from '../../src/config/transform-cache.ts';
import { project, REPO, tempDir } from '../helpers/project.ts';
import { startHostd } from '../helpers/run.ts';
import { resolvedSettings } from '../helpers/cli.ts';

const CONFIG = "const workers: number = 3;\nexport default { workers };\n";

async function workersOf(dir: string): Promise<unknown> {
  const file = join(dir, 'hostd.config.ts');
  return ((await new ModuleGraph().import(file, file)).default as { workers: unknown }).workers;
}

const entries = (dir: string) => readdirSync(join(dir, 'node_modules', '.cache', 'hostd')).filter((f) => f.endsWith('.json'));

describe('the transform cache', () => {
  it('is written on the first evaluation and read, for that exact text, by the next process', async () => {
    const dir = project({ 'hostd.config.ts': CONFIG });
    // Processes of the built CLI (a process remembers what it transformed itself).
    expect((await resolvedSettings(dir)).workers).toBe(3);
    const [name] = entries(dir);
    expect(name).toBeDefined();
    // The entry's code is what runs next time: changed here, the next evaluation shows it.
    const path = join(dir, 'node_modules', '.cache', 'hostd', name!);
    const entry = JSON.parse(readFileSync(path, 'utf8')) as { code: string };
    expect(entry.code).toContain('workers');
    writeFileSync(path, JSON.stringify({ ...entry, code: entry.code.replace('= 3', '= 4') }));
    expect((await resolvedSettings(dir)).workers).toBe(4);
    // Another text of the same file does not use it.
    writeFileSync(join(dir, 'hostd.config.ts'), CONFIG.replace('3', '5'));
    expect((await resolvedSettings(dir)).workers).toBe(5);
    expect(entries(dir)).toHaveLength(2);
  });

  it('keeps an entry to its file, text and mode', () => {
    const dir = project({});
    const file = join(dir, 'a.ts');
    storeTransform(file, 'let a = 1;', 'async', 'CODE');
    expect(cachedTransform(file, 'let a = 1;', 'async')).toBe('CODE');
    expect(cachedTransform(file, 'let a = 1;', 'sync')).toBeUndefined();
    expect(cachedTransform(file, 'let a = 2;', 'async')).toBeUndefined();
    expect(cachedTransform(join(dir, 'b.ts'), 'let a = 1;', 'async')).toBeUndefined();
  });

  it('is not kept where no node_modules folder is above the module (never in a folder others share)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hostd.config.ts'), CONFIG);
    expect(await workersOf(dir)).toBe(3);
    expect(readdirSync(dir)).toEqual(['hostd.config.ts']);
  });
});

describe('resolving hostd itself', () => {
  it('gives the files of its exports map, as Node would', () => {
    const dir = project({});
    const parent = join(dir, 'hostd.config.ts');
    expect(resolvePackage('hostd', parent)).toBe(join(REPO, 'dist', 'index.js'));
    expect(resolvePackage('hostd/presets/docker', parent)).toBe(join(REPO, 'dist', 'presets', 'docker.js'));
    expect(resolvePackage('hostd/presets/nothing-like-it', parent)).toBeUndefined();
  });

  it('leaves another copy of hostd, and other packages, to the loader', () => {
    const dir = project({});
    const other = join(dir, 'sub', 'node_modules', 'hostd');
    mkdirSync(join(other, 'lib'), { recursive: true });
    writeFileSync(join(other, 'package.json'), JSON.stringify({ name: 'hostd', exports: { '.': './lib/main.js' } }));
    writeFileSync(join(other, 'lib', 'main.js'), 'export {};\n');
    expect(resolvePackage('hostd', join(dir, 'sub', 'hostd.config.ts'))).toBe(join(other, 'lib', 'main.js'));
    expect(resolvePackage('zod', join(REPO, 'hostd.config.ts'))).toContain(join('node_modules', 'zod'));
  });
});

describe("a generation's transforms", () => {
  it('are the primary\'s in its workers: with no cache to read or write, a worker loads neither jiti nor Node\'s stripper', async () => {
    // What the worker loaded: jiti (a CommonJS package) and Node's stripper (its internal amaro module).
    const loaded = "JSON.stringify({ jiti: Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/jiti/')), stripper: process.moduleLoadList.some((m) => m.includes('amaro')) })";
    const dir = project({
      'app.mjs': `import { createRequire } from 'node:module';\nexport default (req, res) => res.end(${loaded});\n`,
      'lib.ts': 'export const workers: number = 1;\n',
      'hostd.config.ts': "import { defineConfig } from 'hostd';\nimport { workers } from './lib.ts';\nexport default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers });\n",
    });
    // The project read-only, so nothing is cached: the primary transforms the config, the worker takes its transforms.
    const prefix = ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir];
    const run = startHostd(dir, [], { prefix });
    const url = await run.ready();
    expect(JSON.parse(await (await fetch(url)).text())).toEqual({ jiti: false, stripper: false });
    expect(readdirSync(join(dir, 'node_modules'))).toEqual(['hostd']);
    await run.stop();
  });
});

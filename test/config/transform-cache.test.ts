/**
 * hostd's transform cache (src/config/transform-cache.ts) and its resolution of `hostd`
 * itself (load.ts): what lets a process evaluate an unchanged config without loading jiti.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePackage } from '../../src/config/load.ts';
import { ModuleGraph } from '../../src/config/modules.ts';
import { adoptTransforms, cachedTransform, storeTransform, transformsOf } from '../../src/config/transform-cache.ts';
import { project, REPO, tempDir } from '../helpers/project.ts';

const CONFIG = "const workers: number = 3;\nexport default { workers };\n";

async function workersOf(dir: string): Promise<unknown> {
  const file = join(dir, 'hostd.config.ts');
  return ((await new ModuleGraph().import(file, file)).default as { workers: unknown }).workers;
}

describe('the transform cache', () => {
  it('keeps an entry to its file, text and mode', () => {
    const dir = project({});
    const file = join(dir, 'a.ts');
    storeTransform(file, 'let a = 1;', 'async', 'CODE');
    expect(cachedTransform(file, 'let a = 1;', 'async')).toBe('CODE');
    expect(cachedTransform(file, 'let a = 1;', 'sync')).toBeUndefined();
    expect(cachedTransform(file, 'let a = 2;', 'async')).toBeUndefined();
    expect(cachedTransform(join(dir, 'b.ts'), 'let a = 1;', 'async')).toBeUndefined();
  });

  it("gives a generation's transforms to another process, which takes only those of its texts", () => {
    const dir = project({});
    const [a, b] = [join(dir, 'a.ts'), join(dir, 'b.ts')];
    storeTransform(a, 'let a = 1;', 'async', 'CODE A');
    storeTransform(b, 'let b = 1;', 'sync', 'CODE B');
    const sources = { [a]: 'let a = 1;', [b]: 'let b = 2;' };
    // b.ts's transform is of another text: not this generation's.
    expect(transformsOf(sources)).toEqual([{ file: a, mode: 'async', code: 'CODE A' }]);
    const c = join(dir, 'c.ts');
    adoptTransforms([{ file: c, mode: 'async', code: 'CODE C' }, { file: c, mode: 7, code: 'x' }, null, { file: join(dir, 'd.ts'), mode: 'async', code: 'CODE D' }], { [c]: 'let c = 1;' });
    expect(cachedTransform(c, 'let c = 1;', 'async')).toBe('CODE C');
    expect(cachedTransform(c, 'let c = 2;', 'async')).toBeUndefined();
    expect(cachedTransform(join(dir, 'd.ts'), 'let d = 1;', 'async')).toBeUndefined();
    adoptTransforms('not a list', {});
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


/**
 * The transform cache across processes (src/config/transform-cache.ts): what one process
 * writes, the next reads; and a generation's transforms, which a worker takes from its primary.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvedSettings } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { startHostd } from '../helpers/run.ts';

const CONFIG = "const workers: number = 3;\nexport default { workers };\n";
const entries = (dir: string) => readdirSync(join(dir, 'node_modules', '.cache', 'hostd')).filter((f) => f.endsWith('.json'));

describe('the transform cache, between processes', () => {
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

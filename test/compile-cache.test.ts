/**
 * Node's compile cache (src/compile-cache.ts) in the processes hostd starts: the primary and
 * every worker use hostd's cache folder on Node 22.1 and later, none on Node 20, and none
 * at all when no folder can be made, without which hostd runs as well.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCacheFolders } from '../src/compile-cache.ts';
import { recordingConfig } from './helpers/apps.ts';
import { CLI, cleanEnv } from './helpers/cli.ts';
import { project, REPO, tempDir } from './helpers/project.ts';
import { type Hostd, hooksLog, RECORD_MODULE, startHostd, waitForRecord } from './helpers/run.ts';

/** Whether the Node running the tests (and so hostd, started with it) has the cache. */
const SUPPORTED = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
/** hostd's own folder for the cache: its code is this repository's dist/. */
const PROJECT_CACHE = join(REPO, 'node_modules', '.cache', 'hostd', 'compile');

const APP = `import module from 'node:module';
export default (req, res) => res.end(JSON.stringify(module.getCompileCacheDir?.() ?? null));
`;
const CONFIG = recordingConfig('workers: 1, when_ready: () => rec(`primary ${JSON.stringify(module.getCompileCacheDir?.() ?? null)}`),', "import module from 'node:module';");

/**
 * Runs hostd in a mount namespace of its own where `folder` is read-only and, when `empty`, hides
 * what it holds (an empty folder mounted over it), without XDG_CACHE_HOME, and without HOME unless `home`.
 */
function sandboxed(folder: string, options: { empty: boolean; home: string | null }): readonly string[] {
  const source = options.empty ? tempDir('hostd-empty-') : folder;
  const unset = ['-u', 'XDG_CACHE_HOME', ...(options.home === null ? ['-u', 'HOME'] : [])];
  return ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', `mount --bind -o ro "$0" "$1" && shift && exec env ${unset.join(' ')} "$@"`, source, folder];
}

describe("Node's compile cache", () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  /** The cache folder the primary and its worker use. */
  async function foldersIn(prefix: readonly string[] = [], env: Record<string, string> = {}): Promise<{ primary: string | null; worker: string | null }> {
    const dir = project({ 'app.mjs': APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': CONFIG });
    run = startHostd(dir, [], { prefix, env });
    const url = await run.ready();
    const worker = (await (await fetch(url)).json()) as string | null;
    const line = (await waitForRecord(hooksLog(dir), /^primary /)).find((l) => l.startsWith('primary '))!;
    return { primary: JSON.parse(line.slice('primary '.length)) as string | null, worker };
  }

  it("is on in the primary and the workers, in hostd's cache folder (Node 22.1 and later)", async () => {
    const { primary, worker } = await foldersIn();
    if (SUPPORTED) {
      expect(primary?.startsWith(`${PROJECT_CACHE}/`)).toBe(true);
      expect(worker).toBe(primary);
    } else {
      expect([primary, worker]).toEqual([null, null]);
    }
  });

  it("is read from hostd's folder when it exists and cannot be written (a read-only image)", async () => {
    // A start fills it, as `hostd check --warm` does when an image is built.
    await foldersIn();
    await run!.stop();
    const { primary, worker } = await foldersIn(sandboxed(join(REPO, 'node_modules'), { empty: false, home: null }));
    if (SUPPORTED) {
      expect(primary?.startsWith(`${PROJECT_CACHE}/`)).toBe(true);
      expect(worker).toBe(primary);
    } else {
      expect([primary, worker]).toEqual([null, null]);
    }
  });

  it('goes to the home folder when node_modules cannot be written, and nowhere without HOME', async () => {
    mkdirSync(join(REPO, 'node_modules', '.cache'), { recursive: true });
    const readOnly = join(REPO, 'node_modules', '.cache');
    const home = tempDir('hostd-home-');
    const withHome = await foldersIn(sandboxed(readOnly, { empty: true, home }), { HOME: home });
    expect(withHome.primary?.startsWith(`${join(home, '.cache', 'hostd', 'compile')}/`) ?? null).toBe(SUPPORTED ? true : null);
    expect(withHome.worker).toBe(withHome.primary);
    await run!.stop();
    const nowhere = await foldersIn(sandboxed(readOnly, { empty: true, home: null }));
    expect(nowhere).toEqual({ primary: null, worker: null });
  });
});

describe('the folders the compile cache may use', () => {
  it.skipIf(!SUPPORTED)("hostd check keeps the app's compiled code, which its app process, killed once it answered, writes first", () => {
    const dir = project({ 'app.mjs': `export default (req, res) => res.end(${JSON.stringify(tempDir())});\n`, 'hostd.config.json': '{ "app": "./app.mjs" }' });
    // hostd's folder for the cache, empty and its own: other tests write to the real one meanwhile.
    const cache = tempDir('hostd-compile-');
    mkdirSync(PROJECT_CACHE, { recursive: true });
    const check = (...args: string[]) => {
      execFileSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount --bind "$0" "$1" && shift && exec "$@"', cache, PROJECT_CACHE, process.execPath, CLI, 'check', ...args], { cwd: dir, env: cleanEnv(), stdio: 'ignore' });
      return readdirSync(cache, { recursive: true }).length;
    };
    const withoutApp = check('--no-app');
    // The same again, and the app: only its code is new to the cache.
    expect(check()).toBeGreaterThan(withoutApp);
  });

  it("are the project's node_modules/.cache/hostd, then the user's cache folder", () => {
    const code = join(REPO, 'dist');
    expect(compileCacheFolders(code, { HOME: '/home/u' })).toEqual([PROJECT_CACHE, '/home/u/.cache/hostd/compile']);
    expect(compileCacheFolders(code, { HOME: '/home/u', XDG_CACHE_HOME: '/var/cache/u' })).toEqual([PROJECT_CACHE, '/var/cache/u/hostd/compile']);
    expect(compileCacheFolders(code, {})).toEqual([PROJECT_CACHE]);
    expect(compileCacheFolders(tempDir(), {})).toEqual([]);
  });
});

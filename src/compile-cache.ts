/**
 * Node's compile cache (`module.enableCompileCache`, Node 22.1 and later) for the processes
 * hostd starts: the CLI and the primary (bin.ts), every worker and `hostd check`'s app
 * process (their entries turn it on before they load the rest), so V8 compiles their code,
 * hostd's and what they load after it (the app), once per Node version rather than at every
 * start. On Node 20 there is no such cache, and none is made.
 *
 * In hostd's cache folder: the project's node_modules/.cache/hostd/compile (cache-folder.ts),
 * else $XDG_CACHE_HOME/hostd/compile or $HOME/.cache/hostd/compile; nowhere when neither can
 * be made (a read-only node_modules and no HOME). A folder that exists but cannot be written
 * (an image made read-only at run time after `hostd check --warm` filled it) is still read.
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off; NODE_COMPILE_CACHE, Node's own setting, wins.
 */
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { projectCacheFolder } from './cache-folder.ts';

interface CompileCacheResult {
  readonly status: number;
  readonly directory?: string;
}

/** `module` of Node 22.1 and later, as far as hostd uses it (@types/node is Node 20's). */
const node = module as unknown as {
  enableCompileCache?: (directory: string) => CompileCacheResult;
  getCompileCacheDir?: () => string | undefined;
  constants?: { compileCacheStatus?: { ENABLED: number; ALREADY_ENABLED: number; DISABLED: number } };
};

/** Where the cache may go, in order: the project's, then the user's. */
export function compileCacheFolders(codeDir: string, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const project = projectCacheFolder(codeDir);
  const user = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : undefined);
  return [...(project === null ? [] : [join(project, 'compile')]), ...(user === undefined ? [] : [join(user, 'hostd', 'compile')])];
}

/**
 * Turns the cache on for this process, for code in `codeDir` (hostd's dist/); returns the
 * folder it uses, or null when none (Node 20, turned off, nowhere to put it).
 */
export function enableCompileCache(codeDir: string, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const status = node.constants?.compileCacheStatus;
  if (typeof node.enableCompileCache !== 'function' || status === undefined) return null;
  for (const folder of compileCacheFolders(codeDir, env)) {
    try {
      // Made here first: Node's own mkdir never returns on some paths it cannot make (under /proc).
      mkdirSync(folder, { recursive: true });
    } catch {
      continue;
    }
    const result = node.enableCompileCache(folder);
    if (result.status === status.ENABLED || result.status === status.ALREADY_ENABLED) return node.getCompileCacheDir?.() ?? result.directory ?? folder;
    if (result.status === status.DISABLED) return null;
  }
  return null;
}

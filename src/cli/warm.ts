/**
 * `hostd check --warm`: fills the caches `hostd run` reads, for an image whose containers
 * should start warm (the Dockerfile `hostd export docker` writes runs it as its last build
 * step). The check itself caches the config's transforms (transform-cache.ts) and, loading
 * the app, the app's compiled code; this adds hostd's own code for `hostd run`: the primary's,
 * imported here (not run), and a worker's, from a worker process started with the config's
 * worker flags, which loads its code and exits. Node's compile cache exists from Node 22.1:
 * without it there is nothing more to fill.
 */
import { fork } from 'node:child_process';
import module from 'node:module';
import type { ResolvedConfig } from '../config/types.ts';
import { WORKER_ENTRY, workerFlags } from '../runtime/primary/worker-process.ts';

/** `module` of Node 22.1 and later, as far as this uses it (@types/node is Node 20's). */
const node = module as unknown as { getCompileCacheDir?: () => string | undefined; flushCompileCache?: () => void };

/** Fills the compile cache for `hostd run` of `config`; returns its folder, or null when there is none. */
export async function warmCaches(config: ResolvedConfig): Promise<string | null> {
  const folder = node.getCompileCacheDir?.();
  if (folder === undefined) return null;
  await import('./commands/run.ts');
  await import('../runtime/primary/main.ts');
  // The worker's Node flags, which V8's cache is keyed by; not its inspector (a port opened for nothing).
  const { execArgv } = workerFlags(config.settings.worker_exec_argv, 1, 1, null);
  const worker = fork(WORKER_ENTRY, [], {
    env: { ...process.env, ...config.settings.env },
    execArgv: execArgv.filter((flag) => !flag.startsWith('--inspect')),
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    serialization: 'json',
  });
  await new Promise<void>((resolve) => {
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
    // Not a boot message: once its code is loaded and reads this, the worker exits (and Node writes its cache).
    worker.send({ t: 'warm' }, () => {});
  });
  node.flushCompileCache?.();
  return folder;
}

/**
 * Starting the process that loads the app for `hostd check` (app-check-child.ts). The bin
 * starts it for `hostd check` before the whole CLI loads (bin.ts), so that its Node start
 * overlaps the CLI's and the config's; `hostd check` then takes that one (app-check.ts).
 * Shared by both bundles: the bin is CommonJS and the CLI an ES module, so the process is
 * handed over on a global symbol, not a module variable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const EARLY = Symbol.for('hostd.app-check.early');

/** Starts the child from `codeDir` (dist/); it waits to be told what to load, and keeps no one alive until then. */
export function spawnAppCheck(codeDir: string): ChildProcess {
  const child = spawn(process.execPath, [...process.execArgv.filter((arg) => !/^--inspect/.test(arg)), join(codeDir, 'app-check.js')], {
    // Its own process group, so that killing it kills what the app started too.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  // Until it is asked, it must not keep `check` alive (a config problem ends `check` early).
  child.unref();
  child.on('error', () => {});
  return child;
}

/** The bin: starts the child now, for the CLI to take. If the CLI never does (a usage error), the child ends itself when this process exits. */
export function startAppCheckEarly(codeDir: string): void {
  (globalThis as Record<symbol, unknown>)[EARLY] = spawnAppCheck(codeDir);
}

/** The child the bin started, once; undefined if it started none. */
export function takeEarlyAppCheck(): ChildProcess | undefined {
  const global = globalThis as Record<symbol, unknown>;
  const child = global[EARLY] as ChildProcess | undefined;
  delete global[EARLY];
  return child;
}

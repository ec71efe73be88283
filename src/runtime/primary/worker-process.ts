/** How a worker process is started. What it runs comes after, as its first IPC message. */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { HOSTD_CODE_DIR } from '../../paths.ts';
import { heapShareMiB } from '../memory.ts';
import { withoutSystemdVariables } from '../targets/systemd.ts';
import type { Folder } from './generation.ts';

/** The built worker entry, next to the CLI in dist/. */
export const WORKER_ENTRY = join(HOSTD_CODE_DIR, 'worker.js');

/** The first inspector port of workers: Node's own default, so worker 1 listens one above it. */
const INSPECT_BASE_PORT = 9229;

const INSPECTOR_FLAG = /^--inspect(-brk|-port|-wait)?(=|$)/;

/** The Node flags a worker starts with, and what the log should say of them. */
export interface WorkerFlags {
  readonly execArgv: string[];
  /** Where the worker's inspector listens, if it was given one here. */
  readonly inspector: string | null;
  /** Why a flag was left out, if one was. */
  readonly note: string | null;
}

/**
 * A worker's Node flags: the primary's own minus its inspector (one port, one process), then
 * `worker_exec_argv` with a port per slot for a bare `--inspect`/`--inspect-brk` and
 * `--max-old-space-size=auto` sized from the cgroup memory limit.
 */
export function workerFlags(flags: readonly string[], id: number, workers: number, memoryLimit: number | null): WorkerFlags {
  const execArgv = process.execArgv.filter((arg) => !INSPECTOR_FLAG.test(arg));
  let inspector: string | null = null;
  let note: string | null = null;
  for (const flag of flags) {
    const bare = /^--inspect(-brk)?$/.exec(flag);
    if (bare !== null) {
      // Stable across replacements: the slot, not the pid, picks the port.
      inspector = `127.0.0.1:${INSPECT_BASE_PORT + id}`;
      execArgv.push(`${flag}=${inspector}`);
    } else if (flag === '--max-old-space-size=auto') {
      if (memoryLimit === null) note = '--max-old-space-size=auto left out: no cgroup memory limit';
      else execArgv.push(`--max-old-space-size=${heapShareMiB(memoryLimit, workers)}`);
    } else {
      const given = /^--inspect(?:-brk)?=(.+)$/.exec(flag);
      if (given !== null) inspector = given[1]!;
      execArgv.push(flag);
    }
  }
  return { execArgv, inspector, note };
}

/** Forks a worker in its generation's `folder`, with the primary's environment (systemd's variables removed) plus `env`, and `execArgv`. */
export function forkWorker(env: Readonly<Record<string, string>>, execArgv: readonly string[], folder: Folder): ChildProcess {
  return fork(WORKER_ENTRY, [], {
    cwd: folder.cwd,
    env: { ...withoutSystemdVariables(process.env), ...(folder.pwd === undefined ? {} : { PWD: folder.pwd }), ...env },
    execArgv: [...execArgv],
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
}

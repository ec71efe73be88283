/** How a worker process is started. What it runs comes after, as its first IPC message. */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { HOSTD_CODE_DIR } from '../../paths.ts';
import { withoutSystemdVariables } from '../targets/systemd.ts';

/** The built worker entry, next to the CLI in dist/. */
const WORKER_ENTRY = join(HOSTD_CODE_DIR, 'worker.js');

/** Node flags for workers: the primary's own, minus the inspector (one port, one process). */
function workerExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--inspect(-brk|-port|-wait)?(=|$)/.test(arg));
}

/** Forks a worker with the primary's environment (systemd's variables removed) plus `env`. */
export function forkWorker(env: Readonly<Record<string, string>>): ChildProcess {
  return fork(WORKER_ENTRY, [], {
    env: { ...withoutSystemdVariables(process.env), ...env },
    execArgv: workerExecArgv(),
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
}

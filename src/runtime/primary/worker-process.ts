/**
 * One worker process as the primary tracks it, how it is started, and how its end is
 * named (the `reason` of `child_exit`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ChildExitReason, WorkerExitReason, WorkerInfo } from '../../hooks/contexts.ts';
import { HOSTD_CODE_DIR } from '../../paths.ts';
import { WORKER_BOOT_ENV, type WorkerBoot } from '../ipc.ts';
import { withoutSystemdVariables } from '../targets/systemd.ts';

export type MutableWorkerInfo = { -readonly [K in keyof WorkerInfo]: WorkerInfo[K] };

export interface WorkerRecord {
  readonly info: MutableWorkerInfo;
  readonly child: ChildProcess;
  state: 'booting' | 'serving' | 'stopping';
  lastHeartbeat: number;
  /** When it became ready (ms), or null. */
  readyAt: number | null;
  /** Why the primary told it to stop, if it did. */
  stopReason: WorkerExitReason | null;
  /** Set when the primary killed it: a missed heartbeat, or its stop deadline passed. */
  killedFor: 'timeout' | 'deadline' | null;
  /** What it reported before failing to boot. */
  bootError: string | null;
  /** The worker this one takes over from once ready (max_requests recycling). */
  replaces: WorkerRecord | null;
  /** A replacement is on its way (max_requests). */
  recycling: boolean;
  stopTimer: NodeJS.Timeout | null;
}

/** The built worker entry, next to the CLI in dist/. */
const WORKER_ENTRY = join(HOSTD_CODE_DIR, 'worker.js');

/** Node flags for workers: the primary's own, minus the inspector (one port, one process). */
function workerExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--inspect(-brk|-port|-wait)?(=|$)/.test(arg));
}

export function startWorkerProcess(info: MutableWorkerInfo, boot: WorkerBoot, env: Readonly<Record<string, string>>): WorkerRecord {
  const child = fork(WORKER_ENTRY, [], {
    env: { ...withoutSystemdVariables(process.env), ...env, [WORKER_BOOT_ENV]: JSON.stringify(boot) },
    execArgv: workerExecArgv(),
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  info.pid = child.pid ?? null;
  return {
    info,
    child,
    state: 'booting',
    lastHeartbeat: Date.now(),
    readyAt: null,
    stopReason: null,
    killedFor: null,
    bootError: null,
    replaces: null,
    recycling: false,
    stopTimer: null,
  };
}

/** Why a worker process ended, from what the primary knows about it. */
export function exitReason(worker: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): ChildExitReason {
  if (worker.killedFor === 'timeout') return 'timeout';
  if (worker.killedFor === 'deadline') return 'killed';
  if (worker.stopReason !== null && code === 0) return worker.stopReason;
  if (worker.state === 'booting' || worker.readyAt === null) return 'boot_error';
  if (signal !== null) return 'killed';
  // Exited cleanly without being asked: something sent it SIGTERM directly.
  return code === 0 ? 'shutdown' : 'crash';
}

/** A snapshot of the info for a hook context (hooks must not see later changes). */
export function snapshot(info: MutableWorkerInfo): WorkerInfo {
  return Object.freeze({ ...info });
}

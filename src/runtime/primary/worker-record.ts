/**
 * One worker process as the supervisor core knows it, and what the core derives from a
 * record alone: its identity for hooks and logs, the deadline its stop plan gives it, the
 * progress lines, and the name of how it ended. Deadlines are in the primary's awake time
 * (core/awake.ts); the times a view shows are real (performance.now()).
 */
import { stopPlan, type StopMode, type StopShape } from '../../config/stop-plan.ts';
import type { WorkerInfo } from '../../hooks/contexts.ts';
import { type ChildExitReason, reasonText, type WorkerExitReason } from '../../hooks/reasons.ts';
import { counted } from '../../text.ts';
import type { WorkerShape, WorkerStep } from '../ipc.ts';
import type { GenerationInfo } from './events.ts';

export interface WorkerStop {
  readonly reason: WorkerExitReason;
  mode: StopMode;
  /** When the stop in this mode was ordered (awake ms): the plan counts from here. */
  since: number;
  /** When it is killed if still running (awake ms), or null (no deadline). */
  killAt: number | null;
}

/** Why a serving worker is to be replaced (replacement first), and by which worker so far. */
export interface Replacement {
  readonly reason: 'max_requests' | 'max_memory';
  /** The age of the replacement under way (its pre_fork or its boot); null while none is. */
  by: number | null;
}

export interface WorkerRecord {
  /** Counts every worker the primary started: unique for its life. */
  readonly age: number;
  /** The slot, 1..workers. */
  readonly id: number;
  readonly generation: number;
  pid: number | null;
  state: 'booting' | 'serving' | 'stopping';
  /** Real times (performance.now()) of its fork and readiness, for views. */
  readonly forkedAt: number;
  readyAt: number | null;
  /** Real time of its last sign of life, for views. */
  lastHeartbeat: number;
  /** Awake time of its last sign of life: what its silence is judged from. */
  heardAt: number;
  /** Awake time past which a booting worker is killed (null: boot_timeout off). */
  readonly bootDeadline: number | null;
  connections: number;
  /** What it last said it is busy with. */
  step: WorkerStep | null;
  detail: string;
  /** When that step's own deadline passes (real ms), if it has one. */
  stepEndsAt: number | null;
  /** What its stop will call, as it last reported. */
  shape: WorkerShape | null;
  stop: WorkerStop | null;
  killedFor: 'timeout' | 'deadline' | 'boot_timeout' | null;
  /** The stack it was stuck in, when it was killed for `timeout` and one could be had. */
  stack: string | null;
  bootError: string | null;
  /** The age of the worker this one takes over from once ready (a max_requests or max_memory replacement). */
  replaces: number | null;
  /** Set when it is to be replaced; it serves until its replacement is ready. */
  replace: Replacement | null;
  /** Awake time until which its silence is not held against it for `timeout`: the primary asked it for its app metrics. */
  excusedUntil: number;
  /** Heartbeats in a row with RSS above `max_memory`. */
  overMemory: number;
  /** Whether a reading ever showed it at or below `max_memory` (an app above it from its boot on cannot be helped by replacing it). */
  fitMemory: boolean;
  /** Taken in by the routes: it may receive connections (while serving and not late). */
  admitted: boolean;
  /** Taken out of the routes while its heartbeat is late; routed again when it beats. */
  suspended: boolean;
  /** Real time of its next progress line (booting or stopping), or null. */
  progressAt: number | null;
  /** What its heartbeats said: requests served, in flight, memory, event loop. */
  stats: WorkerStats;
}

/** A worker's counts as of its last heartbeat (zero until its first). */
export interface WorkerStats {
  /** Requests it has begun in its life. */
  requests: number;
  inFlight: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event loop utilization (0..1) over its last heartbeat interval. */
  elu: number;
}

/** One worker as `hostd status` and the metrics show it. */
export interface WorkerView {
  readonly id: number;
  readonly age: number;
  readonly pid: number | null;
  readonly generation: number;
  readonly state: WorkerRecord['state'];
  /** performance.now() of its fork, its readiness (null while booting) and its last heartbeat. */
  readonly forkedAt: number;
  readonly readyAt: number | null;
  readonly lastHeartbeat: number;
  readonly connections: number;
  readonly stats: Readonly<WorkerStats>;
}

export function workerView(worker: WorkerRecord): WorkerView {
  const { id, age, pid, generation, state, forkedAt, readyAt, lastHeartbeat, connections, stats } = worker;
  return { id, age, pid, generation, state, forkedAt, readyAt, lastHeartbeat, connections, stats: { ...stats } };
}

/** A record for a worker forked at real time `now`, awake time `awake` (its pid follows). */
export function forkedRecord(age: number, id: number, generation: GenerationInfo, now: number, awake: number, replaces: number | null): WorkerRecord {
  const bootTimeout = generation.settings.boot_timeout;
  return {
    age,
    id,
    generation: generation.number,
    pid: null,
    state: 'booting',
    forkedAt: now,
    readyAt: null,
    lastHeartbeat: now,
    heardAt: awake,
    bootDeadline: bootTimeout > 0 ? awake + bootTimeout * 1000 : null,
    connections: 0,
    step: null,
    detail: 'starting',
    stepEndsAt: null,
    shape: null,
    stop: null,
    killedFor: null,
    stack: null,
    bootError: null,
    replaces,
    replace: null,
    excusedUntil: -Infinity,
    overMemory: 0,
    fitMemory: false,
    admitted: false,
    suspended: false,
    progressAt: now + BOOT_PROGRESS_MS,
    stats: { requests: 0, inFlight: 0, rssBytes: 0, heapUsedBytes: 0, elu: 0 },
  };
}

/** How often a booting worker's progress is logged, and a stopping worker's. */
export const BOOT_PROGRESS_MS = 10_000;
export const STOP_PROGRESS_MS = 5_000;

/** The worker as a hook context shows it (frozen: hooks must not see later changes). */
export function workerInfo(worker: WorkerRecord): WorkerInfo {
  return Object.freeze({ id: worker.id, pid: worker.pid, age: worker.age, generation: worker.generation, booted_at: worker.readyAt === null ? null : new Date(worker.readyAt) });
}

/** `worker 2 (pid 4242)`, as log lines name a worker. */
export function who(worker: WorkerRecord): string {
  return `worker ${worker.id} (pid ${worker.pid})`;
}

/** A duration for a log line: tenths below 10 s, where they matter. */
export function seconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  return `${s < 10 ? Math.round(s * 10) / 10 : Math.round(s)} s`;
}

/**
 * When the primary kills a stopping worker (awake ms): its stop plan in `mode`, counted
 * from when the stop in that mode was ordered, with what the worker reported its stop will
 * call (or, until it reports, its generation's hooks). A faster mode never makes the
 * deadline later.
 */
export function killDeadline(worker: WorkerRecord, generation: GenerationInfo, mode: StopMode, awake: number): number | null {
  const stop = worker.stop!;
  if (mode === 'graceful' && stop.mode !== 'graceful') mode = stop.mode;
  const before = stop.killAt;
  if (stop.mode !== mode) {
    stop.mode = mode;
    stop.since = awake;
  }
  const hooks = generation.hooks;
  const shape: StopShape = { ...(worker.shape ?? { post_request: hooks.post_request, worker_int: hooks.worker_int, shutdown: 0, worker_exit: hooks.worker_exit }), child_exit: 0, on_exit: 0 };
  const killAfter = stopPlan(generation.settings, shape, mode).killAfter;
  const killAt = killAfter === null ? null : stop.since + killAfter * 1000;
  if (mode !== 'graceful' && before !== null && (killAt === null || before < killAt)) return before;
  return killAt;
}

/** A booting worker's progress line: how long it has been booting, what it does, its time left (ms, or null). */
export function bootProgress(worker: WorkerRecord, now: number, leftMs: number | null): string {
  const left = leftMs === null ? '' : `; boot_timeout in ${seconds(leftMs)}`;
  return `${who(worker)} is still booting after ${seconds(now - worker.forkedAt)}: ${worker.detail}${left}`;
}

/** A stopping worker's progress line: what it waits for and how long is left (`killInMs`: until the kill, or null). */
export function stopProgress(worker: WorkerRecord, now: number, killInMs: number | null): string {
  const what = worker.step === 'drain' ? `draining, ${counted(worker.connections, 'connection')} open` : worker.detail;
  const step = worker.stepEndsAt === null ? '' : `, ${seconds(worker.stepEndsAt - now)} left of its deadline`;
  const kill = killInMs === null ? '' : `; killed in ${seconds(killInMs)} if still running`;
  return `${who(worker)} is stopping (${reasonText(worker.stop!.reason, worker.stop!.mode)}): ${what}${step}${kill}`;
}

/** Why a worker process ended, from what the primary knows about it (the `reason` of `child_exit`). */
export function exitReason(worker: Pick<WorkerRecord, 'killedFor' | 'stop' | 'readyAt'>, code: number | null, signal: NodeJS.Signals | null): ChildExitReason {
  if (worker.killedFor === 'timeout') return 'timeout';
  if (worker.killedFor === 'deadline') return 'killed';
  if (worker.killedFor === 'boot_timeout') return 'boot_error';
  if (worker.stop !== null && code === 0) return worker.stop.reason;
  if (worker.readyAt === null) return 'boot_error';
  if (signal !== null) return 'killed';
  // Exited cleanly without being asked: something sent it SIGTERM directly.
  return code === 0 ? 'shutdown' : 'crash';
}

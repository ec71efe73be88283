/**
 * The supervisor core: everything the primary decides, and nothing it does. Events come
 * in (a worker forked, reported progress, became ready, exited; a signal; a control request;
 * a timer fired; a hook, a bind or a config resolution finished) and commands go out (run a
 * hook, fork, send, kill, route connections, set a timer, log, reply, exit). It never touches
 * a process, a socket, a file or the clock: the shell (shell.ts) performs the commands and
 * feeds back what happened, and tests drive the core with sequences of events alone.
 *
 * Each event only updates data: the workers (worker-record.ts), the slots (core/slots.ts),
 * the reload (core/reload.ts), the primary's life and stop (core/stop.ts), what each hook in
 * flight continues with (`awaiting`). Then one `reconcile()` pass compares the whole state
 * with what it should be and acts: fill empty slots, retire extra workers, replace workers
 * that asked or grew too big, move a reload on, stop, kill what is past its deadline, route,
 * set the timers. A rule lives in that pass once, so it holds whatever event came in and
 * whatever phase the primary is in (gunicorn's `manage_workers()` and Puma's
 * `check_workers` are the model). Deadlines about workers, and an upgrade's limit, are judged
 * in the primary's awake time (core/awake.ts): a primary that was stopped or paused judges no
 * one for it.
 */
import { MAX_WORKERS } from '../../config/bounds.ts';
import { HOOKS, type PrimaryHook } from '../../config/hooks-table.ts';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import { type ReloadPlan, upgradePlan } from '../../config/reload-plan.ts';
import { configShape, type StopMode, stopPlan } from '../../config/stop-plan.ts';
import type { ChildExitReason, HookFields, WorkerInfo } from '../../hooks/contexts.ts';
import { type PrimaryExitReason, reasonText, type WorkerExitReason } from '../../hooks/reasons.ts';
import { counted } from '../../text.ts';
import { heartbeatMs, type ToPrimary, type ToWorker } from '../ipc.ts';
import type { Level } from '../log.ts';
import { addHistograms, type HookHistograms } from '../metrics/hooks.ts';
import { awakeAt, awakeClock, awakeSeen, observe, realAt, ticked } from './core/awake.ts';
import { batchSize, booting, type Reload } from './core/reload.ts';
import { BACKOFF_MAX_MS, recordFailure, type Slot, slotOf, waitLeft } from './core/slots.ts';
import { type Life, type Stop, stopOf } from './core/stop.ts';
import { type TimerKey, timerChanges, workerTimer } from './core/timers.ts';
import type { Command, CoreAnswer, CoreRequest, Event, GenerationInfo, PrimarySignal, RunHook, Wait } from './events.ts';
import {
  BOOT_PROGRESS_MS,
  bootProgress,
  exitReason,
  forkedRecord,
  killDeadline,
  seconds,
  STOP_PROGRESS_MS,
  stopProgress,
  who,
  type WorkerRecord,
  workerInfo,
  type WorkerView,
  workerView,
} from './worker-record.ts';

export { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffMs, STABLE_AFTER_MS } from './core/slots.ts';
export { BOOT_PROGRESS_MS, STOP_PROGRESS_MS } from './worker-record.ts';

/** A stall of the primary this long is worth a line in the log. */
const STALL_NOTE_MS = 1000;
/** Heartbeats in a row above `max_memory` before a worker is replaced. */
const OVER_MEMORY_BEATS = 3;

/** What the primary counted over its life, for the metrics. */
export interface Counters {
  /** Requests its workers began (as of their last heartbeats). */
  requests: number;
  /** Workers that became ready. */
  boots: number;
  /** Connections the workers closed for a missing or malformed PROXY protocol header. */
  proxyErrors: number;
  readonly exits: Map<ChildExitReason, number>;
  readonly reloads: { success: number; failure: number };
  /** The workers' hook durations (the primary's own are in metrics/hooks.ts). */
  readonly hooks: HookHistograms;
}

/** A worker whose `pre_fork` runs: it is forked when the hook succeeds, unless cancelled meanwhile. */
interface Spawn {
  readonly age: number;
  readonly id: number;
  readonly generation: number;
  /** The age of the worker it replaces (max_requests, max_memory), or null for an empty slot. */
  readonly replaces: number | null;
}

/** What a hook, a bind or an integration in flight continues with once it is done: plain data. */
type Awaited =
  | { readonly t: 'on_starting' | 'bind' | 'listening' | 'when_ready' | 'on_exit' }
  | { readonly t: 'pre_fork'; readonly age: number }
  | { readonly t: 'on_reload'; readonly reload: number }
  | { readonly t: 'reload_bind'; readonly reload: number; readonly binds: readonly string[] }
  /** A hook whose outcome changes nothing (child_exit, nworkers_changed); the exit still waits for it. */
  | { readonly t: 'logged' }
  /** A new primary being started (`upgrade`): its failure comes as `done`. */
  | { readonly t: 'upgrade' };

/** A `scale` (a control request, or TTIN/TTOU) waiting until the start or a reload is over. */
interface QueuedScale {
  readonly request: Extract<CoreRequest, { t: 'scale' }>;
  /** The control request to answer, or null for a signal. */
  readonly reply: number | null;
  /** How the log names it: `TTIN`, `scale 4`, ... */
  readonly label: string;
  /** Its place among the requests queued (scales and reloads), which run in the order they came. */
  readonly seq: number;
}

/** `1,024`: numbers in messages, without loading ICU for it. */
const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export class Supervisor {
  /** Real time of the event being handled (performance.now() in the shell). */
  private now = 0;
  private readonly clock = awakeClock();
  readonly counters: Counters = { requests: 0, boots: 0, proxyErrors: 0, exits: new Map(), reloads: { success: 0, failure: 0 }, hooks: {} };
  private out: Command[] = [];
  private readonly generations = new Map<number, GenerationInfo>();
  /** The generation new workers start for (the new one, from the moment a reload boots it). */
  private current: number;
  /** How many workers the current generation keeps. */
  private target: number;
  /** The worker count `nworkers_changed` last reported (or the first). */
  private announced: number;
  private life: Life = { t: 'starting', step: 'on_starting' };
  /** Every worker process, by age (insertion order is age order). */
  private readonly workers = new Map<number, WorkerRecord>();
  private readonly spawns = new Map<number, Spawn>();
  private ages = 0;
  private readonly slots = new Map<number, Slot>();
  private everReady = false;
  private bootFailures = 0;
  private reload: Reload | null = null;
  private reloadIds = 0;
  /**
   * A reload asked for during the start, another reload or an upgrade (with the requests
   * waiting for it), run once that is over; `seq`: when it was first asked for, among the
   * scales queued with it (those asked for before it act on the count it replaces, those after
   * on the count it leaves).
   */
  private queuedReload: { readonly replies: number[]; readonly seq: number } | null = null;
  private readonly queuedScales: QueuedScale[] = [];
  /** Counts the requests queued, for their order. */
  private queuedSeq = 0;
  /**
   * An upgrade under way: the token the shell answers, the requests waiting for its outcome,
   * and its limit (`until`, in awake ms, null: none), past which the new primary is turned
   * down. Awake time, as for the workers' deadlines: a primary paused together with the new
   * one (SIGSTOP, a paused VM) has seen nothing of its start, and does not end it for that.
   */
  private upgrade: { readonly token: number; readonly replies: number[]; readonly until: number | null; readonly plan: ReloadPlan } | null = null;
  /**
   * A new primary told to stop (given up, or a stop came first) that has not exited yet: past
   * `killAt` (awake ms; null: no bound) it is killed. Until it is gone no other upgrade starts,
   * and a stop of this primary that began during its upgrade waits for it.
   */
  private turnedDown: { readonly token: number; readonly seconds: number | null; readonly killAt: number | null; killed: boolean } | null = null;
  /** The pid of the new primary this one handed over to, once it serves. */
  private handedTo: number | null = null;
  /** Generations already told that max_memory is below what their app needs from its start. */
  private readonly memoryFloorTold = new Set<number>();
  private bound: string[] = [];
  /** The ages last routed, in the order they were taken in, and what was emitted. */
  private routed: number[] = [];
  private routeKey: string;
  private tokens = 0;
  /** Hooks, binds and integrations in flight; the primary exits only when none is left. */
  private readonly awaiting = new Map<number, Awaited>();
  /** Timers the shell holds: name → real due time. */
  private readonly armed = new Map<TimerKey, number>();

  constructor(first: GenerationInfo) {
    this.generations.set(first.number, first);
    this.current = first.number;
    this.target = first.workers;
    this.announced = first.workers;
    this.routeKey = `/${first.workers}`;
  }

  /** Handles one event at real time `now` (ms) and returns the commands it gives, in order. */
  handle(event: Event, now: number): Command[] {
    this.now = now;
    this.out = [];
    const slept = observe(this.clock, now);
    if (slept >= STALL_NOTE_MS) this.log('warning', `the primary did not run for ${seconds(slept)} (stopped, paused or blocked); no worker is judged on that time`);
    this.on(event);
    this.reconcile();
    return this.out;
  }

  // ---- events: each updates data; reconcile() acts -------------------------------------------

  private on(event: Event): void {
    switch (event.t) {
      case 'start':
        this.emit({ t: 'use', generation: this.current });
        this.hook('on_starting', {}, { t: 'on_starting' });
        return;
      case 'done': {
        const awaited = this.awaiting.get(event.token);
        this.awaiting.delete(event.token);
        return awaited && this.continueWith(awaited, event.failure);
      }
      case 'resolved':
      case 'rejected':
        return this.onResolved(event);
      case 'upgraded':
        return this.upgraded(event.token, event.pid);
      case 'successor_exited':
        if (this.turnedDown?.token === event.token) this.turnedDown = null;
        return;
      case 'forked': {
        const worker = this.workers.get(event.age);
        if (worker) worker.pid = event.pid;
        return;
      }
      case 'message': {
        const worker = this.workers.get(event.age);
        return worker && this.onMessage(worker, event.message);
      }
      case 'exited': {
        const worker = this.workers.get(event.age);
        return worker && this.onExit(worker, event.code, event.signal);
      }
      case 'collecting': {
        const worker = this.workers.get(event.age);
        if (worker) worker.excusedUntil = Math.max(worker.excusedUntil, this.awake + event.ms);
        return;
      }
      case 'collected': {
        const worker = this.workers.get(event.age);
        if (worker === undefined) return;
        // Unanswered, the excuse ends now; the time it covered stays excused.
        worker.excusedUntil = Math.min(worker.excusedUntil, this.awake);
        return event.answered ? this.alive(worker) : undefined;
      }
      case 'stack': {
        const worker = this.workers.get(event.age);
        if (worker) worker.stack = event.stack;
        return;
      }
      case 'signal':
        return this.onSignal(event.signal);
      case 'request':
        if (event.request.t === 'reload') return this.requestReload([event.id]);
        if (event.request.t === 'upgrade') return this.requestUpgrade([event.id]);
        return this.requestScale({ request: event.request, reply: event.id, label: scaleLabel(event.request), seq: ++this.queuedSeq });
      case 'timer':
        return this.onTimer(event.name);
      case 'changed':
        this.log('info', `reload: ${event.file} changed`);
        return this.requestReload([]);
      case 'crashed':
        this.log('critical', `unexpected error in the primary: ${event.error}`);
        if (stopOf(this.life)) return this.escalate();
        return this.beginStop('fast', 'error', 1);
    }
  }

  /** A hook, bind or integration finished: continue where it was awaited. */
  private continueWith(awaited: Awaited, failure: string | null): void {
    const stopping = stopOf(this.life) !== null;
    switch (awaited.t) {
      case 'on_starting':
        if (failure !== null) return this.policy('on_starting', failure);
        if (stopping) return;
        this.setStart('binding');
        this.listen(this.settings.bind, this.current, { t: 'bind' });
        return;
      case 'bind':
        if (failure !== null) return this.failStart(failure);
        this.bound = [...this.settings.bind];
        if (stopping) return;
        this.setStart('listening');
        // The pidfile is written here: if it cannot be, no worker starts.
        this.await({ t: 'lifecycle', event: 'listening' }, { t: 'listening' });
        return;
      case 'listening':
        if (failure !== null) return this.failStart(failure);
        if (stopping) return;
        this.setStart('booting');
        return ticked(this.clock, this.now, heartbeatMs(this.settings));
      case 'when_ready':
        if (failure !== null) return this.policy('when_ready', failure);
        if (stopping) return;
        this.life = { t: 'running' };
        this.emit({ t: 'lifecycle', event: 'ready' });
        return this.log('info', `hostd is ready: ${counted(this.target, 'worker')}`);
      case 'pre_fork':
        return this.afterPreFork(awaited.age, failure);
      case 'on_reload':
        return this.afterOnReload(awaited.reload, failure);
      case 'reload_bind':
        return this.afterReloadBind(awaited.reload, awaited.binds, failure);
      case 'on_exit': {
        const { exitCode, reason } = stopOf(this.life)!;
        this.emit({ t: 'lifecycle', event: 'exited' });
        this.log(exitCode === 0 ? 'info' : 'error', `hostd stopped (${reasonText(reason)}), exit code ${exitCode}`);
        return this.emit({ t: 'exit', code: exitCode });
      }
      case 'logged':
        return;
      case 'upgrade':
        return this.upgradeFailed(failure ?? 'the new primary ended without serving');
    }
  }

  /** What a failed hook does, from its row of the hook table: decided here once for every primary hook. */
  private policy(hook: PrimaryHook, failure: string, context?: Spawn | Reload): void {
    switch (HOOKS[hook].onError) {
      case 'abort_start':
        this.log('error', `start aborted: ${failure}`);
        return this.beginStop('graceful', 'start_failed', 1);
      case 'skip_worker': {
        const spawn = context as Spawn;
        return this.bootFailed(spawn.id, spawn.generation, `pre_fork failed: ${failure}`, spawn.replaces);
      }
      case 'abandon_reload':
        this.log('error', `reload abandoned, the old config and workers keep serving: ${failure}`);
        return this.endReload(context as Reload, { ok: false, error: `reload abandoned, the old config and workers keep serving: ${failure}` });
      default:
        // `log` (the runner logged it) and the worker-side policies never reach the primary.
        return;
    }
  }

  private setStart(step: Extract<Life, { t: 'starting' }>['step']): void {
    if (this.life.t === 'starting') this.life.step = step;
  }

  /** A bind or the pidfile failed at start: exit 1 with why (no worker was started). */
  private failStart(why: string): void {
    this.log('error', why);
    this.beginStop('graceful', 'start_failed', 1);
  }

  // ---- workers -------------------------------------------------------------------------------

  private onMessage(worker: WorkerRecord, message: ToPrimary): void {
    switch (message.t) {
      case 'heartbeat': {
        worker.connections = message.connections;
        const beat = message.stats;
        if (beat !== undefined) {
          const stats = worker.stats;
          stats.requests += beat.requests;
          stats.inFlight = beat.in_flight;
          stats.rssBytes = beat.rss_bytes;
          stats.heapUsedBytes = beat.heap_used_bytes;
          stats.elu = beat.elu;
          this.counters.requests += beat.requests;
          this.counters.proxyErrors += beat.proxy_errors ?? 0;
          if (beat.hooks !== null) addHistograms(this.counters.hooks, beat.hooks);
          this.readMemory(worker, beat.rss_bytes);
        }
        return this.alive(worker);
      }
      case 'metrics':
        // A scrape's answer: the shell waits for it; nothing to decide.
        return;
      case 'progress':
        this.alive(worker);
        worker.step = message.step;
        worker.detail = message.detail;
        worker.stepEndsAt = message.ms === null ? null : this.now + message.ms;
        return;
      case 'ready':
        worker.shape = message.shape;
        return this.onReady(worker);
      case 'stopping':
        worker.shape = message.shape;
        if (worker.stop) return this.planStop(worker, message.mode);
        // It was told by someone else (a signal to the worker alone): no new connections; its slot gets a new worker now.
        worker.state = 'stopping';
        worker.admitted = false;
        return;
      case 'boot_error':
        worker.bootError = message.message;
        return;
      case 'recycle':
        return this.askedToRecycle(worker);
      case 'app_control':
        return this.appControl(worker, message.action);
    }
  }

  /** A sign of life: its silence starts again, and a worker taken out of the routes for it comes back. */
  private alive(worker: WorkerRecord): void {
    worker.lastHeartbeat = this.now;
    worker.heardAt = this.awake;
    if (!worker.suspended) return;
    worker.suspended = false;
    if (worker.state === 'serving') this.log('info', `${who(worker)} answers again; it takes new connections`);
  }

  private onReady(worker: WorkerRecord): void {
    if (worker.state !== 'booting') return;
    worker.state = 'serving';
    worker.readyAt = this.now;
    worker.step = null;
    worker.detail = 'serving';
    worker.progressAt = null;
    this.everReady = true;
    this.counters.boots++;
    this.log('debug', `${who(worker)} is ready`);
    if (stopOf(this.life)) return;
    const old = worker.replaces === null ? undefined : this.workers.get(worker.replaces);
    if (old !== undefined && old.state !== 'stopping') {
      // A replacement takes its predecessor's place in the routes, then the predecessor leaves.
      worker.admitted = old.admitted;
      return this.retire(old, old.replace?.reason ?? 'max_requests');
    }
    // During a reload the new generation is taken in a batch at a time (reconcileReload).
    worker.admitted = worker.generation !== booting(this.reload)?.next;
  }

  /** `max_requests` reached: the worker is replaced, replacement first. */
  private askedToRecycle(worker: WorkerRecord): void {
    if (this.generations.get(worker.generation)!.settings.max_requests === 0) {
      return this.log('warning', `${who(worker)} asked to be recycled, but max_requests is off; ignored`);
    }
    if (worker.state === 'serving' && worker.replace === null) worker.replace = { reason: 'max_requests', by: null };
  }

  /** The RSS a worker of `generation` may keep, in bytes, or null when `max_memory` is off. */
  private memoryCap(generation: GenerationInfo): number | null {
    const setting = generation.settings.max_memory;
    if (setting === 'auto') {
      const limit = generation.memoryLimit ?? null;
      // The primary's share first (its own size, about that of a worker), then a tenth kept back.
      return limit === null ? null : Math.floor((limit * 0.9) / (generation.workers + 1));
    }
    return setting > 0 ? setting * 2 ** 20 : null;
  }

  /** A memory reading: counts the heartbeats in a row above `max_memory` (reconcile decides). */
  private readMemory(worker: WorkerRecord, rss: number): void {
    const cap = this.memoryCap(this.generations.get(worker.generation)!);
    if (cap === null) return;
    if (rss > cap) {
      worker.overMemory++;
    } else {
      worker.overMemory = 0;
      worker.fitMemory = true;
    }
  }

  /** host.reload() / host.stop() from app code, honoured only when the config allows it. */
  private appControl(worker: WorkerRecord, action: 'reload' | 'stop'): void {
    const asker = who(worker);
    if (!this.settings.allow_app_control) return this.log('warning', `${asker} asked to ${action}; ignored (allow_app_control is false)`);
    this.log('info', `${asker} asked to ${action} (host.${action}())`);
    if (action === 'reload') this.requestReload([]);
    else this.beginStop('graceful', 'shutdown', 0);
  }

  /** Starts a worker for slot `id` of the current generation: pre_fork first, then the process. */
  private spawn(id: number, replaces: number | null): number {
    const age = ++this.ages;
    const spawn: Spawn = { age, id, generation: this.current, replaces };
    this.spawns.set(age, spawn);
    slotOf(this.slots, id).retryAt = null;
    const planned: WorkerInfo = Object.freeze({ id, pid: null, age, generation: this.current, booted_at: null });
    this.hook('pre_fork', { worker: planned }, { t: 'pre_fork', age });
    return age;
  }

  private afterPreFork(age: number, failure: string | null): void {
    const spawn = this.spawns.get(age);
    this.spawns.delete(age);
    // Cancelled meanwhile (a stop, a reload that failed or took over): not started.
    if (spawn === undefined) return;
    if (failure !== null) return this.policy('pre_fork', failure, spawn);
    if (stopOf(this.life) || spawn.generation !== this.current) return this.dropReplacement(spawn.replaces, age);
    const generation = this.generations.get(spawn.generation)!;
    this.workers.set(age, forkedRecord(age, spawn.id, generation, this.now, this.awake, spawn.replaces));
    this.emit({ t: 'fork', age, id: spawn.id, generation: spawn.generation });
  }

  /** A replacement under way for the worker of age `replaced` did not happen: it may be tried again. */
  private dropReplacement(replaced: number | null, by: number): void {
    const old = replaced === null ? undefined : this.workers.get(replaced);
    if (old?.replace?.by === by) old.replace.by = null;
  }

  /** Tells a worker to stop, and plans when it is killed if it has not exited. */
  private retire(worker: WorkerRecord, reason: WorkerExitReason, mode: StopMode = 'graceful'): void {
    if (worker.stop && (worker.stop.mode !== 'graceful' || mode === 'graceful')) return;
    worker.admitted = false;
    if (worker.state === 'booting') this.dropReplacement(worker.replaces, worker.age);
    worker.state = 'stopping';
    if (worker.stop === null) {
      worker.stop = { reason, mode, since: this.awake, killAt: null };
      worker.progressAt = this.now + STOP_PROGRESS_MS;
    }
    this.send(worker, { t: 'stop', reason: worker.stop.reason, mode });
    this.planStop(worker, mode);
  }

  /** Sets the kill deadline of a stopping worker from its stop plan. */
  private planStop(worker: WorkerRecord, mode: StopMode): void {
    worker.stop!.killAt = killDeadline(worker, this.generations.get(worker.generation)!, mode, this.awake);
  }

  private kill(worker: WorkerRecord, why: NonNullable<WorkerRecord['killedFor']>): void {
    worker.killedFor ??= why;
    this.emit({ t: 'kill', age: worker.age, why: worker.killedFor });
  }

  private onExit(worker: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    const wasBooting = worker.readyAt === null;
    const reason = exitReason(worker, code, signal);
    this.counters.exits.set(reason, (this.counters.exits.get(reason) ?? 0) + 1);
    this.workers.delete(worker.age);
    if (worker.generation !== this.current && booting(this.reload)?.next !== worker.generation && ![...this.workers.values()].some((w) => w.generation === worker.generation)) {
      this.generations.delete(worker.generation);
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const unexpected = reason === 'crash' || reason === 'killed' || reason === 'timeout' || reason === 'boot_error';
    this.log(unexpected ? 'warning' : 'info', `${who(worker)} exited with ${how} (${reasonText(reason)})`);
    this.hook('child_exit', { worker: workerInfo(worker), exit_code: code, exit_signal: signal, reason, stack: worker.stack }, { t: 'logged' });
    this.dropReplacement(worker.replaces, worker.age);
    if (wasBooting && worker.stop === null) {
      this.bootFailed(worker.id, worker.generation, worker.bootError ?? `exited with ${how} before it was ready`, worker.replaces);
    } else if (!stopOf(this.life) && (worker.stop === null || unexpected)) {
      recordFailure(slotOf(this.slots, worker.id), 'crash', this.awake, worker.readyAt === null ? 0 : this.now - worker.readyAt);
    }
  }

  /** A worker of `generation` could not boot: its slot waits longer, a reload fails, or hostd gives up. */
  private bootFailed(id: number, generation: number, why: string, replaces: number | null): void {
    this.log('error', `worker ${id} failed to boot: ${why}`);
    if (stopOf(this.life)) return;
    const reload = this.reload;
    // A new generation that cannot boot fails its reload; a replacement of one of its workers is only retried.
    if (reload !== null && replaces === null && generation === booting(reload)?.next) {
      reload.failed ??= `worker ${id} of the new generation could not boot (see above)`;
      return;
    }
    if (generation !== this.current) return;
    recordFailure(slotOf(this.slots, id), 'boot', this.awake);
    if (!this.everReady && ++this.bootFailures >= this.target + 2) {
      this.log('critical', `workers cannot boot; the last cause: ${why}`);
      this.beginStop('graceful', 'boot_error', 3);
    }
  }

  // ---- signals and requests ----------------------------------------------------------------

  private onSignal(signal: PrimarySignal): void {
    switch (signal) {
      case 'SIGTERM':
        return this.beginStop('graceful', 'shutdown', 0);
      case 'SIGINT':
      case 'SIGQUIT':
        return this.beginStop('fast', 'shutdown', 0);
      case 'SIGHUP':
        return this.requestReload([]);
      case 'SIGTTIN':
      case 'SIGTTOU':
        return this.requestScale({ request: { t: 'scale', n: signal === 'SIGTTIN' ? 1 : -1, relative: true }, reply: null, label: signal.slice(3), seq: ++this.queuedSeq });
      case 'SIGUSR1':
        this.emit({ t: 'reopen_logs' });
        for (const worker of this.workers.values()) this.send(worker, { t: 'reopen_logs' });
        return;
      case 'SIGUSR2':
        return this.requestUpgrade([]);
    }
  }

  // ---- upgrade ------------------------------------------------------------------------------

  /** SIGUSR2, `hostd upgrade`: a new primary on the listening sockets, then this one stops as on SIGTERM. */
  private requestUpgrade(replies: number[]): void {
    const refuse = (why: string) => {
      this.log('warning', `upgrade refused: ${why}`);
      for (const id of replies) this.reply(id, { ok: false, error: why });
    };
    if (stopOf(this.life)) return refuse('hostd is stopping');
    if (this.life.t !== 'running') return refuse('hostd is still starting; upgrade once it is ready');
    if (this.reload !== null) return refuse('a reload is under way; upgrade once it is done');
    if (this.upgrade !== null) {
      this.upgrade.replies.push(...replies);
      return this.log('info', 'upgrade: one is under way already; its outcome answers this one too');
    }
    const token = ++this.tokens;
    this.awaiting.set(token, { t: 'upgrade' });
    // Judged by the running generation, the best known before the new primary loads its own: it boots
    // the config's worker count, which a scale may have left below or above the count running now.
    const g = this.generations.get(this.current)!;
    const plan = upgradePlan({ settings: g.settings, workers: Math.max(g.workers, this.target), hooks: g.hooks }, BACKOFF_MAX_MS / 1000);
    this.upgrade = { token, replies, until: plan.total === null ? null : this.awake + plan.total * 1000, plan };
    this.log('info', 'upgrading: starting a new primary on the listening sockets; this one serves until it does');
    this.emit({ t: 'upgrade', token });
  }

  /** The new primary of upgrade `token` serves: taken on, unless it was given up (its limit passed) or a stop came first. */
  private upgraded(token: number, pid: number): void {
    const upgrade = this.upgrade;
    this.awaiting.delete(token);
    if (upgrade === null || upgrade.token !== token || stopOf(this.life)) {
      this.turnDown(token);
      if (upgrade?.token === token) this.upgradeFailed('hostd began stopping first');
      return;
    }
    this.upgrade = null;
    this.emit({ t: 'successor', upgrade: token, take: true });
    this.log('info', `upgraded: the new primary (pid ${pid}) serves; this one stops`);
    this.handedTo = pid;
    for (const id of upgrade.replies) this.reply(id, { ok: true, pid });
    this.beginStop('graceful', 'upgrade', 0);
  }

  private upgradeFailed(why: string): void {
    const upgrade = this.upgrade;
    this.upgrade = null;
    if (upgrade === null) return;
    // A stop came first: it ended the new primary, and its requests were answered then.
    if (stopOf(this.life)) return this.log('info', `upgrade abandoned (hostd is stopping): ${why}`);
    this.log('error', `upgrade failed: ${why}; this primary keeps serving`);
    for (const id of upgrade.replies) this.reply(id, { ok: false, error: `${why}; the running primary keeps serving` });
  }

  /** A scale acts on the target the start or a reload will leave: it waits until that is over. */
  private requestScale(scale: QueuedScale): void {
    if (stopOf(this.life)) {
      this.log('warning', `ignoring ${scale.label} while stopping`);
      return this.reply(scale.reply, { ok: false, error: this.stopping() });
    }
    if (this.life.t !== 'running' || this.reload !== null || this.upgrade !== null) {
      this.queuedScales.push(scale);
      const then = this.behindQueuedReload(scale) ? 'after the reload asked for before it' : 'once that is done';
      return this.log('info', `${scale.label} while ${this.busyWith()}: applied ${then}`);
    }
    this.applyScale(scale);
  }

  private applyScale({ request, reply, label }: QueuedScale): void {
    const was = this.target;
    const wanted = request.relative ? was + request.n : request.n;
    if (wanted < 1 || wanted > MAX_WORKERS) {
      if (reply !== null) return this.reply(reply, { ok: false, error: `cannot scale to ${grouped(wanted)} workers (1 to ${grouped(MAX_WORKERS)})` });
      return this.log('info', `already at ${grouped(was)} worker${was === 1 ? '' : 's'}; ${label} ignored`);
    }
    if (wanted !== was) {
      this.target = wanted;
      this.log('info', `workers: ${was} → ${wanted}`);
    }
    this.reply(reply, { ok: true, workers: wanted, was });
  }

  // ---- reload -------------------------------------------------------------------------------

  /** HUP, `hostd reload`, host.reload(), a watched file: one reload at a time, each request answered by its own. */
  private requestReload(replies: number[]): void {
    if (stopOf(this.life)) {
      this.log('warning', 'ignoring HUP while stopping');
      for (const id of replies) this.reply(id, { ok: false, error: this.stopping() });
      return;
    }
    if (this.reload !== null || this.upgrade !== null || this.life.t !== 'running') {
      this.queuedReload = { replies: [...(this.queuedReload?.replies ?? []), ...replies], seq: this.queuedReload?.seq ?? ++this.queuedSeq };
      return this.log('info', `HUP while ${this.busyWith()}: reloading once that is done`);
    }
    const token = ++this.tokens;
    this.reload = { id: ++this.reloadIds, step: { t: 'resolving', token }, previous: { generation: this.current, target: this.target }, opened: [], failed: null, replies };
    this.emit({ t: 'lifecycle', event: 'reloading' });
    // Numbers count generations that served: a reload that failed leaves its number to the next.
    this.emit({ t: 'resolve', token, generation: this.current + 1 });
  }

  private onResolved(event: Extract<Event, { t: 'resolved' | 'rejected' }>): void {
    const reload = this.reload;
    if (reload === null || reload.step.t !== 'resolving' || reload.step.token !== event.token) {
      // A resolution that outlived its reload (a stop came first).
      if (event.t === 'resolved') this.emit({ t: 'forget', generation: event.generation.number });
      return;
    }
    if (event.t === 'rejected') {
      this.log('error', `reload: the config is invalid; nothing changed:\n${event.problems}`);
      return this.endReload(reload, { ok: false, error: `the config is invalid; nothing changed:\n${event.problems}` });
    }
    const next = event.generation;
    this.generations.set(next.number, next);
    const token = this.hook('on_reload', { previous: this.settings }, { t: 'on_reload', reload: reload.id }, next.number);
    reload.step = { t: 'on_reload', token, next: next.number };
  }

  private afterOnReload(id: number, failure: string | null): void {
    const reload = this.reload;
    if (reload === null || reload.id !== id || reload.step.t !== 'on_reload') return;
    if (failure !== null) return this.policy('on_reload', failure, reload);
    const next = reload.step.next;
    const binds = this.generations.get(next)!.settings.bind.filter((b) => !this.bound.includes(b));
    const token = this.listen(binds, next, { t: 'reload_bind', reload: reload.id, binds });
    reload.step = { t: 'binding', token, next, binds };
  }

  private afterReloadBind(id: number, binds: readonly string[], failure: string | null): void {
    const reload = this.reload;
    if (reload === null || reload.id !== id || reload.step.t !== 'binding') {
      if (failure === null) this.emit({ t: 'unlisten', binds });
      return;
    }
    if (failure !== null) {
      this.log('error', `reload abandoned: ${failure}`);
      return this.endReload(reload, { ok: false, error: `reload abandoned: ${failure}` });
    }
    reload.opened = binds;
    this.bound.push(...binds);
    const next = this.generations.get(reload.step.next)!;
    const batch = batchSize(next.settings.reload_batch, next.workers);
    reload.step = { t: 'booting', next: next.number, batch, upTo: batch };
    const was = this.target;
    this.current = next.number;
    this.target = next.workers;
    this.emit({ t: 'use', generation: next.number });
    const steps = batch < next.workers ? `, ${batch} at a time` : '';
    this.log('info', `reloading: starting generation ${next.number} (${counted(next.workers, 'worker')}${steps})`);
    // A reload takes the count from the config: a scale since the last one ends here, and says so.
    if (was !== next.workers) this.log('info', `workers: ${was} → ${next.workers} (the config's workers)`);
    for (const worker of this.workers.values()) if (worker.state === 'serving') this.send(worker, { t: 'reload', generation: next.number });
  }

  /** Ends a reload: its requests get its own outcome; what it resolved and opened goes if it failed. */
  private endReload(reload: Reload, answer: CoreAnswer): void {
    this.reload = null;
    this.counters.reloads[answer.ok ? 'success' : 'failure']++;
    const next = reload.step.t === 'resolving' ? null : reload.step.next;
    if (!answer.ok && next !== null && reload.step.t !== 'booting') {
      this.generations.delete(next);
      this.emit({ t: 'forget', generation: next });
    }
    for (const id of reload.replies) this.reply(id, answer.ok ? { ok: true, generation: this.current } : answer);
    this.emit({ t: 'lifecycle', event: answer.ok ? 'reloaded' : 'reload_failed' });
  }

  // ---- stopping -----------------------------------------------------------------------------

  /** A stop: SIGTERM (graceful), SIGINT/SIGQUIT (fast; the reason is still `shutdown`), a failed start. A second one escalates. */
  private beginStop(mode: 'graceful' | 'fast', reason: PrimaryExitReason, exitCode: number): void {
    const running = stopOf(this.life);
    if (running) {
      if (running.mode !== 'graceful') {
        this.log('warning', 'stop signal while stopping fast: killing the workers now');
        for (const worker of this.workers.values()) this.kill(worker, 'deadline');
      } else if (mode === 'fast' || reason === 'shutdown') {
        this.escalate();
      }
      return;
    }
    const stop: Stop = { reason, exitCode, mode, step: 'drain_delay', drainUntil: null };
    this.life = { t: 'stopping', stop };
    this.log('info', `hostd stopping (${reasonText(reason, mode)})`);
    this.emit({ t: 'lifecycle', event: 'stopping' });
    this.abandonRequests();
    // Spawns under way are cancelled: their pre_fork's worker is not forked.
    this.spawns.clear();
    const delay = this.settings.drain_delay;
    if (mode === 'graceful' && delay > 0 && this.workers.size > 0) {
      // Keep serving while readiness answers 503, so load balancers take the instance out first.
      this.log('info', `draining: readiness answers 503 for ${delay} s while the workers keep serving; then the graceful stop`);
      this.emit({ t: 'lifecycle', event: 'draining' });
      stop.drainUntil = this.now + delay * 1000;
      return;
    }
    this.orderStop(stop);
  }

  /** Why a request to a stopping primary is refused: after a hand-over, where the command now goes. */
  private stopping(): string {
    if (this.handedTo === null) return 'hostd is stopping';
    return `hostd is stopping: it handed over to the new primary (pid ${this.handedTo}), which the same command reaches now`;
  }

  /**
   * A stop answers what waited for a reload or a scale: none of it will happen. After an
   * upgrade, what waited behind it is told that the new primary serves without it, and how to
   * ask that one (it started from the config on disk, with the config's worker count).
   */
  private abandonRequests(): void {
    const reload = this.reload;
    this.reload = null;
    const to = this.handedTo;
    const reloadError =
      to === null
        ? 'hostd is stopping: the reload was abandoned'
        : `the upgrade finished first: the new primary (pid ${to}) serves the config it loaded at its start, and this one stops without reloading; run hostd reload again to reload the new primary`;
    const dropped = [...(this.queuedReload === null ? [] : ['HUP']), ...this.queuedScales.map((scale) => scale.label)];
    if (to !== null && dropped.length > 0) this.log('info', `not carried out, as this primary stops after the upgrade: ${dropped.join(', ')}`);
    for (const id of [...(reload?.replies ?? []), ...(this.queuedReload?.replies ?? [])]) this.reply(id, { ok: false, error: reloadError });
    this.queuedReload = null;
    for (const scale of this.queuedScales.splice(0)) {
      const error =
        to === null
          ? 'hostd is stopping'
          : `the upgrade finished first: the new primary (pid ${to}) serves with the config's worker count, and this one stops without applying the ${scale.label}; run hostd ${scale.label} again to scale the new primary`;
      this.reply(scale.reply, { ok: false, error });
    }
    // An upgrade under way: its new primary is stopped, and the stop waits until it has exited (its `done`).
    if (this.upgrade !== null) {
      this.turnDown(this.upgrade.token);
      for (const id of this.upgrade.replies.splice(0)) this.reply(id, { ok: false, error: 'hostd is stopping: the upgrade was abandoned' });
    }
  }

  /** Closes the listeners and tells every worker to stop; connections already accepted still get a worker. */
  private orderStop(stop: Stop): void {
    if (stop.step !== 'drain_delay') return;
    stop.step = 'ordered';
    stop.drainUntil = null;
    this.emit({ t: 'unlisten', binds: this.bound });
    this.bound = [];
    this.emit({ t: 'hand_over', age: this.routed.find((age) => this.workers.get(age)?.state === 'serving') ?? null });
    for (const worker of this.workers.values()) this.retire(worker, worker.stop?.reason ?? 'shutdown', stop.mode);
  }

  /** A second stop signal: hooks' signals abort, every wait shortens, workers switch to a fast stop. */
  private escalate(): void {
    const stop = stopOf(this.life)!;
    if (stop.mode !== 'graceful') return;
    stop.mode = 'escalated';
    this.emit({ t: 'escalate' });
    if (stop.step === 'drain_delay') return this.orderStop(stop);
    for (const worker of this.workers.values()) this.retire(worker, worker.stop?.reason ?? 'shutdown', 'escalated');
  }

  private onTimer(name: TimerKey): void {
    // The shell's timer is spent; reconcile arms it again if it is still wanted.
    this.armed.delete(name);
    if (name === 'heartbeats') return ticked(this.clock, this.now, heartbeatMs(this.settings));
    // The upgrade's limit and a turned-down new primary's bound are read from the state (reconcileUpgrade, reconcileTurnedDown).
    if (name === 'upgrade' || name === 'successor-kill') return;
    if (name === 'drain-delay') {
      const stop = stopOf(this.life);
      if (stop?.drainUntil != null && this.now >= stop.drainUntil) this.orderStop(stop);
      return;
    }
    const [kind, number] = name.split(':') as [string, string];
    const worker = this.workers.get(Number(number));
    if (worker === undefined || worker.progressAt === null || this.now < worker.progressAt) return;
    if (kind === 'boot-progress' && worker.state === 'booting') {
      this.log('info', bootProgress(worker, this.now, worker.bootDeadline === null ? null : worker.bootDeadline - this.awake));
      worker.progressAt = this.now + BOOT_PROGRESS_MS;
    } else if (kind === 'stop-progress' && worker.stop !== null) {
      this.log('info', stopProgress(worker, this.now, worker.stop.killAt === null ? null : worker.stop.killAt - this.awake));
      worker.progressAt = this.now + STOP_PROGRESS_MS;
    }
  }

  // ---- reconcile: the whole state against what it should be ---------------------------------

  private reconcile(): void {
    this.reconcileUpgrade();
    this.reconcileTurnedDown();
    this.reconcileReload();
    this.runQueued();
    this.reconcileStop();
    this.reconcileSlots();
    this.reconcileReplacements();
    this.reconcileStart();
    this.reconcileCount();
    this.reconcileDeadlines();
    this.reconcileRoutes();
    this.reconcileTimers();
  }

  /**
   * An upgrade past its limit, in awake time: its new primary is turned down and stopped,
   * this one keeps serving, and what waited for it runs. Its exit is not waited for (a new
   * primary that does not serve may not stop either); one that outlives its bound is killed (turnDown).
   */
  private reconcileUpgrade(): void {
    const upgrade = this.upgrade;
    if (upgrade === null || upgrade.until === null || this.awake < upgrade.until || stopOf(this.life)) return;
    this.awaiting.delete(upgrade.token);
    this.turnDown(upgrade.token);
    this.upgradeFailed(`the new primary was not serving within ${upgrade.plan.total} s, the longest its start can take; it was stopped`);
  }

  /**
   * Tells the new primary of upgrade `token` to stop (SIGTERM). It gets as long as this
   * primary's own graceful stop may take (the serving config's stop plan, in awake time), then
   * it is killed: one that never exits (its event loop blocked) holds up neither this primary's
   * stop nor the next upgrade for ever.
   */
  private turnDown(token: number): void {
    this.emit({ t: 'successor', upgrade: token, take: false });
    if (this.turnedDown?.token === token) return;
    const g = this.generations.get(this.current)!;
    const seconds = stopPlan(g.settings, configShape(g.hooks), 'graceful').total;
    this.turnedDown = { token, seconds, killAt: seconds === null ? null : this.awake + seconds * 1000, killed: false };
  }

  /** A new primary told to stop that outlived its bound: killed, once. */
  private reconcileTurnedDown(): void {
    const down = this.turnedDown;
    if (down === null || down.killed || down.killAt === null || this.awake < down.killAt) return;
    down.killed = true;
    this.log('warning', `the new primary of the abandoned upgrade did not exit within ${down.seconds} s of being told to stop (the serving config's graceful stop); killing it`);
    this.emit({ t: 'successor', upgrade: down.token, take: false, kill: true });
  }

  /** What a reload or a scale that came now waits for. */
  private busyWith(): string {
    return this.reload !== null ? 'reloading' : this.upgrade !== null ? 'upgrading' : 'starting';
  }

  /**
   * Scales and a reload that waited for the start, a reload or an upgrade to be over, in the
   * order they came: the scales asked for before the reload, then the reload, then the scales
   * behind it (behindQueuedReload).
   */
  private runQueued(): void {
    if (this.life.t !== 'running' || this.upgrade !== null) return;
    while (this.reload === null && this.queuedScales.length > 0 && !this.behindQueuedReload(this.queuedScales[0]!)) this.applyScale(this.queuedScales.shift()!);
    if (this.reload === null && this.queuedReload !== null) {
      const { replies } = this.queuedReload;
      this.queuedReload = null;
      this.requestReload(replies);
    }
  }

  /** A scale asked for after the queued reload waits for it: that reload takes the count back to the config's, which would undo the scale. */
  private behindQueuedReload(scale: QueuedScale): boolean {
    return this.queuedReload !== null && scale.seq > this.queuedReload.seq;
  }

  /** A booting reload: roll back if its generation failed; take in each batch once ready; switch once all is. */
  private reconcileReload(): void {
    const reload = this.reload;
    const step = booting(reload);
    if (reload === null || step === null || stopOf(this.life)) return;
    const next = step.next;
    if (reload.failed !== null) return this.rollBack(reload, next);
    const ready = [...this.workers.values()].filter((w) => w.generation === next && w.state === 'serving');
    if (ready.length < step.upTo) return;
    for (const worker of ready) worker.admitted = true;
    const older = [...this.workers.values()].filter((w) => w.generation !== next);
    if (step.upTo < this.target) {
      // A batch serves: the old workers of its slots leave, and the next batch starts once they are gone.
      for (const worker of older) if (worker.state !== 'stopping' && worker.id <= step.upTo) this.retire(worker, 'reload');
      if (older.some((w) => w.id <= step.upTo)) return;
      step.upTo = Math.min(this.target, step.upTo + step.batch);
      return this.log('info', `reloading: generation ${next} serves ${counted(ready.length, 'worker')}; starting up to worker ${step.upTo}`);
    }
    for (const worker of older) if (worker.state !== 'stopping') this.retire(worker, 'reload');
    const removed = this.bound.filter((b) => !this.settings.bind.includes(b));
    this.bound = this.bound.filter((b) => !removed.includes(b));
    if (removed.length > 0) this.emit({ t: 'unlisten', binds: removed });
    this.emit({ t: 'forget', generation: reload.previous.generation });
    this.log('info', `reloaded: generation ${next} is serving`);
    this.endReload(reload, { ok: true });
  }

  /** The new generation could not boot: it goes, and the old one takes its slots back. */
  private rollBack(reload: Reload, next: number): void {
    for (const worker of this.workers.values()) if (worker.generation === next) this.retire(worker, 'reload');
    for (const [age, spawn] of this.spawns) if (spawn.generation === next) this.spawns.delete(age);
    this.current = reload.previous.generation;
    this.target = reload.previous.target;
    // The core keeps the generation while its workers stop (their plans need its settings); the shell forgets it.
    this.emit({ t: 'forget', generation: next });
    this.emit({ t: 'use', generation: this.current });
    this.emit({ t: 'unlisten', binds: reload.opened });
    this.bound = this.bound.filter((b) => !reload.opened.includes(b));
    const why = `reload failed: ${reload.failed}; generation ${this.current} keeps serving`;
    this.log('error', why);
    this.endReload(reload, { ok: false, error: why });
  }

  /** A stop: nothing stays bound, every worker is told, and once all are gone and nothing is in flight, on_exit. */
  private reconcileStop(): void {
    const stop = stopOf(this.life);
    if (stop === null || stop.step === 'exiting') return;
    if (stop.step === 'drain_delay') {
      // Every worker left during drain_delay: close the listeners before exiting.
      if (this.workers.size === 0 && this.awaiting.size === 0) this.orderStop(stop);
      else return;
    }
    if (this.bound.length > 0) {
      this.emit({ t: 'unlisten', binds: this.bound });
      this.bound = [];
    }
    for (const worker of this.workers.values()) if (worker.stop === null) this.retire(worker, 'shutdown', stop.mode);
    if (this.workers.size > 0 || this.awaiting.size > 0) return;
    stop.step = 'exiting';
    ticked(this.clock, this.now, null);
    this.emit({ t: 'lifecycle', event: 'exiting' });
    this.hook('on_exit', { exit_code: stop.exitCode, reason: stop.reason }, { t: 'on_exit' });
  }

  /** Every slot 1..target (1..upTo of a reload's batches) has a worker of the current generation, after its backoff; none above. */
  private reconcileSlots(): void {
    const life = this.life;
    if (life.t === 'stopping' || (life.t === 'starting' && life.step !== 'booting' && life.step !== 'when_ready')) return;
    const upTo = booting(this.reload)?.upTo ?? this.target;
    const live = [...this.workers.values()].filter((w) => w.generation === this.current && w.state !== 'stopping');
    const spawning = [...this.spawns.values()].filter((s) => s.generation === this.current && s.replaces === null);
    for (let id = 1; id <= upTo; id++) {
      if (live.some((w) => w.id === id) || spawning.some((s) => s.id === id)) continue;
      if (this.waiting(id)) continue;
      this.spawn(id, null);
    }
    for (const worker of live) if (worker.id > this.target) this.retire(worker, 'shutdown');
  }

  /** Whether slot `id` is in its backoff now; the wait is logged once. */
  private waiting(id: number): boolean {
    const slot = this.slots.get(id);
    const left = waitLeft(slot, this.awake);
    if (left === 0) return false;
    if (!slot!.announced) {
      slot!.announced = true;
      this.log('info', `worker ${id}: restarting in ${Math.round(left)} ms`);
    }
    return true;
  }

  /**
   * Workers to replace, replacement first: those that asked (max_requests) and those above
   * max_memory for OVER_MEMORY_BEATS heartbeats, one memory replacement at a time. A worker
   * of a generation that is going away is retired instead. Every replacement waits for its
   * slot's backoff, so one that cannot boot is not retried at once.
   */
  private reconcileReplacements(): void {
    if (stopOf(this.life)) return;
    let memoryBusy = [...this.workers.values()].some((w) => w.replace?.reason === 'max_memory');
    for (const worker of this.workers.values()) {
      if (worker.state !== 'serving' || worker.killedFor !== null) continue;
      if (worker.replace === null && worker.overMemory >= OVER_MEMORY_BEATS && !memoryBusy) {
        memoryBusy = true;
        this.markOverMemory(worker);
      }
      if (worker.replace === null || worker.replace.by !== null) continue;
      if (worker.generation !== this.current) {
        this.retire(worker, worker.replace.reason);
        continue;
      }
      if (this.waiting(worker.id)) continue;
      worker.replace.by = this.spawn(worker.id, worker.age);
    }
  }

  private markOverMemory(worker: WorkerRecord): void {
    const generation = this.generations.get(worker.generation)!;
    const cap = Math.round(this.memoryCap(generation)! / 2 ** 20);
    const rss = Math.round(worker.stats.rssBytes / 2 ** 20);
    worker.replace = { reason: 'max_memory', by: null };
    this.log('warning', `${who(worker)} uses ${rss} MiB, above max_memory (${cap} MiB), for ${OVER_MEMORY_BEATS} heartbeats: replacing it`);
    if (worker.fitMemory) return;
    // Above the cap from its first reading on: a new worker will be too. Say so once, and let the slot back off.
    recordFailure(slotOf(this.slots, worker.id), 'memory', this.awake);
    if (this.memoryFloorTold.has(generation.number)) return;
    this.memoryFloorTold.add(generation.number);
    this.log(
      'warning',
      `max_memory (${cap} MiB) is below what this app uses from its start: ${who(worker)} was above it at every reading (${rss} MiB); replacing workers cannot bring them under it, so each replacement now waits longer (backoff up to 10 s). Raise max_memory, or find what the app allocates at start`,
    );
  }

  /** Once every initial worker is ready: `when_ready`. */
  private reconcileStart(): void {
    if (this.life.t !== 'starting' || this.life.step !== 'booting') return;
    const ready = [...this.workers.values()].filter((w) => w.generation === this.current && w.state === 'serving');
    if (ready.length < this.target) return;
    this.life.step = 'when_ready';
    this.hook('when_ready', { workers: ready.map((w) => workerInfo(w)) }, { t: 'when_ready' });
  }

  /** `nworkers_changed` whenever the count the instance keeps settles on a new number (TTIN, TTOU, scale, reload). */
  private reconcileCount(): void {
    if (this.life.t !== 'running' || this.reload !== null || this.target === this.announced) return;
    const old = this.announced;
    this.announced = this.target;
    this.hook('nworkers_changed', { new: this.target, old }, { t: 'logged' });
  }

  /**
   * Kills what is past its deadline, judged in awake time: a boot past `boot_timeout`, a stop
   * past its plan, a worker silent for `timeout` (not counting the time it was excused for
   * reading its app metrics for a scrape, at most the scrape's wait). A worker silent for two
   * heartbeats gets no new connections until it beats again.
   */
  private reconcileDeadlines(): void {
    const awake = this.awake;
    for (const worker of this.workers.values()) {
      if (worker.killedFor !== null) continue;
      const settings = this.generations.get(worker.generation)!.settings;
      if (worker.state === 'booting' && worker.bootDeadline !== null && awake >= worker.bootDeadline) {
        worker.bootError = `not ready within boot_timeout (${settings.boot_timeout} s); it was ${worker.detail}`;
        this.log('error', `${who(worker)} was not ready within boot_timeout (${settings.boot_timeout} s) while ${worker.detail}; killing it`);
        this.kill(worker, 'boot_timeout');
        continue;
      }
      if (worker.stop?.killAt != null && awake >= worker.stop.killAt) {
        this.log('warning', `${who(worker)} did not exit within its stop plan (${seconds(awake - worker.stop.since)}; last seen ${worker.detail}); killing it`);
        this.kill(worker, 'deadline');
        continue;
      }
      const silent = awake - worker.heardAt;
      const unexcused = awake - Math.max(worker.heardAt, Math.min(worker.excusedUntil, awake));
      const timeoutMs = settings.timeout * 1000;
      if (timeoutMs > 0 && unexcused > timeoutMs) {
        const during = worker.state === 'stopping' ? ` while stopping (${worker.detail})` : worker.state === 'booting' ? ` while booting (${worker.detail})` : '';
        this.log('critical', `WORKER TIMEOUT: ${who(worker)} sent no heartbeat for ${timeoutMs / 1000} s${during}; killing it`);
        this.kill(worker, 'timeout');
      } else if (silent > 2 * heartbeatMs(settings) && worker.admitted && worker.state === 'serving' && !worker.suspended) {
        worker.suspended = true;
        this.log('warning', `${who(worker)} sent no heartbeat for ${seconds(silent)}: no new connections go to it until it does`);
      }
    }
  }

  /** The workers taking connections: admitted, serving, not late, not killed; in the order they were taken in. */
  private reconcileRoutes(): void {
    const routable = (w: WorkerRecord | undefined): w is WorkerRecord => w !== undefined && w.admitted && w.state === 'serving' && !w.suspended && w.killedFor === null;
    const next = this.routed.filter((age) => routable(this.workers.get(age)));
    for (const worker of this.workers.values()) if (routable(worker) && !next.includes(worker.age)) next.push(worker.age);
    const key = `${next.join(',')}/${this.target}`;
    if (key === this.routeKey) return;
    this.routed = next;
    this.routeKey = key;
    this.emit({ t: 'route', ages: next, slots: this.target });
  }

  /** Every deadline of the state, as the timers that wake the core for it. */
  private reconcileTimers(): void {
    const wanted = new Map<TimerKey, number>();
    const at = (awake: number) => realAt(this.clock, this.now, awake);
    if (this.clock.tickDue !== null) wanted.set('heartbeats', this.clock.tickDue);
    const stop = stopOf(this.life);
    if (stop?.drainUntil != null) wanted.set('drain-delay', stop.drainUntil);
    if (stop === null && this.upgrade?.until != null) wanted.set('upgrade', at(this.upgrade.until));
    if (this.turnedDown !== null && !this.turnedDown.killed && this.turnedDown.killAt !== null) wanted.set('successor-kill', at(this.turnedDown.killAt));
    if (stop === null) {
      for (const [id, slot] of this.slots) if (slot.retryAt !== null && slot.retryAt > this.awake) wanted.set(`backoff:${id}`, at(slot.retryAt));
    }
    for (const worker of this.workers.values()) {
      if (worker.killedFor !== null) continue;
      if (worker.state === 'booting') {
        if (worker.bootDeadline !== null) wanted.set(workerTimer.boot(worker.age), at(worker.bootDeadline));
        if (worker.progressAt !== null) wanted.set(workerTimer.bootProgress(worker.age), worker.progressAt);
      } else if (worker.stop !== null) {
        if (worker.stop.killAt !== null) wanted.set(workerTimer.stop(worker.age), at(worker.stop.killAt));
        if (worker.progressAt !== null) wanted.set(workerTimer.stopProgress(worker.age), worker.progressAt);
      }
    }
    for (const change of timerChanges(this.armed, wanted, this.now)) this.emit({ t: 'timer', ...change });
  }

  /** The primary's awake ms at real time `now` (core/awake.ts), for deadlines judged outside the core. */
  awakeTime(now: number): number {
    return awakeSeen(this.clock, now);
  }

  // ---- output -------------------------------------------------------------------------------

  private get awake(): number {
    return awakeAt(this.clock, this.now);
  }

  private get settings(): ResolvedSettings {
    return this.generations.get(this.current)!.settings;
  }

  private emit(command: Command): void {
    this.out.push(command);
  }

  private log(level: Level, message: string): void {
    this.emit({ t: 'log', level, message });
  }

  private send(worker: WorkerRecord, message: ToWorker): void {
    this.emit({ t: 'send', age: worker.age, message });
  }

  private reply(id: number | null, answer: CoreAnswer): void {
    if (id !== null) this.emit({ t: 'reply', id, answer });
  }

  /** Runs a primary hook with exactly its fields; `then` is what its outcome continues with. Returns its token. */
  private hook<H extends PrimaryHook>(hook: H, fields: HookFields<H>, then: Awaited, generation = this.current): number {
    const token = ++this.tokens;
    this.awaiting.set(token, then);
    const command: RunHook<H> = { t: 'run_hook', token, hook, generation, fields };
    // RunHook<H> is one member of RunHook; the compiler cannot widen a generic member to its union.
    this.emit(command as RunHook);
    return token;
  }

  private listen(binds: readonly string[], generation: number, then: Awaited): number {
    return this.await({ t: 'listen', binds, generation }, then);
  }

  /** A command the shell answers with `done`. */
  private await(command: { t: 'listen'; binds: readonly string[]; generation: number } | { t: 'lifecycle'; event: 'listening' }, then: Awaited): number {
    const token = ++this.tokens;
    this.awaiting.set(token, then);
    this.emit({ ...command, token });
    return token;
  }

  // ---- views --------------------------------------------------------------------------------

  /** Every worker process now (booting, serving, stopping), oldest first. */
  workerViews(): WorkerView[] {
    return [...this.workers.values()].map(workerView);
  }

  /** One worker's view (by its age), or null if it is gone: requests served, in flight, memory, heartbeat. */
  workerStats(age: number): WorkerView | null {
    const worker = this.workers.get(age);
    return worker === undefined ? null : workerView(worker);
  }

  /** The generation serving (or starting, during a reload). */
  get generation(): number {
    return this.current;
  }

  /** How many workers the current generation runs (TTIN/TTOU and scale included). */
  get workerTarget(): number {
    return this.target;
  }

  /**
   * What the control request `id` (a reload, a scale, an upgrade) waits for before its
   * outcome, in order, read from the whole state: the start, the reload or the upgrade under
   * way (its own, or what it is queued behind), then a queued reload (its own, or one asked
   * for before a scale). Null when the core holds no such request (answered, or not seen).
   */
  waitsFor(id: number): Wait[] | null {
    const reload = this.reload;
    const upgrade = this.upgrade;
    const busy = (own: boolean): Wait[] => {
      if (this.life.t === 'starting') return [{ t: 'start' }];
      if (reload !== null) return [{ t: 'reload', own, from: reload.previous.generation, switched: booting(reload) !== null }];
      if (upgrade !== null) return [{ t: 'upgrade', own, until: upgrade.until, plan: upgrade.plan }];
      return [];
    };
    if (upgrade?.replies.includes(id) || reload?.replies.includes(id)) return busy(true);
    const queued = this.queuedReload;
    if (queued?.replies.includes(id)) return [...busy(false), { t: 'queued_reload', own: true }];
    const scale = this.queuedScales.find((each) => each.reply === id);
    if (scale === undefined) return null;
    return this.behindQueuedReload(scale) ? [...busy(false), { t: 'queued_reload', own: false }] : busy(false);
  }

  /** The stop mode hooks in the primary take their deadlines from, if a stop is under way. */
  get stopMode(): StopMode | null {
    return stopOf(this.life)?.mode ?? null;
  }
}

/** How the log names a scale: `scale 4`, `scale +2`, `scale -1`. */
function scaleLabel(request: Extract<CoreRequest, { t: 'scale' }>): string {
  return `scale ${request.relative && request.n >= 0 ? '+' : ''}${request.n}`;
}

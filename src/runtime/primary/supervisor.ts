/**
 * The supervisor core: everything the primary decides, and nothing it does. Events come
 * in (a worker forked, reported progress, became ready, exited; a signal; a timer fired;
 * a hook, a bind or a config resolution finished) and commands go out (run a hook, fork,
 * send, kill, route connections, set a timer, log, exit). It never touches a process, a
 * socket, a file or the clock: the shell (shell.ts) performs the commands and feeds back
 * what happened, and tests drive the core with sequences of events alone.
 *
 * Slots: ids 1..target of the current generation. A slot without a booting or serving
 * worker gets one (after a backoff if its workers keep failing); a worker above the target
 * is retired. A reload builds a new generation beside the old one and switches connections
 * to it only when all of it is ready. A stop follows the stop plan (config/stop-plan.ts):
 * a worker is killed only once it is past its plan, or silent for `timeout`.
 */
import type { ResolvedSettings } from '../../config/options.generated.ts';
import { HOOKS, type HookPolicy } from '../../config/settings.ts';
import type { StopMode } from '../../config/stop-plan.ts';
import type { WorkerInfo } from '../../hooks/contexts.ts';
import { type PrimaryExitReason, reasonText, type WorkerExitReason } from '../../hooks/reasons.ts';
import { counted } from '../../text.ts';
import { heartbeatMs, type ToPrimary, type ToWorker } from '../ipc.ts';
import type { Level } from '../log.ts';
import type { Command, Event, GenerationInfo, PrimaryHook, PrimarySignal } from './events.ts';
import { bootProgress, exitReason, forkedRecord, killDeadline, seconds, stopProgress, who, type WorkerRecord, workerInfo, type WorkerView, workerView } from './worker-record.ts';
import type { ChildExitReason } from '../../hooks/contexts.ts';
import { addHistograms, type HookHistograms } from '../metrics/hooks.ts';

/** A worker serving this long before it fails is not "failing repeatedly": its slot's backoff resets. */
export const STABLE_AFTER_MS = 10_000;
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
/** How often a booting worker's progress is logged, and a stopping worker's. */
export const BOOT_PROGRESS_MS = 10_000;
export const STOP_PROGRESS_MS = 5_000;

interface Stop {
  readonly reason: PrimaryExitReason;
  readonly exitCode: number;
  mode: StopMode;
  /** The workers have been told (drain_delay is over). */
  ordered: boolean;
}

interface Reload {
  readonly previous: { readonly generation: number; readonly target: number };
  /** The generation being started; null until its config resolved. */
  next: number | null;
  /** Binds this reload opened (closed again if it fails). */
  opened: readonly string[];
  failed: string | null;
  /** `reload_batch`: how many slots each step starts; the new generation has slots 1..upTo so far. */
  batch: number;
  upTo: number;
}

/** What a failing hook's policy acts on: the slot a `pre_fork` was for. */
interface Subject {
  readonly id: number;
  readonly age: number;
  readonly generation: number;
  readonly replaces: WorkerRecord | null;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The wait before a slot's next worker after `failures` failures in a row: 100 ms doubling to 10 s (none after none). */
export function backoffMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
}

/** What the primary counted over its life, for the metrics. */
export interface Counters {
  /** Requests its workers began (as of their last heartbeats). */
  requests: number;
  /** Workers that became ready. */
  boots: number;
  readonly exits: Map<ChildExitReason, number>;
  readonly reloads: { success: number; failure: number };
  /** The workers' hook durations (the primary's own are in metrics/hooks.ts). */
  readonly hooks: HookHistograms;
}

export class Supervisor {
  private now = 0;
  readonly counters: Counters = { requests: 0, boots: 0, exits: new Map(), reloads: { success: 0, failure: 0 }, hooks: {} };
  private out: Command[] = [];
  private readonly generations = new Map<number, GenerationInfo>();
  private current: number;
  private target: number;
  private phase: 'starting' | 'running' | 'stopping' | 'exiting' = 'starting';
  private readonly workers = new Map<number, WorkerRecord>();
  private ages = 0;
  /** Workers receiving connections, in the order they were routed. */
  private routed: WorkerRecord[] = [];
  private bound: string[] = [];
  /** Slots with a spawn under way: the age of the worker whose pre_fork runs, or a backoff. */
  private readonly spawning = new Map<number, number | 'backoff'>();
  private readonly failures = new Map<number, number>();
  /** Per slot, what its last failure was: a crash of a worker that had been ready, or a boot that failed. */
  private readonly lastFailure = new Map<number, 'crash' | 'boot'>();
  private everReady = false;
  private whenReadyCalled = false;
  private bootFailures = 0;
  private gaveUp = false;
  private reload: Reload | null = null;
  private reloadQueued = false;
  /** TTIN/TTOU received while starting or reloading, applied once that is over. */
  private scaleQueued = 0;
  private stop: Stop | null = null;
  private exiting = false;
  private tokens = 0;
  /** Continuations of hooks and binds in flight; the primary exits only when none is left. */
  private readonly inflight = new Map<number, (failure: string | null) => void>();
  /** Resolutions in flight (not waited for: a config's top-level await may never settle). */
  private readonly resolving = new Map<number, (generation: GenerationInfo | string) => void>();

  constructor(first: GenerationInfo) {
    this.generations.set(first.number, first);
    this.current = first.number;
    this.target = first.workers;
  }

  /** Handles one event at time `now` (ms) and returns the commands it gives, in order. */
  handle(event: Event, now: number): Command[] {
    this.now = now;
    this.out = [];
    this.on(event);
    return this.out;
  }

  private on(event: Event): void {
    switch (event.t) {
      case 'start':
        return this.start();
      case 'done': {
        const then = this.inflight.get(event.token);
        this.inflight.delete(event.token);
        then?.(event.failure);
        return this.settle();
      }
      case 'resolved':
      case 'rejected': {
        const then = this.resolving.get(event.token);
        this.resolving.delete(event.token);
        return then?.(event.t === 'resolved' ? event.generation : event.problems);
      }
      case 'forked': {
        const worker = this.workers.get(event.worker);
        if (worker) worker.pid = event.pid;
        return;
      }
      case 'message': {
        const worker = this.workers.get(event.worker);
        return worker && this.onMessage(worker, event.message);
      }
      case 'exited': {
        const worker = this.workers.get(event.worker);
        return worker && this.onExit(worker, event.code, event.signal);
      }
      case 'stack': {
        const worker = this.workers.get(event.worker);
        if (worker) worker.stack = event.stack;
        return;
      }
      case 'signal':
        return this.onSignal(event.signal);
      case 'timer':
        return this.onTimer(event.name);
      case 'changed':
        this.log('info', `reload: ${event.file} changed`);
        return this.startReload();
      case 'crashed':
        this.log('critical', `unexpected error in the primary: ${event.error}`);
        if (this.stop) return this.escalate();
        return this.beginStop({ mode: 'fast', reason: 'error', exitCode: 1 });
    }
  }

  // ---- output -------------------------------------------------------------------------

  private emit(command: Command): void {
    this.out.push(command);
  }

  private log(level: Level, message: string): void {
    this.emit({ t: 'log', level, message });
  }

  private get settings(): ResolvedSettings {
    return this.generations.get(this.current)!.settings;
  }

  /** Runs a primary hook; `then` runs once it succeeded, and a failure is handled by the hook's policy. */
  private hook(hook: PrimaryHook, fields: Readonly<Record<string, unknown>>, then: () => void = () => {}, subject?: Subject, generation = this.current): void {
    this.await({ t: 'run_hook', hook, generation, fields }, (failure) => (failure === null ? then() : this.policy(HOOKS[hook].onError, failure, subject)));
  }

  /** What a failed hook does: its row's policy, decided once here for every primary hook. */
  private policy(policy: HookPolicy, failure: string, subject?: Subject): void {
    switch (policy) {
      case 'abort_start':
        this.log('error', `start aborted: ${failure}`);
        return this.beginStop({ mode: 'graceful', reason: 'start_failed', exitCode: 1 });
      case 'skip_worker':
        if (this.spawning.get(subject!.id) === subject!.age) this.spawning.delete(subject!.id);
        return this.bootFailed(subject!.id, subject!.generation, `pre_fork failed: ${failure}`, subject!.replaces);
      case 'abandon_reload':
        this.log('error', `reload abandoned, the old config and workers keep serving: ${failure}`);
        return this.endReload('reload_failed');
      default:
        // `log` (the runner logged it) and the worker-side policies never reach the primary.
        return;
    }
  }

  private timer(name: string, ms: number | null, repeat = false): void {
    this.emit({ t: 'timer', name, ms, repeat });
  }

  private send(worker: WorkerRecord, message: ToWorker): void {
    this.emit({ t: 'send', worker: worker.key, message });
  }

  // ---- start --------------------------------------------------------------------------

  private start(): void {
    this.emit({ t: 'use', generation: this.current });
    this.hook('on_starting', {}, () => {
      if (this.stop) return;
      this.listen(this.settings.bind, this.current, (failure) => {
        if (failure !== null) return this.failStart(failure);
        this.bound = [...this.settings.bind];
        if (this.stop) return this.emit({ t: 'unlisten', binds: this.bound });
        // The pidfile is written here: if it cannot be, no worker starts.
        this.await({ t: 'lifecycle', event: 'listening' }, (failure) => {
          if (failure !== null) return this.failStart(failure);
          if (this.stop) return;
          this.superviseHeartbeats();
          this.ensureWorkers();
        });
      });
    });
  }

  /** A bind or the pidfile failed at start: exit 1 with why (no worker was started). */
  private failStart(why: string): void {
    this.log('error', why);
    this.beginStop({ mode: 'graceful', reason: 'start_failed', exitCode: 1 });
  }

  private listen(binds: readonly string[], generation: number, then: (failure: string | null) => void): void {
    this.await({ t: 'listen', binds, generation }, then);
  }

  /** Emits a command that the shell answers with `done`, and continues with `then`. */
  private await(command: DistributiveOmit<Extract<Command, { t: 'run_hook' | 'listen' | 'lifecycle' }>, 'token'>, then: (failure: string | null) => void): void {
    const token = ++this.tokens;
    this.inflight.set(token, then);
    this.emit({ ...command, token } as Command);
  }

  /** Once every initial worker is ready: `when_ready`, then "ready". */
  private checkStarted(): void {
    if (this.phase !== 'starting' || this.stop || this.readyCount(this.current) < this.target || this.whenReadyCalled) return;
    this.whenReadyCalled = true;
    const workers = this.currentWorkers().map((w) => workerInfo(w));
    this.hook('when_ready', { workers }, () => {
      if (this.stop) return;
      this.phase = 'running';
      this.emit({ t: 'lifecycle', event: 'ready' });
      this.log('info', `hostd is ready: ${counted(this.target, 'worker')}`);
      this.applyQueued();
    });
  }

  // ---- workers ------------------------------------------------------------------------

  /** Workers of the current generation that are not stopping. */
  private currentWorkers(): WorkerRecord[] {
    return [...this.workers.values()].filter((w) => w.generation === this.current && w.state !== 'stopping');
  }

  private readyCount(generation: number): number {
    return [...this.workers.values()].filter((w) => w.generation === generation && w.state === 'serving').length;
  }

  /** Gives every slot 1..target a worker and retires workers above the target. */
  private ensureWorkers(): void {
    if (this.stop || this.gaveUp) return;
    const current = this.currentWorkers();
    // A reload in batches starts the new generation's slots a batch at a time.
    const slots = this.reload !== null && this.reload.next === this.current ? this.reload.upTo : this.target;
    for (let id = 1; id <= slots; id++) {
      if (this.spawning.has(id) || current.some((w) => w.id === id)) continue;
      // A serving worker's crash is replaced at once the first time; a worker that cannot boot waits from its first failure.
      const failures = this.failures.get(id) ?? 0;
      const delay = backoffMs(this.lastFailure.get(id) === 'crash' ? Math.max(0, failures - 1) : failures);
      if (delay === 0) {
        this.spawn(id);
      } else {
        this.log('info', `worker ${id}: restarting in ${delay} ms`);
        this.spawning.set(id, 'backoff');
        this.timer(`backoff:${id}`, delay);
      }
    }
    for (const worker of current) if (worker.id > this.target) this.retire(worker, 'shutdown');
  }

  /** pre_fork, then the process. `replaces`: a max_requests replacement (its slot stays served meanwhile). */
  private spawn(id: number, replaces: WorkerRecord | null = null): void {
    const generation = this.current;
    const age = ++this.ages;
    if (!replaces) this.spawning.set(id, age);
    const planned: WorkerInfo = { id, pid: null, age, generation, booted_at: null };
    this.hook(
      'pre_fork',
      { worker: Object.freeze(planned) },
      () => {
        if (this.spawning.get(id) === age) this.spawning.delete(id);
        if (this.stop || generation !== this.current) return;
        this.fork(age, id, generation, replaces);
      },
      { id, age, generation, replaces },
    );
  }

  private fork(key: number, id: number, generation: number, replaces: WorkerRecord | null): void {
    const worker = forkedRecord(key, id, generation, this.now, replaces);
    this.workers.set(key, worker);
    this.emit({ t: 'fork', worker: key, id, generation });
    const bootTimeout = this.generations.get(generation)!.settings.boot_timeout;
    if (bootTimeout > 0) this.timer(`boot:${key}`, bootTimeout * 1000);
    this.timer(`boot-progress:${key}`, BOOT_PROGRESS_MS, true);
  }

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
          if (beat.hooks !== null) addHistograms(this.counters.hooks, beat.hooks);
          this.checkMemory(worker, beat.rss_bytes);
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
        this.unroute(worker);
        return this.ensureWorkers();
      case 'boot_error':
        worker.bootError = message.message;
        return;
      case 'recycle':
        return this.recycle(worker);
      case 'app_control':
        return this.appControl(worker, message.action);
    }
  }

  private onReady(worker: WorkerRecord): void {
    if (worker.state !== 'booting') return;
    worker.state = 'serving';
    worker.readyAt = this.now;
    worker.step = null;
    worker.detail = 'serving';
    this.everReady = true;
    this.counters.boots++;
    this.timer(`boot:${worker.key}`, null);
    this.timer(`boot-progress:${worker.key}`, null);
    this.log('debug', `${who(worker)} is ready`);
    if (this.stop) {
      if (this.stop.ordered) this.retire(worker, 'shutdown', this.stop.mode);
    } else if (worker.replaces) {
      const old = worker.replaces;
      worker.replaces = null;
      this.route(worker);
      this.retire(old, old.recycleReason);
    } else if (this.reload?.next !== worker.generation) {
      // During a reload the new generation waits until all of it is ready.
      this.route(worker);
    }
    this.checkStarted();
    this.checkReload();
  }

  private route(worker: WorkerRecord): void {
    if (!this.routed.includes(worker)) this.routed.push(worker);
    this.emitRoutes();
  }

  private unroute(worker: WorkerRecord): void {
    if (!this.routed.includes(worker)) return;
    this.routed = this.routed.filter((w) => w !== worker);
    this.emitRoutes();
  }

  private emitRoutes(): void {
    this.emit({ t: 'route', workers: this.routed.map((w) => w.key), slots: this.target });
  }

  /** `max_requests` reached: start a replacement first; the old worker leaves once it is ready. */
  private recycle(worker: WorkerRecord): void {
    if (this.generations.get(worker.generation)!.settings.max_requests === 0) {
      return this.log('warning', `${who(worker)} asked to be recycled, but max_requests is off; ignored`);
    }
    if (worker.state !== 'serving' || worker.recycling || this.stop) return;
    if (worker.generation !== this.current) return this.retire(worker, 'max_requests');
    worker.recycling = true;
    worker.recycleReason = 'max_requests';
    this.spawn(worker.id, worker);
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

  /**
   * `max_memory`: a serving worker above the cap for 3 heartbeats in a row is replaced,
   * replacement first, one memory replacement at a time across the instance.
   */
  private checkMemory(worker: WorkerRecord, rss: number): void {
    const cap = this.memoryCap(this.generations.get(worker.generation)!);
    if (cap === null || worker.state !== 'serving' || worker.recycling || this.stop || this.reload) return;
    worker.overMemory = rss > cap ? worker.overMemory + 1 : 0;
    if (worker.overMemory < 3) return;
    if ([...this.workers.values()].some((w) => w.recycling && w.recycleReason === 'max_memory')) return;
    this.log('warning', `${who(worker)} uses ${Math.round(rss / 2 ** 20)} MiB, above max_memory (${Math.round(cap / 2 ** 20)} MiB), for 3 heartbeats: replacing it`);
    if (worker.generation !== this.current) return this.retire(worker, 'max_memory');
    worker.recycling = true;
    worker.recycleReason = 'max_memory';
    this.spawn(worker.id, worker);
  }

  /** host.reload() / host.stop() from app code, honoured only when the config allows it. */
  private appControl(worker: WorkerRecord, action: 'reload' | 'stop'): void {
    const asker = who(worker);
    if (!this.settings.allow_app_control) return this.log('warning', `${asker} asked to ${action}; ignored (allow_app_control is false)`);
    this.log('info', `${asker} asked to ${action} (host.${action}())`);
    if (action === 'reload') this.startReload();
    else this.beginStop({ mode: 'graceful', reason: 'shutdown', exitCode: 0 });
  }

  /** Tells a worker to stop, and plans when it is killed if it has not exited. */
  private retire(worker: WorkerRecord, reason: WorkerExitReason, mode: StopMode = 'graceful'): void {
    if (worker.stop && (worker.stop.mode !== 'graceful' || mode === 'graceful')) return;
    this.unroute(worker);
    if (worker.state === 'booting') {
      this.timer(`boot:${worker.key}`, null);
      this.timer(`boot-progress:${worker.key}`, null);
    }
    worker.state = 'stopping';
    if (worker.stop === null) {
      worker.stop = { reason, mode, since: this.now, killAt: null };
      this.timer(`stop-progress:${worker.key}`, STOP_PROGRESS_MS, true);
    }
    this.send(worker, { t: 'stop', reason: worker.stop.reason, mode });
    this.planStop(worker, mode);
  }

  /** Sets the kill timer of a stopping worker from its stop plan. */
  private planStop(worker: WorkerRecord, mode: StopMode): void {
    const killAt = killDeadline(worker, this.generations.get(worker.generation)!, mode, this.now);
    worker.stop!.killAt = killAt;
    this.timer(`stop:${worker.key}`, killAt === null ? null : Math.max(0, killAt - this.now));
  }

  private kill(worker: WorkerRecord, why: NonNullable<WorkerRecord['killedFor']>): void {
    worker.killedFor ??= why;
    this.emit({ t: 'kill', worker: worker.key, why: worker.killedFor });
  }

  private onExit(worker: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    for (const name of ['boot', 'boot-progress', 'stop', 'stop-progress', 'recycle']) this.timer(`${name}:${worker.key}`, null);
    const wasBooting = worker.readyAt === null;
    const reason = exitReason(worker, code, signal);
    this.counters.exits.set(reason, (this.counters.exits.get(reason) ?? 0) + 1);
    this.workers.delete(worker.key);
    this.unroute(worker);
    if (worker.generation !== this.current && this.reload?.next !== worker.generation && ![...this.workers.values()].some((w) => w.generation === worker.generation)) {
      this.generations.delete(worker.generation);
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const unexpected = reason === 'crash' || reason === 'killed' || reason === 'timeout' || reason === 'boot_error';
    this.log(unexpected ? 'warning' : 'info', `${who(worker)} exited with ${how} (${reasonText(reason)})`);
    this.hook('child_exit', { worker: workerInfo(worker), exit_code: code, exit_signal: signal, reason, stack: worker.stack });

    if (worker.replaces) worker.replaces.recycling = false;
    if (wasBooting && worker.stop === null) {
      this.bootFailed(worker.id, worker.generation, worker.bootError ?? `exited with ${how} before it was ready`, worker.replaces);
    } else if (!this.stop && (worker.stop === null || unexpected)) {
      const served = worker.readyAt === null ? 0 : this.now - worker.readyAt;
      this.failures.set(worker.id, served >= STABLE_AFTER_MS ? 0 : (this.failures.get(worker.id) ?? 0) + 1);
      this.lastFailure.set(worker.id, 'crash');
      this.ensureWorkers();
    }
    this.checkReload();
    this.settle();
  }

  /** A worker of `generation` could not boot. Decides: retry with backoff, fail the reload, or give up. */
  private bootFailed(id: number, generation: number, why: string, replacing: WorkerRecord | null): void {
    this.log('error', `worker ${id} failed to boot: ${why}`);
    if (this.stop) return;
    if (this.reload && generation === this.reload.next) {
      this.reload.failed ??= `worker ${id} of the new generation could not boot (see above)`;
      return this.checkReload();
    }
    if (generation !== this.current) return;
    this.failures.set(id, (this.failures.get(id) ?? 0) + 1);
    this.lastFailure.set(id, 'boot');
    if (!this.everReady && ++this.bootFailures >= this.target + 2) {
      this.gaveUp = true;
      this.log('critical', `workers cannot boot; the last cause: ${why}`);
      return this.beginStop({ mode: 'graceful', reason: 'boot_error', exitCode: 3 });
    }
    if (replacing && replacing.state === 'serving') {
      // The old worker keeps serving; try its replacement again after the backoff.
      this.timer(`recycle:${replacing.key}`, backoffMs(this.failures.get(id) ?? 1));
    } else {
      this.ensureWorkers();
    }
  }

  private superviseHeartbeats(): void {
    this.timer('heartbeats', heartbeatMs(this.settings), true);
  }

  /**
   * A worker late by two heartbeats (its event loop blocked, or SIGSTOP) gets no new
   * connections until it beats again; one silent for `timeout` is killed.
   */
  private checkHeartbeats(): void {
    const timeoutMs = this.settings.timeout * 1000;
    const lateMs = 2 * heartbeatMs(this.settings);
    for (const worker of this.workers.values()) {
      if (worker.killedFor !== null) continue;
      const silent = this.now - worker.lastHeartbeat;
      if (timeoutMs > 0 && silent > timeoutMs) {
        const during = worker.state === 'stopping' ? ` while stopping (${worker.detail})` : worker.state === 'booting' ? ` while booting (${worker.detail})` : '';
        this.log('critical', `WORKER TIMEOUT: ${who(worker)} sent no heartbeat for ${timeoutMs / 1000} s${during}; killing it`);
        this.kill(worker, 'timeout');
      } else if (silent > lateMs && this.routed.includes(worker)) {
        worker.suspended = true;
        this.unroute(worker);
        this.log('warning', `${who(worker)} sent no heartbeat for ${seconds(silent)}: no new connections go to it until it does`);
      }
    }
  }

  /** A sign of life: a worker suspended for a late heartbeat takes connections again. */
  private alive(worker: WorkerRecord): void {
    worker.lastHeartbeat = this.now;
    if (!worker.suspended) return;
    worker.suspended = false;
    if (worker.state !== 'serving') return;
    this.log('info', `${who(worker)} answers again; it takes new connections`);
    this.route(worker);
  }

  // ---- timers -------------------------------------------------------------------------

  private onTimer(name: string): void {
    if (name === 'heartbeats') return this.checkHeartbeats();
    if (name === 'drain-delay') return this.orderStop();
    const [kind, number] = name.split(':') as [string, string];
    if (kind === 'backoff') {
      const id = Number(number);
      if (this.spawning.get(id) !== 'backoff') return;
      this.spawning.delete(id);
      // The backoff was this slot's wait; what is left of it is only to start its worker.
      if (!this.stop && id <= this.target && !this.currentWorkers().some((w) => w.id === id)) this.spawn(id);
      return;
    }
    const worker = this.workers.get(Number(number));
    if (!worker) return;
    switch (kind) {
      case 'recycle':
        return this.recycle(worker);
      case 'boot': {
        if (worker.state !== 'booting') return;
        const limit = this.generations.get(worker.generation)!.settings.boot_timeout;
        worker.bootError = `not ready within boot_timeout (${limit} s); it was ${worker.detail}`;
        this.log('error', `${who(worker)} was not ready within boot_timeout (${limit} s) while ${worker.detail}; killing it`);
        return this.kill(worker, 'boot_timeout');
      }
      case 'boot-progress':
        return this.log('info', bootProgress(worker, this.generations.get(worker.generation)!.settings.boot_timeout, this.now));
      case 'stop':
        this.log('warning', `${who(worker)} did not exit within its stop plan (${seconds(this.now - worker.stop!.since)}; last seen ${worker.detail}); killing it`);
        return this.kill(worker, 'deadline');
      case 'stop-progress':
        return this.log('info', stopProgress(worker, this.now));
    }
  }

  // ---- signals ------------------------------------------------------------------------

  private onSignal(signal: PrimarySignal): void {
    switch (signal) {
      case 'SIGTERM':
        return this.beginStop({ mode: 'graceful', reason: 'shutdown', exitCode: 0 });
      case 'SIGINT':
      case 'SIGQUIT':
        return this.beginStop({ mode: 'fast', reason: 'shutdown', exitCode: 0 });
      case 'SIGHUP':
        return this.startReload();
      case 'SIGTTIN':
        return this.scale(+1);
      case 'SIGTTOU':
        return this.scale(-1);
      case 'SIGUSR1':
        this.emit({ t: 'reopen_logs' });
        for (const worker of this.workers.values()) this.send(worker, { t: 'reopen_logs' });
        return;
    }
  }

  private scale(delta: 1 | -1): void {
    const name = delta > 0 ? 'TTIN' : 'TTOU';
    if (this.stop) return this.log('warning', `ignoring ${name} while stopping`);
    if (this.phase !== 'running' || this.reload) {
      this.scaleQueued += delta;
      return this.log('info', `${name} while ${this.reload ? 'reloading' : 'starting'}: applied once that is done`);
    }
    this.applyScale(delta);
  }

  private applyScale(delta: number): void {
    const old = this.target;
    this.target = Math.max(1, this.target + delta);
    if (this.target === old) return this.log('info', `already at 1 worker; ${delta < 0 ? 'TTOU' : 'TTIN'} ignored`);
    this.log('info', `workers: ${old} → ${this.target}`);
    this.ensureWorkers();
    this.hook('nworkers_changed', { new: this.target, old });
  }

  /** TTIN/TTOU and HUP that arrived while starting or reloading. */
  private applyQueued(): void {
    if (this.stop || this.phase !== 'running' || this.reload) return;
    const delta = this.scaleQueued;
    this.scaleQueued = 0;
    if (delta !== 0) this.applyScale(delta);
    if (this.reloadQueued) {
      this.reloadQueued = false;
      this.startReload();
    }
  }

  // ---- reload -------------------------------------------------------------------------

  private startReload(): void {
    if (this.stop) return this.log('warning', 'ignoring HUP while stopping');
    if (this.reload || this.phase !== 'running') {
      this.reloadQueued = true;
      return this.log('info', `HUP while ${this.reload ? 'reloading' : 'starting'}: reloading once that is done`);
    }
    const reload: Reload = { previous: { generation: this.current, target: this.target }, next: null, opened: [], failed: null, batch: 0, upTo: 0 };
    this.reload = reload;
    this.emit({ t: 'lifecycle', event: 'reloading' });
    const token = ++this.tokens;
    // Numbers count generations that served: a reload that failed leaves its number to the next.
    const number = this.current + 1;
    this.resolving.set(token, (result) => {
      if (this.reload !== reload) {
        if (typeof result !== 'string') this.emit({ t: 'forget', generation: result.number });
        return;
      }
      if (typeof result === 'string') {
        this.log('error', `reload: the config is invalid; nothing changed:\n${result}`);
        return this.endReload('reload_failed');
      }
      this.generations.set(result.number, result);
      this.hook('on_reload', { previous: this.settings }, () => this.openReloadBinds(reload, result), undefined, result.number);
    });
    this.emit({ t: 'resolve', token, generation: number });
  }

  private openReloadBinds(reload: Reload, next: GenerationInfo): void {
    if (this.reload !== reload) return;
    const added = next.settings.bind.filter((b) => !this.bound.includes(b));
    this.listen(added, next.number, (failure) => {
      if (this.reload !== reload) return this.emit({ t: 'unlisten', binds: added });
      if (failure !== null) {
        this.log('error', `reload abandoned: ${failure}`);
        return this.endReload('reload_failed');
      }
      reload.opened = added;
      this.bound.push(...added);
      this.switchTo(reload, next);
    });
  }

  /** Starts the new generation beside the old one; connections stay with the old until all of it is ready. */
  private switchTo(reload: Reload, next: GenerationInfo): void {
    reload.next = next.number;
    this.current = next.number;
    this.target = next.workers;
    const batch = next.settings.reload_batch;
    reload.batch = batch === 'all' ? next.workers : Math.min(batch, next.workers);
    reload.upTo = reload.batch;
    this.emit({ t: 'use', generation: next.number });
    const steps = reload.batch < this.target ? `, ${reload.batch} at a time` : '';
    this.log('info', `reloading: starting generation ${next.number} (${counted(this.target, 'worker')}${steps})`);
    for (const worker of this.workers.values()) if (worker.state === 'serving') this.send(worker, { t: 'reload', generation: next.number });
    this.ensureWorkers();
    this.checkReload();
  }

  /** Settles a reload whose new generation is booting: all ready (switch) or one failed (roll back). */
  private checkReload(): void {
    const reload = this.reload;
    if (reload === null || reload.next === null || this.stop) return;
    const next = reload.next;
    if (reload.failed !== null) {
      for (const worker of this.workers.values()) if (worker.generation === next) this.retire(worker, 'reload');
      this.cancelSpawns();
      this.current = reload.previous.generation;
      this.target = reload.previous.target;
      this.emit({ t: 'forget', generation: next });
      this.emit({ t: 'use', generation: this.current });
      this.emit({ t: 'unlisten', binds: reload.opened });
      this.bound = this.bound.filter((b) => !reload.opened.includes(b));
      this.log('error', `reload failed: ${reload.failed}; generation ${this.current} keeps serving`);
      this.ensureWorkers();
      return this.endReload('reload_failed');
    }
    if (this.readyCount(next) < reload.upTo) return;
    for (const worker of this.workers.values()) {
      if (worker.generation === next && worker.state === 'serving') this.route(worker);
    }
    if (reload.upTo < this.target) {
      // A batch is ready and serving: the old workers of its slots leave, and the next batch starts.
      for (const worker of this.workers.values()) {
        if (worker.generation < next && worker.state !== 'stopping' && worker.id <= reload.upTo) this.retire(worker, 'reload');
      }
      // The next batch starts once this one's old workers are gone (each exit checks again): at most workers + batch alive.
      if ([...this.workers.values()].some((w) => w.generation < next && w.id <= reload.upTo)) return;
      reload.upTo = Math.min(this.target, reload.upTo + reload.batch);
      this.log('info', `reloading: generation ${next} serves ${counted(this.readyCount(next), 'worker')}; starting up to worker ${reload.upTo}`);
      return this.ensureWorkers();
    }
    for (const worker of this.workers.values()) if (worker.generation < next && worker.state !== 'stopping') this.retire(worker, 'reload');
    const removed = this.bound.filter((b) => !this.settings.bind.includes(b));
    this.bound = this.bound.filter((b) => !removed.includes(b));
    if (removed.length > 0) this.emit({ t: 'unlisten', binds: removed });
    this.superviseHeartbeats();
    this.emit({ t: 'forget', generation: reload.previous.generation });
    this.log('info', `reloaded: generation ${next} is serving`);
    if (reload.previous.target !== this.target) this.hook('nworkers_changed', { new: this.target, old: reload.previous.target });
    this.endReload('reloaded');
  }

  private endReload(event: 'reloaded' | 'reload_failed'): void {
    this.reload = null;
    this.counters.reloads[event === 'reloaded' ? 'success' : 'failure']++;
    if (this.stop) return;
    this.emit({ t: 'lifecycle', event });
    this.applyQueued();
  }

  /** Forgets spawns under way: backoffs are cancelled, a pre_fork's worker will not be forked. */
  private cancelSpawns(): void {
    for (const [id, stage] of this.spawning) if (stage === 'backoff') this.timer(`backoff:${id}`, null);
    this.spawning.clear();
  }

  // ---- stopping -----------------------------------------------------------------------

  /** A stop: SIGTERM (graceful), SIGINT/SIGQUIT (fast; the reason is still `shutdown`), a failed start. A second one escalates. */
  private beginStop(how: { mode: 'graceful' | 'fast'; reason: PrimaryExitReason; exitCode: number }): void {
    if (this.stop) {
      if (this.stop.mode !== 'graceful') {
        this.log('warning', 'stop signal while stopping fast: killing the workers now');
        for (const worker of this.workers.values()) this.kill(worker, 'deadline');
      } else if (how.mode === 'fast' || how.reason === 'shutdown') {
        this.escalate();
      }
      return;
    }
    this.stop = { reason: how.reason, exitCode: how.exitCode, mode: how.mode, ordered: false };
    this.phase = 'stopping';
    this.reload = null;
    this.reloadQueued = false;
    this.log('info', `hostd stopping (${reasonText(how.reason, how.mode)})`);
    this.emit({ t: 'lifecycle', event: 'stopping' });
    this.cancelSpawns();
    const delay = this.settings.drain_delay;
    if (how.mode === 'graceful' && delay > 0 && this.workers.size > 0) {
      // Keep serving while readiness answers 503, so load balancers take the instance out first.
      this.log('info', `draining: readiness answers 503 for ${delay} s while the workers keep serving; then the graceful stop`);
      this.emit({ t: 'lifecycle', event: 'draining' });
      this.timer('drain-delay', delay * 1000);
      return;
    }
    this.orderStop();
  }

  /** Closes the listeners and tells every worker to stop; connections already accepted still get a worker. */
  private orderStop(): void {
    const stop = this.stop!;
    if (stop.ordered) return;
    stop.ordered = true;
    this.timer('drain-delay', null);
    this.emit({ t: 'unlisten', binds: this.bound });
    this.bound = [];
    this.emit({ t: 'hand_over', worker: this.routed.find((w) => w.state === 'serving')?.key ?? null });
    for (const worker of this.workers.values()) this.retire(worker, worker.stop?.reason ?? 'shutdown', stop.mode);
    this.settle();
  }

  /** A second stop signal: hooks' signals abort, every wait shortens, workers switch to a fast stop. */
  private escalate(): void {
    const stop = this.stop!;
    if (stop.mode !== 'graceful') return;
    stop.mode = 'escalated';
    this.emit({ t: 'escalate' });
    if (!stop.ordered) return this.orderStop();
    for (const worker of this.workers.values()) this.retire(worker, worker.stop?.reason ?? 'shutdown', 'escalated');
  }

  /** The primary exits once it is stopping, every worker is gone and no hook or bind is in flight. */
  private settle(): void {
    if (!this.stop || this.exiting || this.workers.size > 0 || this.inflight.size > 0) return;
    // Every worker left during drain_delay: close the listeners before exiting.
    if (!this.stop.ordered) return this.orderStop();
    this.exiting = true;
    this.phase = 'exiting';
    for (const name of ['heartbeats', 'drain-delay']) this.timer(name, null);
    this.emit({ t: 'lifecycle', event: 'exiting' });
    const { exitCode, reason } = this.stop;
    this.hook('on_exit', { exit_code: exitCode, reason }, () => {
      this.emit({ t: 'lifecycle', event: 'exited' });
      this.log(exitCode === 0 ? 'info' : 'error', `hostd stopped (${reasonText(reason)}), exit code ${exitCode}`);
      this.emit({ t: 'exit', code: exitCode });
    });
  }

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

  /** How many workers the current generation runs (TTIN/TTOU included). */
  get workerTarget(): number {
    return this.target;
  }

  /** The stop mode hooks in the primary take their deadlines from, if a stop is under way. */
  get stopMode(): StopMode | null {
    return this.stop?.mode ?? null;
  }
}


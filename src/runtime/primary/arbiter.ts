/**
 * The primary (gunicorn calls it the arbiter). It binds the sockets, keeps `workers`
 * worker processes serving, hands each accepted connection to a ready worker, reacts to
 * signals (SPEC section 3), and runs the primary's hooks at their phases. Every way out
 * goes through finish(), which runs `on_exit` exactly once.
 *
 * Worker slots: ids 1..target of the current generation. A slot without a booting or
 * serving worker gets one (after a backoff if its workers keep failing); a worker above
 * the target is retired. Reload builds a new generation beside the old one and switches
 * connections to it only when every new worker is ready.
 */
import type { Socket } from 'node:net';
import { dirname, sep } from 'node:path';
import { locateModule, splitAppSpec } from '../../config/app-spec.ts';
import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { ConfigInvalidError, formatIssue, HostdError } from '../../errors.ts';
import type { ChildExitReason, PrimaryExitReason, ServerInfo, WorkerExitReason } from '../../hooks/contexts.ts';
import { counted } from '../../text.ts';
import { VERSION } from '../../version.ts';
import { usableCpus } from '../cpus.ts';
import { FAST_HOOK_TIMEOUT_MS, type HookRuntime, runHook } from '../hooks/runner.ts';
import { type Handlers, isMessage, type ToPrimary, type ToWorker, type WorkerBoot } from '../ipc.ts';
import { ErrorLog, userStack } from '../log.ts';
import { type Reaper, startReaper } from '../targets/reaper.ts';
import { createNotifier, LISTEN_VARIABLES, monotonicUsec, type Notifier, type NotifyState, watchdogInterval } from '../targets/systemd.ts';
import { closeListeners, type Listener, openListeners } from './listeners.ts';
import { removePidfile, writePidfile } from './pidfile.ts';
import { type Watcher, watchForChanges } from './watch.ts';
import { exitReason, type MutableWorkerInfo, snapshot, startWorkerProcess, type WorkerRecord } from './worker-process.ts';

/** A worker serving this long before it fails is not "failing repeatedly": its slot's backoff resets. */
const STABLE_AFTER_MS = 10_000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 10_000;

type Phase = 'starting' | 'running' | 'reloading' | 'stopping';

interface Waiter {
  check(): boolean;
}

export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? usableCpus() : setting;
}

function backoffMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
}

export class Arbiter {
  private config: ResolvedConfig;
  private readonly log: ErrorLog;
  private rt: HookRuntime;
  private readonly startedAt = new Date();
  private readonly escalation = new AbortController();
  private phase: Phase = 'starting';
  private listeners: Listener[] = [];
  private readonly workers = new Set<WorkerRecord>();
  /** Serving workers that receive connections, in round-robin order. */
  private routable: WorkerRecord[] = [];
  private next = 0;
  /** Connections accepted while no worker could take them. */
  private readonly waiting: Socket[] = [];
  private generation = 1;
  private age = 0;
  private target: number;
  /** Consecutive failures per slot, for the respawn backoff. */
  private readonly failures = new Map<number, number>();
  /** Slots with a spawn under way (pre_fork running) or waiting out a backoff. */
  private readonly spawning = new Map<number, NodeJS.Timeout | 'now'>();
  private everReady = false;
  private bootFailures = 0;
  /** Why the primary gave up on booting workers (exit code 3). */
  private gaveUp: HostdError | null = null;
  private reloadState: { failed: string | null } | null = null;
  private reloadPending = false;
  private stopState: { fast: boolean; reason: PrimaryExitReason; exitCode: number } | null = null;
  /** Hooks running on their own (child_exit, nworkers_changed); on_exit waits for them. */
  private readonly background = new Set<Promise<void>>();
  private readonly waiters = new Set<Waiter>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private finished: Promise<number> | null = null;
  private notifier: Notifier | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private reaper: Reaper | null = null;
  private watcher: Watcher | null = null;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once finish() is done. */
  private readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(
    config: ResolvedConfig,
    private readonly inputs: ConfigInputs,
  ) {
    this.config = config;
    const s = config.settings;
    this.log = new ErrorLog({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: 'primary' });
    this.rt = this.hookRuntime(config);
    this.target = workerCount(s.workers);
  }

  private hookRuntime(config: ResolvedConfig): HookRuntime {
    const server: ServerInfo = Object.freeze({ pid: process.pid, config: config.settings, started_at: this.startedAt, version: VERSION });
    return { log: this.log, server, process: 'primary', escalation: this.escalation.signal };
  }

  /** The stop in progress; a method, so checks after an await read it afresh. */
  private stopRequested(): { fast: boolean; reason: PrimaryExitReason; exitCode: number } | null {
    return this.stopState;
  }

  private get hookMs(): number {
    return this.config.settings.hook_timeout * 1000;
  }

  private get exitHookMs(): number {
    const hookMs = this.hookMs;
    if (!this.stopState?.fast) return hookMs;
    return hookMs > 0 ? Math.min(hookMs, FAST_HOOK_TIMEOUT_MS) : FAST_HOOK_TIMEOUT_MS;
  }

  /** Resolves when `check` first returns a value other than undefined (re-checked on every change). */
  private waitFor<T>(check: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check: () => {
          const value = check();
          if (value === undefined) return false;
          this.waiters.delete(waiter);
          resolve(value);
          return true;
        },
      };
      if (!waiter.check()) this.waiters.add(waiter);
    });
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** Runs the primary until it exits; resolves with the exit code. */
  async run(): Promise<number> {
    const s = this.config.settings;
    process.title = `hostd: primary [${s.proc_name}]`;
    this.installSignals();
    this.log.info(`Starting hostd ${VERSION} (pid ${process.pid})`);

    try {
      await runHook(this.rt, 'on_starting', this.config.hooks.on_starting, {}, this.hookMs);
    } catch (error) {
      this.log.error(`start aborted: ${(error as Error).message}`);
      return this.finish(1, 'start_failed');
    }
    const stopped = this.stopRequested();
    if (stopped) return this.finish(stopped.exitCode, stopped.reason);

    try {
      this.listeners = await openListeners(s.bind, s.backlog, s.certfile ? 'https' : 'http', (socket) => this.dispatch(socket));
      const stopped = this.stopRequested();
      if (stopped) {
        closeListeners(this.listeners);
        return this.finish(stopped.exitCode, stopped.reason);
      }
      for (const listener of this.listeners) this.log.info(`Listening at: ${listener.url} (${process.pid})`);
      for (const name of LISTEN_VARIABLES) delete process.env[name];
      if (s.pidfile !== null) writePidfile(s.pidfile);
    } catch (error) {
      this.log.error(error instanceof HostdError ? error.message : userStack(error));
      closeListeners(this.listeners);
      return this.finish(1, 'start_failed');
    }

    this.reaper = startReaper((pid) => [...this.workers].some((w) => w.info.pid === pid), this.log);
    if (s.sd_notify) this.startNotifier();
    this.superviseHeartbeats();
    this.ensureWorkers();
    const outcome = await this.waitFor(() => (this.stopState ? 'stopped' : this.gaveUp !== null ? 'failed' : this.readyCount(this.generation) >= this.target ? 'ready' : undefined));
    if (outcome === 'ready') {
      try {
        const workers = this.current().map((w) => snapshot(w.info));
        await runHook(this.rt, 'when_ready', this.config.hooks.when_ready, { workers }, this.hookMs);
        if (!this.stopState) {
          this.phase = 'running';
          // Before "ready", so that a change made once a user sees "ready" is never missed.
          this.watchFiles();
          this.log.info(`hostd is ready: ${counted(this.target, 'worker')}`);
          this.notify({ READY: 1, STATUS: this.status(), MAINPID: process.pid });
        }
      } catch (error) {
        this.log.error(`start aborted, stopping the workers: ${(error as Error).message}`);
        void this.stop({ fast: false, reason: 'start_failed', exitCode: 1 });
      }
    }
    return this.done;
  }

  // ---- systemd, development -----------------------------------------------------------

  private startNotifier(): void {
    this.notifier = createNotifier(this.log);
    const interval = watchdogInterval();
    if (this.notifier !== null && interval !== null) {
      this.log.debug(`sd_notify: watchdog ping every ${interval} ms`);
      this.watchdogTimer = setInterval(() => this.notify({ WATCHDOG: 1 }), interval);
    }
  }

  private notify(state: NotifyState): void {
    this.notifier?.notify(state);
  }

  private status(): string {
    return `serving ${this.listeners.map((l) => l.url).join(', ')} with ${counted(this.target, 'worker')}`;
  }

  /** `reload: true`: a change in the app's folder, the config or reload_extra_files reloads. */
  private watchFiles(): void {
    this.watcher?.close();
    this.watcher = null;
    const s = this.config.settings;
    if (!s.reload) return;
    const paths = [...s.reload_extra_files];
    if (this.config.file) paths.push(this.config.file);
    const app = s.app === null ? null : locateModule(splitAppSpec(s.app).module, this.config.root);
    if (app !== null && !app.split(sep).includes('node_modules')) paths.push(dirname(app));
    const own = new Set([s.errorlog, s.accesslog, s.pidfile].filter((f): f is string => f !== null && f !== '-'));
    this.watcher = watchForChanges(paths, own, (file) => {
      this.log.info(`reload: ${file} changed`);
      void this.reload();
    }, this.log);
  }

  // ---- connections ------------------------------------------------------------------

  /** Hands an accepted connection to the next ready worker, or holds it until one is. */
  private dispatch(socket: Socket): void {
    while (this.routable.length > 0) {
      const worker = this.routable[this.next++ % this.routable.length]!;
      if (!worker.child.connected) {
        this.unroute(worker);
        continue;
      }
      // Detached from the listener, so child_process does not track it for server.close().
      (socket as unknown as { server: unknown }).server = null;
      worker.child.send({ t: 'conn' } satisfies ToWorker, socket, (error) => {
        if (error) this.log.warn(`a connection could not be handed to worker ${worker.info.id}: ${error.message}`);
      });
      return;
    }
    // No worker can take it now: hold it (paused) until one can, as the kernel's backlog would.
    if ((this.stopState && this.workers.size === 0) || this.waiting.length >= this.config.settings.backlog) socket.destroy();
    else this.waiting.push(socket);
  }

  private route(worker: WorkerRecord): void {
    if (!this.routable.includes(worker)) this.routable.push(worker);
    for (const socket of this.waiting.splice(0)) this.dispatch(socket);
  }

  private unroute(worker: WorkerRecord): void {
    this.routable = this.routable.filter((w) => w !== worker);
  }

  // ---- workers ------------------------------------------------------------------------

  /** Workers of the current generation that are not stopping. */
  private current(): WorkerRecord[] {
    return [...this.workers].filter((w) => w.info.generation === this.generation && w.state !== 'stopping');
  }

  private readyCount(generation: number): number {
    return [...this.workers].filter((w) => w.info.generation === generation && w.state === 'serving').length;
  }

  /** Gives every slot 1..target a worker and retires workers above the target. */
  private ensureWorkers(): void {
    if (this.stopState || this.gaveUp !== null) return;
    const current = this.current();
    for (let id = 1; id <= this.target; id++) {
      if (this.spawning.has(id) || current.some((w) => w.info.id === id)) continue;
      const delay = backoffMs(this.failures.get(id) ?? 0);
      if (delay === 0) {
        this.spawning.set(id, 'now');
        void this.spawn(id);
      } else {
        this.log.info(`worker ${id}: restarting in ${delay} ms`);
        this.spawning.set(
          id,
          setTimeout(() => {
            this.spawning.set(id, 'now');
            void this.spawn(id);
          }, delay),
        );
      }
    }
    for (const worker of current) if (worker.info.id > this.target) this.stopWorker(worker, 'shutdown');
  }

  private async spawn(id: number, replaces: WorkerRecord | null = null): Promise<void> {
    const s = this.config.settings;
    const info: MutableWorkerInfo = { id, pid: null, age: ++this.age, generation: this.generation, booted_at: null };
    try {
      await runHook(this.rt, 'pre_fork', this.config.hooks.pre_fork, { worker: snapshot(info) }, this.hookMs);
    } catch (error) {
      if (!replaces) this.spawning.delete(id);
      this.bootFailed(id, info.generation, `pre_fork failed: ${(error as Error).message}`, replaces);
      return;
    }
    if (!replaces) this.spawning.delete(id);
    if (this.stopState || info.generation !== this.generation) {
      this.changed();
      return;
    }
    const jitter = s.max_requests_jitter > 0 ? Math.floor(Math.random() * (s.max_requests_jitter + 1)) : 0;
    const boot: WorkerBoot = {
      id,
      age: info.age,
      generation: info.generation,
      primary: { pid: process.pid, started_at: this.startedAt.toISOString(), version: VERSION },
      inputs: this.inputs,
      max_requests: s.max_requests > 0 ? s.max_requests + jitter : 0,
      heartbeat_ms: s.timeout > 0 ? Math.max(20, Math.min(1000, Math.floor((s.timeout * 1000) / 4))) : 0,
    };
    const worker = startWorkerProcess(info, boot, s.env);
    worker.replaces = replaces;
    this.workers.add(worker);
    const handlers: Handlers<ToPrimary> = {
      ready: () => this.onReady(worker),
      heartbeat: () => (worker.lastHeartbeat = Date.now()),
      boot_error: (message) => (worker.bootError = message.message),
      recycle: () => this.recycle(worker),
      app_control: (message) => this.appControl(worker, message.action),
    };
    worker.child.on('message', (message: unknown) => {
      if (isMessage<ToPrimary>(message)) handlers[message.t](message as never);
    });
    worker.child.on('error', (error) => this.log.error(`worker ${id} (pid ${info.pid}): ${error.message}`));
    worker.child.once('exit', (code, signal) => this.onExit(worker, code, signal));
    this.changed();
  }

  private onReady(worker: WorkerRecord): void {
    if (worker.state !== 'booting') return;
    worker.state = 'serving';
    worker.readyAt = Date.now();
    worker.info.booted_at = new Date();
    this.everReady = true;
    this.log.debug(`worker ${worker.info.id} (pid ${worker.info.pid}) is ready`);
    if (this.stopState) {
      this.stopWorker(worker, 'shutdown', this.stopState.fast);
    } else if (worker.replaces) {
      const old = worker.replaces;
      worker.replaces = null;
      this.route(worker);
      this.stopWorker(old, 'max_requests');
    } else if (this.reloadState === null || worker.info.generation !== this.generation) {
      // During a reload the new generation waits until all of it is ready.
      this.route(worker);
    }
    this.changed();
  }

  /** `max_requests` reached: start a replacement first; the old worker leaves once it is ready. */
  private recycle(worker: WorkerRecord): void {
    if (worker.state !== 'serving' || worker.recycling || this.stopState) return;
    if (worker.info.generation !== this.generation) return this.stopWorker(worker, 'max_requests');
    worker.recycling = true;
    void this.spawn(worker.info.id, worker);
  }

  /** host.reload() / host.stop() from app code, honoured only when the config allows it. */
  private appControl(worker: WorkerRecord, action: 'reload' | 'stop'): void {
    const who = `worker ${worker.info.id} (pid ${worker.info.pid})`;
    if (!this.config.settings.allow_app_control) {
      this.log.warn(`${who} asked to ${action}; ignored (allow_app_control is false)`);
      return;
    }
    this.log.info(`${who} asked to ${action} (host.${action}())`);
    if (action === 'reload') void this.reload();
    else void this.stop({ fast: false, reason: 'shutdown', exitCode: 0 });
  }

  private stopWorker(worker: WorkerRecord, reason: WorkerExitReason, fast = false): void {
    if (worker.state === 'stopping' && !fast) return;
    worker.state = 'stopping';
    worker.stopReason ??= reason;
    this.unroute(worker);
    if (worker.child.connected) worker.child.send({ t: 'stop', reason, fast } satisfies ToWorker);
    const s = this.config.settings;
    const hookMs = s.hook_timeout * 1000;
    // The worker may drain for graceful_timeout, then wait for post_request and run worker_exit.
    const deadline = fast ? 2 * FAST_HOOK_TIMEOUT_MS + 1000 : hookMs > 0 ? s.graceful_timeout * 1000 + 2 * hookMs + 1000 : null;
    if (worker.stopTimer) clearTimeout(worker.stopTimer);
    if (deadline !== null) {
      worker.stopTimer = setTimeout(() => {
        this.log.warn(`worker ${worker.info.id} (pid ${worker.info.pid}) did not exit in time; killing it`);
        worker.killedFor = 'deadline';
        worker.child.kill('SIGKILL');
      }, deadline);
    }
  }

  private onExit(worker: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    if (worker.stopTimer) clearTimeout(worker.stopTimer);
    const wasBooting = worker.readyAt === null;
    const reason = exitReason(worker, code, signal);
    this.workers.delete(worker);
    this.unroute(worker);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const message = `worker ${worker.info.id} (pid ${worker.info.pid}) exited with ${how} (${reason})`;
    if (reason === 'crash' || reason === 'killed' || reason === 'timeout' || reason === 'boot_error') this.log.warn(message);
    else this.log.info(message);

    const info = snapshot(worker.info);
    this.inBackground(runHook(this.rt, 'child_exit', this.config.hooks.child_exit, { worker: info, exit_code: code, exit_signal: signal, reason }, this.exitHookMs));

    if (worker.replaces) worker.replaces.recycling = false;
    if (wasBooting && worker.stopReason === null) {
      this.bootFailed(worker.info.id, worker.info.generation, worker.bootError ?? `exited with ${how} before it was ready`, worker.replaces);
    } else if (!this.stopState && isUnexpected(reason, worker)) {
      const served = worker.readyAt === null ? 0 : Date.now() - worker.readyAt;
      const id = worker.info.id;
      this.failures.set(id, served >= STABLE_AFTER_MS ? 0 : (this.failures.get(id) ?? 0) + 1);
      this.ensureWorkers();
    }
    this.changed();
  }

  private inBackground(hook: Promise<void>): void {
    const tracked = hook.finally(() => {
      this.background.delete(tracked);
      this.changed();
    });
    this.background.add(tracked);
  }

  /** A worker of `generation` could not boot. Decides: retry with backoff, abandon a reload, or give up. */
  private bootFailed(id: number, generation: number, why: string, replacing: WorkerRecord | null): void {
    this.log.error(`worker ${id} failed to boot: ${why}`);
    if (this.stopState) return this.changed();
    if (this.reloadState && generation === this.generation) {
      this.reloadState.failed ??= `worker ${id} of the new generation could not boot (see above)`;
      return this.changed();
    }
    if (generation !== this.generation) return this.changed();
    this.failures.set(id, (this.failures.get(id) ?? 0) + 1);
    if (!this.everReady && ++this.bootFailures >= this.target + 2) {
      this.gaveUp = new HostdError('HOSTD_ERR_WORKER_BOOT', `workers cannot boot; the last cause: ${why}`);
      this.log.critical(this.gaveUp.message);
      void this.stop({ fast: false, reason: 'boot_error', exitCode: this.gaveUp.exitCode });
      return;
    }
    if (replacing && replacing.state === 'serving') {
      // The old worker keeps serving; try its replacement again after the backoff.
      setTimeout(() => this.recycle(replacing), backoffMs(this.failures.get(id) ?? 1)).unref();
    } else {
      this.ensureWorkers();
    }
    this.changed();
  }

  private superviseHeartbeats(): void {
    const timeoutMs = this.config.settings.timeout * 1000;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (timeoutMs <= 0) return;
    this.heartbeatTimer = setInterval(
      () => {
        const now = Date.now();
        for (const worker of this.workers) {
          if (worker.state === 'stopping' || worker.killedFor !== null || now - worker.lastHeartbeat <= timeoutMs) continue;
          this.log.critical(`WORKER TIMEOUT: worker ${worker.info.id} (pid ${worker.info.pid}) sent no heartbeat for ${timeoutMs / 1000} s; killing it`);
          worker.killedFor = 'timeout';
          worker.child.kill('SIGKILL');
        }
      },
      Math.max(20, Math.min(1000, timeoutMs / 4)),
    );
  }

  // ---- signals ----------------------------------------------------------------------

  private installSignals(): void {
    const on = (signal: NodeJS.Signals, handler: () => void) =>
      process.on(signal, () => {
        this.log.info(`Handling signal: ${signal.slice(3).toLowerCase()}`);
        handler();
      });
    on('SIGTERM', () => void this.stop({ fast: false, reason: 'shutdown', exitCode: 0 }));
    on('SIGINT', () => void this.stop({ fast: true, reason: 'interrupt', exitCode: 0 }));
    on('SIGQUIT', () => void this.stop({ fast: true, reason: 'interrupt', exitCode: 0 }));
    on('SIGHUP', () => void this.reload());
    on('SIGTTIN', () => this.scale(+1));
    on('SIGTTOU', () => this.scale(-1));
    on('SIGUSR1', () => this.reopenLogs());
    process.on('uncaughtException', (error) => this.crashed(error));
    process.on('unhandledRejection', (error) => this.crashed(error));
  }

  private crashed(error: unknown): void {
    this.log.critical('unexpected error in the primary:', error);
    if (this.stopState) {
      if (!this.stopState.fast) this.escalate();
      return;
    }
    void this.stop({ fast: true, reason: 'error', exitCode: 1 });
  }

  private reopenLogs(): void {
    this.log.reopen();
    for (const worker of this.workers) if (worker.child.connected) worker.child.send({ t: 'reopen_logs' } satisfies ToWorker);
    this.log.info('reopened the log files');
  }

  private scale(delta: 1 | -1): void {
    if (this.phase !== 'running') {
      this.log.warn(`ignoring ${delta > 0 ? 'TTIN' : 'TTOU'} while ${this.phase}`);
      return;
    }
    const old = this.target;
    this.target = Math.max(1, this.target + delta);
    if (this.target === old) {
      this.log.info('already at 1 worker; TTOU ignored');
      return;
    }
    this.log.info(`workers: ${old} → ${this.target}`);
    this.ensureWorkers();
    this.inBackground(runHook(this.rt, 'nworkers_changed', this.config.hooks.nworkers_changed, { new: this.target, old }, this.hookMs));
  }

  // ---- reload -----------------------------------------------------------------------

  private async reload(): Promise<void> {
    if (this.phase === 'reloading') {
      this.reloadPending = true;
      return;
    }
    if (this.phase !== 'running') {
      this.log.warn(`ignoring HUP while ${this.phase}`);
      return;
    }
    this.phase = 'reloading';
    try {
      await this.reloadOnce();
    } finally {
      if (!this.stopState) this.phase = 'running';
    }
    if (this.reloadPending && !this.stopState) {
      this.reloadPending = false;
      await this.reload();
    }
  }

  private async reloadOnce(): Promise<void> {
    this.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading' });
    try {
      await this.reloadGeneration();
    } finally {
      if (!this.stopState) this.notify({ READY: 1, STATUS: this.status() });
    }
  }

  private async reloadGeneration(): Promise<void> {
    let next: ResolvedConfig;
    try {
      next = await resolveConfig(this.inputs);
    } catch (error) {
      const lines = error instanceof ConfigInvalidError ? error.issues.map(formatIssue) : [error instanceof HostdError ? error.message : userStack(error)];
      this.log.error(`reload: the config is invalid; nothing changed:\n${lines.join('\n')}`);
      return;
    }
    if (this.stopState) return;
    const nextRt = this.hookRuntime(next);
    try {
      await runHook(nextRt, 'on_reload', next.hooks.on_reload, { previous: this.config.settings }, next.settings.hook_timeout * 1000);
    } catch (error) {
      this.log.error(`reload abandoned, the old config and workers keep serving: ${(error as Error).message}`);
      return;
    }

    const s = next.settings;
    const added = s.bind.filter((b) => !this.listeners.some((l) => l.address === b));
    let newListeners: Listener[];
    try {
      newListeners = await openListeners(added, s.backlog, s.certfile ? 'https' : 'http', (socket) => this.dispatch(socket));
    } catch (error) {
      this.log.error(`reload abandoned: ${(error as Error).message}`);
      return;
    }
    const previous = { config: this.config, rt: this.rt, generation: this.generation, target: this.target };
    this.config = next;
    this.rt = nextRt;
    this.log.configure({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: 'primary' });
    this.target = workerCount(s.workers);
    this.generation++;
    this.listeners.push(...newListeners);
    for (const listener of newListeners) this.log.info(`Listening at: ${listener.url} (${process.pid})`);
    this.reloadState = { failed: null };
    this.log.info(`reloading: starting generation ${this.generation} (${counted(this.target, 'worker')})`);
    for (const worker of this.workers) {
      if (worker.child.connected && worker.state === 'serving') worker.child.send({ t: 'reload', generation: this.generation } satisfies ToWorker);
    }
    this.ensureWorkers();

    const outcome = await this.waitFor(() =>
      this.stopState ? 'stopped' : this.reloadState!.failed !== null ? 'failed' : this.readyCount(this.generation) >= this.target ? 'ready' : undefined,
    );
    const failed = this.reloadState.failed;
    this.reloadState = null;
    const fresh = [...this.workers].filter((w) => w.info.generation === this.generation);
    const stale = [...this.workers].filter((w) => w.info.generation < this.generation);
    if (outcome === 'stopped') return;
    if (outcome === 'failed') {
      for (const worker of fresh) this.stopWorker(worker, 'reload');
      for (const id of this.spawning.keys()) this.cancelSpawn(id);
      this.config = previous.config;
      this.rt = previous.rt;
      this.target = previous.target;
      this.generation = previous.generation;
      const ps = previous.config.settings;
      this.log.configure({ errorlog: ps.errorlog, loglevel: ps.loglevel, log_format: ps.log_format, process: 'primary' });
      closeListeners(newListeners);
      this.listeners = this.listeners.filter((l) => !newListeners.includes(l));
      this.log.error(`reload failed: ${failed}; generation ${previous.generation} keeps serving`);
      this.ensureWorkers();
      return;
    }
    for (const worker of fresh) if (worker.state === 'serving') this.route(worker);
    for (const worker of stale) this.stopWorker(worker, 'reload');
    const removed = this.listeners.filter((l) => !s.bind.includes(l.address));
    this.listeners = this.listeners.filter((l) => !removed.includes(l));
    closeListeners(removed);
    this.superviseHeartbeats();
    this.watchFiles();
    this.log.info(`reloaded: generation ${this.generation} is serving`);
    if (previous.target !== this.target) {
      await runHook(this.rt, 'nworkers_changed', this.config.hooks.nworkers_changed, { new: this.target, old: previous.target }, this.hookMs);
    }
  }

  private cancelSpawn(id: number): void {
    const pending = this.spawning.get(id);
    if (pending !== undefined && pending !== 'now') clearTimeout(pending);
    this.spawning.delete(id);
  }

  // ---- stopping ---------------------------------------------------------------------

  /** Stops serving and every worker; `fast` skips the drain. A second call escalates. */
  async stop(how: { fast: boolean; reason: PrimaryExitReason; exitCode: number }): Promise<void> {
    if (this.stopState) {
      if (this.stopState.fast) {
        this.log.warn('stop signal while stopping fast: killing the workers now');
        for (const worker of this.workers) {
          worker.killedFor = 'deadline';
          worker.child.kill('SIGKILL');
        }
      } else if (how.fast || how.reason === 'shutdown') {
        this.escalate();
      }
      return;
    }
    this.stopState = { ...how };
    this.phase = 'stopping';
    this.log.info(`Shutting down (${how.reason}${how.fast ? ', fast' : ''})`);
    this.notify({ STOPPING: 1, STATUS: 'stopping' });
    this.watcher?.close();
    for (const id of [...this.spawning.keys()]) this.cancelSpawn(id);
    await this.drainDelay();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    closeListeners(this.listeners);
    // Connections already accepted still get served by a worker that is draining.
    const alive = [...this.workers].find((w) => w.state === 'serving');
    for (const socket of this.waiting.splice(0)) {
      if (alive?.child.connected) alive.child.send({ t: 'conn' } satisfies ToWorker, socket);
      else socket.destroy();
    }
    // A second signal during drain_delay may have made this a fast stop already.
    for (const worker of this.workers) this.stopWorker(worker, 'shutdown', this.stopState.fast);
    this.changed();
    await this.waitFor(() => (this.workers.size === 0 && this.background.size === 0 ? true : undefined));
    await this.finish(this.stopState.exitCode, this.stopState.reason);
  }

  /**
   * drain_delay: before a graceful stop, keep serving while readiness probes answer 503,
   * so load balancers take the instance out first. A second signal cuts it short.
   */
  private async drainDelay(): Promise<void> {
    const seconds = this.config.settings.drain_delay;
    if (this.stopState?.fast || seconds <= 0 || this.workers.size === 0) return;
    this.log.info(`draining: readiness answers 503 for ${seconds} s while the workers keep serving; then the graceful stop`);
    for (const worker of this.workers) if (worker.child.connected) worker.child.send({ t: 'unready' } satisfies ToWorker);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, seconds * 1000);
      this.escalation.signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** A second stop signal: hooks' signals abort, workers switch to a fast stop. */
  private escalate(): void {
    if (!this.stopState || this.stopState.fast) return;
    this.stopState.fast = true;
    this.escalation.abort();
    for (const worker of this.workers) this.stopWorker(worker, worker.stopReason ?? 'shutdown', true);
  }

  /** The one way out: `on_exit` exactly once, pidfile removed. Resolves with the exit code. */
  private finish(exitCode: number, reason: PrimaryExitReason): Promise<number> {
    this.finished ??= (async () => {
      this.stopState ??= { fast: false, reason, exitCode };
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      if (this.watchdogTimer) clearInterval(this.watchdogTimer);
      this.watcher?.close();
      this.reaper?.stop();
      await runHook(this.rt, 'on_exit', this.config.hooks.on_exit, { exit_code: exitCode, reason }, this.exitHookMs);
      if (this.config.settings.pidfile !== null) removePidfile(this.config.settings.pidfile);
      const log = exitCode === 0 ? this.log.info.bind(this.log) : this.log.error.bind(this.log);
      log(`hostd stopped (${reason}), exit code ${exitCode}`);
      this.resolveDone(exitCode);
      return exitCode;
    })();
    return this.finished;
  }

  /** Why the primary gave up on booting workers, if it did (exit code 3). */
  get bootFailure(): HostdError | null {
    return this.gaveUp;
  }
}

function isUnexpected(reason: ChildExitReason, worker: WorkerRecord): boolean {
  return worker.stopReason === null || reason === 'crash' || reason === 'killed' || reason === 'timeout';
}

/**
 * The primary's shell: it performs what the supervisor core decides (fork, IPC, signals,
 * timers, listeners, hooks) and feeds back what happened, one event at a time. It makes
 * no decision of its own; the few things it computes are I/O (a worker's random
 * `max_requests` jitter, the CPU count behind `workers: "auto"`).
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { closeSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownUrlCount, NATIVE_TYPESCRIPT } from '../../config/native.ts';
import { type ConfigInputs, releaseConfig } from '../../config/resolve.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { ConfigInvalidError, formatIssue, HostdError } from '../../errors.ts';
import type { ServerInfo } from '../../hooks/contexts.ts';
import { MAX_TIMER_MS } from '../../timers.ts';
import { VERSION } from '../../version.ts';
import { type HookRuntime, runHook } from '../hooks/runner.ts';
import { heartbeatMs, parseToPrimary, type ToWorker, type WorkerBoot } from '../ipc.ts';
import { ErrorLog, userStack } from '../log.ts';
import { Dispatcher, type ProxyClients } from './dispatcher.ts';
import { type Inheritance, startSuccessor, TAKEN, tellPredecessor, upgradeRefusal } from './upgrade.ts';
import { native } from '../native.ts';
import { trusts } from '../proxy/trusted.ts';
import { type Integration, integrations, type PrimaryView, type Waiting } from './integrations.ts';
import { type AcceptedHandle, closeListeners, type Listener, listenerFd, openListeners } from './listeners.ts';
import type { Command, CoreAnswer, CoreRequest, Event, PrimaryHook, PrimarySignal, RunHook, TimerKey } from './events.ts';
import { currentFolder, enterFolder, type Folder, generationInfo, resolveGeneration } from './generation.ts';
import { Supervisor } from './supervisor.ts';
import { forkWorker, workerFlags } from './worker-process.ts';
import { cgroupMemoryLimit } from '../memory.ts';
import { setProcessTitle } from '../title.ts';
import { MetricsEndpoint } from './metrics.ts';

/** How long an old primary waits, as it exits, for the new one to take the connections it forwarded. */
const HAND_OVER_WAIT_MS = 2000;


const SIGNALS: readonly PrimarySignal[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2'];
/**
 * Signals hostd does not use whose default action would end the primary at once (no drain,
 * no on_exit, workers left to notice): sent by an operator or the system to say "go down"
 * (a UPS's PWR, RLIMIT_CPU's XCPU, a stray ALRM), each is a graceful stop, as TERM, and said.
 * Not here: PROF (profilers use it), the faults (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS) and
 * KILL, which end it as they would any process (docs/running.md).
 */
const STOP_INSTEAD = (['SIGALRM', 'SIGVTALRM', 'SIGIO', 'SIGPWR', 'SIGXCPU', 'SIGSTKFLT'] as const).filter((name) => constants.signals[name] !== undefined);

interface Generation {
  readonly number: number;
  readonly config: ResolvedConfig;
  readonly rt: HookRuntime;
  /** Its hooks running now: a generation forgotten meanwhile keeps its config's modules until they end. */
  hooks: number;
  forgotten: boolean;
  /** The folder it was resolved in (`chdir`, a release's real folder): its workers start there, whatever folder a later reload entered. */
  readonly folder: Folder;
}

function errorText(error: unknown): string {
  return error instanceof ConfigInvalidError ? error.issues.map(formatIssue).join('\n') : error instanceof HostdError ? error.message : userStack(error);
}

export class PrimaryShell {
  private readonly core: Supervisor;
  private readonly log: ErrorLog;
  private readonly startedAt = new Date();
  private readonly escalation = new AbortController();
  private readonly generations = new Map<number, Generation>();
  private current = 1;
  private readonly children = new Map<number, ChildProcess>();
  /** Workers (by age) whose IPC channel is open: past a worker's exit, until the messages it sent before it are read. */
  private readonly channels = new Set<number>();
  /** A private folder (0700) where workers' watchdogs record the stack they are stuck in; made on first use. */
  private stackDir: string | null = null;
  /** Read once: `--max-old-space-size=auto` shares it among the workers. */
  private readonly memoryLimit = cgroupMemoryLimit();
  /** Each worker's slot (its id: 1..workers), for sticky sessions. */
  private readonly slots = new Map<number, number>();
  private readonly timers = new Map<TimerKey, NodeJS.Timeout>();
  /** Control requests waiting for the core's answer, by id. */
  private readonly requests = new Map<number, (answer: CoreAnswer) => void>();
  private requestIds = 0;
  private listeners: Listener[] = [];
  private readonly dispatcher: Dispatcher;
  private readonly integrations: readonly Integration[] = integrations();
  private readonly view: PrimaryView;
  private readonly queue: Event[] = [];
  private busy = false;
  private exited!: (code: number) => void;
  /** `metrics_bind`'s endpoint, opened with the first binds, at the first generation's address for the primary's life. */
  private readonly metrics: MetricsEndpoint;
  private readonly metricsBind: string | null;
  /** The last critical line, for the terminal when the error log is a file. */
  lastCritical: string | null = null;

  /** The listening sockets an upgrade handed over, by bind address, until the first binds are opened. */
  private inherited: ReadonlyMap<string, number> | undefined;

  /**
   * The new primary of upgrade `token`: starting, then, once taken on (`serving`), where every
   * connection goes; one turned down stays here until it has exited.
   */
  private successor: { readonly token: number; readonly child: ChildProcess; serving: boolean } | null = null;

  constructor(
    config: ResolvedConfig,
    private readonly inputs: ConfigInputs,
    /** What this primary inherited from the one it replaces (an upgrade), or null. */
    private readonly inheritance: Inheritance | null = null,
  ) {
    this.inherited = inheritance?.binds;
    const s = config.settings;
    this.log = new ErrorLog({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: 'primary' });
    this.dispatcher = new Dispatcher(this.log);
    this.generations.set(1, this.generation(1, config));
    this.core = new Supervisor(generationInfo(1, config));
    const shell = this;
    this.metricsBind = s.metrics_bind;
    this.metrics = new MetricsEndpoint({
      counters: this.core.counters,
      startedAt: this.startedAt,
      workers: () => this.core.workerViews(),
      waiting: () => this.dispatcher.waitingCount,
      queue: () => this.dispatcher.queued,
      generation: () => this.core.generation,
      target: () => this.core.workerTarget,
      send: (age, message) => {
        if (!this.children.get(age)?.connected) return false;
        this.send(age, message);
        return true;
      },
      collecting: (age, ms) => this.dispatch({ t: 'collecting', age, ms }),
      collected: (age, answered) => this.dispatch({ t: 'collected', age, answered }),
      channels: () => this.channels,
      awake: () => this.core.awakeTime(performance.now()),
      log: (level, message) => this.log.log(level, message),
    });
    this.view = {
      get config() {
        return shell.generations.get(shell.current)!.config;
      },
      log: this.log,
      urls: () => this.listeners.map((l) => l.url),
      workers: () => this.core.workerTarget,
      isWorker: (pid) => [...this.children.values()].some((child) => child.pid === pid),
      changed: (file) => this.dispatch({ t: 'changed', file }),
      broadcast: (message) => {
        for (const age of this.children.keys()) this.send(age, message);
      },
      signal: (signal) => {
        this.log.info(`Handling ${signal.slice(3).toLowerCase()} from the control socket`);
        this.dispatch({ t: 'signal', signal });
      },
      request: (request) => this.request(request),
      waitsFor: (id) => this.waitsFor(id),
      stopMode: () => this.core.stopMode,
      status: () => this.status(),
      upgradedFrom: () => this.inheritance?.from ?? null,
      upgradedTo: () => (this.successor?.serving ? (this.successor.child.pid ?? null) : null),
    };
  }

  private generation(number: number, config: ResolvedConfig): Generation {
    const server: ServerInfo = Object.freeze({ pid: process.pid, config: config.settings, started_at: this.startedAt, version: VERSION });
    return { number, config, rt: { log: this.log, server, process: 'primary', escalation: this.escalation.signal, stopMode: () => this.core.stopMode }, hooks: 0, forgotten: false, folder: currentFolder() };
  }

  /** A forgotten generation's config is released once none of its hooks runs (an import() they make needs its modules' graph). */
  private release(generation: Generation): void {
    if (!generation.forgotten || generation.hooks > 0) return;
    releaseConfig(generation.config);
    const known = NATIVE_TYPESCRIPT ? `; Node's module hooks know ${knownUrlCount()} URLs of the configs in use` : '';
    this.log.debug(`released generation ${generation.number}'s config modules${known}`);
  }

  /** What `hostd status` shows. */
  private status(): { generation: number } & Record<string, unknown> {
    const now = performance.now();
    const seconds = (ms: number) => Math.round(ms) / 1000;
    const config = this.generations.get(this.current)?.config;
    return {
      pid: process.pid,
      version: VERSION,
      generation: this.core.generation,
      started_at: this.startedAt.toISOString(),
      uptime_seconds: seconds(Date.now() - this.startedAt.getTime()),
      config_file: config?.file ?? null,
      upgraded_from: this.inheritance?.from ?? null,
      binds: this.listeners.map((l) => l.url),
      workers_target: this.core.workerTarget,
      workers: this.core.workerViews().map((w) => ({
        id: w.id,
        pid: w.pid,
        generation: w.generation,
        state: w.state,
        age_seconds: seconds(now - w.forkedAt),
        requests: w.stats.requests,
        in_flight: w.stats.inFlight,
        // Under least_busy, the primary's own count (what dispatch goes by); otherwise the last heartbeat's.
        connections: this.dispatcher.leastBusy && this.children.has(w.age) ? this.dispatcher.openCount(this.children.get(w.age)!) : w.connections,
        // Handed over and not taken yet: a worker whose event loop is blocked shows them here.
        pending: this.children.has(w.age) ? this.dispatcher.pendingCount(this.children.get(w.age)!) : 0,
        // A process always holds some memory: 0 is a worker whose heartbeats have not told it yet (null: not known).
        rss_bytes: w.stats.rssBytes > 0 ? w.stats.rssBytes : null,
        heap_used_bytes: w.stats.heapUsedBytes > 0 ? w.stats.heapUsedBytes : null,
        last_heartbeat_seconds_ago: seconds(now - w.lastHeartbeat),
      })),
    };
  }

  /** A control command for the core: its id (what `waitsFor` asks about) and its answer. */
  private request(request: CoreRequest): { readonly id: number; readonly answer: Promise<CoreAnswer> } {
    const id = ++this.requestIds;
    this.log.info(`Handling ${request.t === 'scale' ? `scale ${request.relative && request.n >= 0 ? '+' : ''}${request.n}` : request.t} from the control socket`);
    const answer = new Promise<CoreAnswer>((resolve) => this.requests.set(id, resolve));
    this.dispatch({ t: 'request', id, request });
    return { id, answer };
  }

  /** What request `id` waits for, as the core says, with each generation's config and each limit in seconds from now. */
  private waitsFor(id: number): Waiting[] | null {
    const now = performance.now();
    const configOf = (generation: number) => (this.generations.get(generation) ?? this.generations.get(this.current)!).config;
    return (
      this.core.waitsFor(id)?.map((wait): Waiting => {
        if (wait.t === 'reload') return { t: 'reload', own: wait.own, from: configOf(wait.from), switched: wait.switched };
        if (wait.t === 'upgrade') return { t: 'upgrade', own: wait.own, secondsLeft: wait.until === null ? null : Math.max(0, wait.until - this.core.awakeTime(now)) / 1000, plan: wait.plan };
        return wait;
      }) ?? null
    );
  }

  /** Runs the primary until it exits; resolves with the exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.exited = resolve));
    setProcessTitle('primary', this.generations.get(1)!.config.settings.proc_name);
    for (const signal of SIGNALS) {
      process.on(signal, () => {
        this.log.info(`Handling signal: ${signal.slice(3).toLowerCase()}`);
        this.dispatch({ t: 'signal', signal });
      });
    }
    for (const signal of STOP_INSTEAD) {
      process.on(signal, () => {
        this.log.warn(`Handling signal: ${signal.slice(3).toLowerCase()}, which hostd does not use: stopping gracefully, as on TERM`);
        this.dispatch({ t: 'signal', signal: 'SIGTERM' });
      });
    }
    if (this.inheritance !== null) {
      // Until it exits, the primary this one replaces forwards the connections it still accepts.
      process.on('message', (message: unknown, handle: unknown) => {
        if ((message as { t?: unknown } | null)?.t === 'conn' && typeof handle === 'object' && handle !== null) this.dispatcher.dispatch(handle as AcceptedHandle);
      });
      // Its exit (the channel closing) must not keep or end this one.
      process.on('disconnect', () => this.log.debug('the primary this one replaced has exited'));
      process.channel?.unref();
    }
    const crashed = (error: unknown) => this.dispatch({ t: 'crashed', error: userStack(error) });
    process.on('uncaughtException', crashed);
    process.on('unhandledRejection', crashed);
    this.log.info(`Starting hostd ${VERSION} (pid ${process.pid})`);
    this.dispatch({ t: 'start' });
    return done;
  }

  /** Feeds one event to the core and performs its commands; events they cause queue behind it. */
  private dispatch(event: Event): void {
    this.queue.push(event);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        for (const command of this.core.handle(next, performance.now())) this.perform(command);
      }
    } finally {
      this.busy = false;
    }
  }

  private perform(c: Command): void {
    switch (c.t) {
      case 'run_hook':
        return this.runHook(c);
      case 'listen':
        return void this.listen(c.token, c.binds, c.generation);
      case 'upgrade':
        return this.startUpgrade(c.token);
      case 'successor': {
        const successor = this.successor;
        if (successor?.token !== c.upgrade || successor.serving) return;
        if (c.take) return this.forwardTo(successor);
        successor.child.kill(c.kill ? 'SIGKILL' : 'SIGTERM');
        return;
      }
      case 'unlisten': {
        // Handed over: the listeners stay open, forwarding to the new primary (closing a unix one would remove its file).
        if (this.successor?.serving) return;
        const closing = this.listeners.filter((l) => c.binds.includes(l.address));
        this.listeners = this.listeners.filter((l) => !closing.includes(l));
        return closeListeners(closing);
      }
      case 'resolve':
        resolveGeneration(this.inputs).then(
          (config) => {
            this.generations.set(c.generation, this.generation(c.generation, config));
            this.dispatch({ t: 'resolved', token: c.token, generation: generationInfo(c.generation, config) });
          },
          (error: unknown) => this.dispatch({ t: 'rejected', token: c.token, problems: errorText(error) }),
        );
        return;
      case 'forget': {
        const generation = this.generations.get(c.generation);
        this.generations.delete(c.generation);
        if (generation === undefined) return;
        generation.forgotten = true;
        return this.release(generation);
      }
      case 'use': {
        this.current = c.generation;
        const s = this.generations.get(c.generation)!.config.settings;
        try {
          this.log.configure({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: 'primary' });
        } catch (error) {
          this.log.error(`${errorText(error)}; the error log stays where it was`);
        }
        this.dispatcher.backlog = s.backlog;
        if (s.metrics_bind !== this.metricsBind) this.log.warn(`metrics_bind changed to ${s.metrics_bind}; it takes effect when hostd restarts (now: ${this.metricsBind})`);
        this.dispatcher.sticky = s.sticky_sessions;
        this.dispatcher.proxyClients = this.proxyClients(s);
        this.dispatcher.leastBusy = s.dispatch === 'least_busy';
        if (s.max_memory === 'auto' && this.memoryLimit === null) this.log.info('max_memory: "auto" is off: this process has no cgroup memory limit');
        for (const integration of this.integrations) integration.using?.(this.view);
        return;
      }
      case 'fork':
        return this.fork(c.age, c.id, c.generation);
      case 'send':
        return this.send(c.age, c.message);
      case 'kill':
        if (c.why === 'timeout') this.collectStack(c.age);
        this.children.get(c.age)?.kill('SIGKILL');
        return;
      case 'route':
        if (this.successor?.serving) return;
        return this.dispatcher.setRoutes(
          c.ages.flatMap((age) => {
            const child = this.children.get(age);
            return child === undefined ? [] : [{ child, slot: this.slots.get(age)! }];
          }),
          c.slots,
        );
      case 'hand_over':
        if (this.successor?.serving) return this.dispatcher.handOver(this.successor.child);
        return this.dispatcher.handOver(c.age === null ? null : (this.children.get(c.age) ?? null));
      case 'timer':
        return this.timer(c.name, c.ms);
      case 'reply': {
        const answer = this.requests.get(c.id);
        this.requests.delete(c.id);
        return answer?.(c.answer);
      }
      case 'log':
        if (c.level === 'critical') this.lastCritical = c.message;
        return this.log.log(c.level, c.message);
      case 'escalate':
        return this.escalation.abort();
      case 'reopen_logs': {
        const problem = this.log.reopen();
        if (problem === null) this.log.info('reopened the log files');
        else this.log.error(`USR1: cannot reopen the error log: ${problem}`);
        return;
      }
      case 'lifecycle':
        // However a reload failed (its config, on_reload, a bind, its workers), the primary goes back to the serving generation's folder.
        if (c.event === 'reload_failed') enterFolder(this.generations.get(this.current)!.folder);
        // The new primary of an upgrade takes the pidfile and the control socket ('ready') once the old one took it on (at once from one that does not answer).
        if (c.event === 'ready' && this.inheritance !== null) {
          return void tellPredecessor(this.inheritance.acknowledges).then(() => {
            // Stopping meanwhile (the old primary turned it down, or a signal): the pidfile and the control socket are not this one's to take.
            if (this.core.stopMode === null) this.follow(c.event, c.token);
          });
        }
        return this.follow(c.event, c.token);
      case 'exit':
        this.metrics.close();
        for (const timer of this.timers.values()) clearTimeout(timer);
        if (this.stackDir !== null) rmSync(this.stackDir, { recursive: true, force: true });
        if (this.successor?.serving) return void this.handedOver(this.successor.child).then(() => this.exited(c.code));
        return this.exited(c.code);
    }
  }

  /** Sticky sessions behind PROXY protocol: the client each header names is what is hashed (null: the peer's address). */
  private proxyClients(s: ResolvedConfig['settings']): ProxyClients | null {
    if (!s.sticky_sessions || !s.proxy_protocol) return null;
    const helper = native();
    if (helper === null) {
      this.log.warn("sticky_sessions with proxy_protocol: hostd's native helper is not built here, so the primary cannot read PROXY headers, and sticky sessions go by the balancer's address (one worker gets every connection)");
      return null;
    }
    // headers_timeout 0 (no limit): looked at until the header comes or the connection ends.
    return { trusts: trusts(s.forwarded_allow_ips), limitMs: s.headers_timeout > 0 ? s.headers_timeout * 1000 : Infinity, peekInto: (fd, into) => helper.peekInto(fd, into) };
  }

  /**
   * Starts the new primary of an upgrade on this one's listening sockets; the core hears
   * `upgraded` once it serves (and says whether it takes it on), or `done` with why not.
   */
  private startUpgrade(token: number): void {
    const config = this.generations.get(this.current)!.config;
    const refusal = upgradeRefusal(config) ?? (this.successor !== null ? `the new primary of the last upgrade (pid ${this.successor.child.pid}) has not exited yet` : null);
    if (refusal !== null) return void this.queue.push({ t: 'done', token, failure: refusal });
    const sockets: { address: string; fd: number }[] = [];
    for (const listener of this.listeners) {
      const fd = listenerFd(listener);
      if (fd === null) return void this.queue.push({ t: 'done', token, failure: `the socket of ${listener.address} cannot be handed over (no file descriptor)` });
      sockets.push({ address: listener.address, fd });
    }
    const { child, outcome } = startSuccessor(sockets, this.metrics.fd(), { pid: process.pid, version: VERSION, at: new Date().toISOString() });
    const successor = { token, child, serving: false };
    this.successor = successor;
    this.log.info(`upgrade: the new primary has pid ${child.pid}`);
    // One turned down is forgotten once it has exited (until then another upgrade waits for it).
    child.once('exit', () => {
      if (this.successor === successor && !successor.serving) this.successor = null;
      this.dispatch({ t: 'successor_exited', token });
    });
    void outcome.then((why) => {
      if (why === null) return this.dispatch({ t: 'upgraded', token, pid: child.pid! });
      this.dispatch({ t: 'done', token, failure: `the new primary ${why}` });
    });
  }

  /**
   * Handed over: the new primary accepts on every socket from now on. This one closes its
   * copies of the TCP and fd:// listeners (the kernel's socket, with the connections queued
   * on it, lives on in the new primary); a unix listener stays open (closing it would remove
   * the file both use), and what it still accepts, or what waits here, goes to the new one.
   */
  private forwardTo(successor: { readonly child: ChildProcess; serving: boolean }): void {
    const child = successor.child;
    successor.serving = true;
    if (child.connected) child.send({ t: TAKEN });
    this.dispatcher.sticky = false;
    this.dispatcher.proxyClients = null;
    this.dispatcher.setRoutes([{ child, slot: 1 }], 1);
    const closing = this.listeners.filter((l) => l.bind.type !== 'unix');
    this.listeners = this.listeners.filter((l) => !closing.includes(l));
    closeListeners(closing);
    this.metrics.release();
    child.once('exit', (code, signal) => this.log.warn(`the new primary (pid ${child.pid}) exited (${signal ?? `code ${code}`}) while this one was stopping`));
  }

  /** Before exiting: the connections forwarded to the new primary are in its hands (at most HAND_OVER_WAIT_MS). */
  private async handedOver(child: ChildProcess): Promise<void> {
    for (const until = performance.now() + HAND_OVER_WAIT_MS; this.dispatcher.pendingCount(child) > 0 && child.connected && performance.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Runs a primary hook of a generation with the fields the core gave it; its outcome comes back as `done`. */
  private runHook<H extends PrimaryHook>(c: RunHook<H>): void {
    const generation = this.generations.get(c.generation)!;
    generation.hooks++;
    void runHook(generation.rt, c.hook, generation.config.hooks[c.hook], c.fields)
      .finally(() => {
        generation.hooks--;
        this.release(generation);
      })
      .then(
        (failure) => this.dispatch({ t: 'done', token: c.token, failure: failure?.message ?? null }),
        (error: unknown) => this.dispatch({ t: 'done', token: c.token, failure: errorText(error) }),
      );
  }

  private async listen(token: number, binds: readonly string[], generation: number): Promise<void> {
    const s = this.generations.get(generation)!.config.settings;
    let failure: string | null = null;
    try {
      const options = { backlog: s.backlog, scheme: s.certfile ? 'https' : 'http', unixMode: s.unix_mode, unixGroup: s.unix_group } as const;
      // What an upgrade handed over serves the first binds only; a later reload binds anew.
      const inherited = this.inherited;
      this.inherited = undefined;
      const opened = await openListeners(binds, options, { handle: this.dispatcher.dispatch }, inherited);
      for (const [address, fd] of inherited ?? []) {
        if (binds.includes(address)) continue;
        // A bind the new config dropped: closed, so that its clients are refused rather than left waiting.
        closeSync(fd);
        this.log.warn(`upgrade: ${address} is not among the binds of the config now; its socket from the old primary is closed`);
      }
      // Opened with the first binds, so that a metrics_bind that cannot be bound aborts the start like any bind.
      if (this.metricsBind !== null && this.metrics.address === null) {
        try {
          const url = await this.metrics.open(this.metricsBind, this.inheritance?.metrics ?? null);
          this.log.info(`Metrics at: ${url}/metrics`);
        } catch (error) {
          closeListeners(opened);
          throw error;
        }
      }
      this.listeners.push(...opened);
      for (const listener of opened) this.log.info(`Listening at: ${listener.url} (${process.pid})`);
    } catch (error) {
      failure = errorText(error);
    }
    this.dispatch({ t: 'done', token, failure });
  }

  /** Tells every integration; with a token, the first failure is the answer. */
  private follow(event: Parameters<Integration['on']>[0], token: number | undefined): void {
    const failure = this.announce(event, token === undefined);
    if (token !== undefined) this.queue.push({ t: 'done', token, failure });
  }

  /** Tells every integration of `event`; the first failure, logged here when no one waits for it. */
  private announce(event: Parameters<Integration['on']>[0], log = false): string | null {
    let failure: string | null = null;
    for (const integration of this.integrations) {
      try {
        integration.on(event, this.view);
      } catch (error) {
        failure ??= errorText(error);
        if (log) this.log.error(failure);
      }
    }
    return failure;
  }

  private fork(age: number, id: number, number: number): void {
    const { config, folder } = this.generations.get(number)!;
    const s = config.settings;
    const flags = workerFlags(s.worker_exec_argv, id, generationInfo(number, config).workers, this.memoryLimit);
    let child: ChildProcess;
    try {
      child = forkWorker(s.env, flags.execArgv, folder);
    } catch (error) {
      return this.notStarted(age, error as Error);
    }
    if (flags.note !== null) this.log.info(`worker ${id}: ${flags.note}`);
    if (flags.inspector !== null) this.log.info(`worker ${id} (pid ${child.pid}): inspector at ${flags.inspector}`);
    this.children.set(age, child);
    this.channels.add(age);
    // Messages sent before the exit are read before the channel closes, not always before 'exit'.
    for (const closed of ['disconnect', 'close'] as const) child.once(closed, () => this.channels.delete(age));
    this.slots.set(age, id);
    this.dispatcher.track(child);
    const unknown = { count: 0, since: -Infinity };
    child.on('message', (raw: unknown) => {
      const message = parseToPrimary(raw);
      if (message === null) return this.ignore(`worker ${id} (pid ${child.pid})`, unknown);
      if (message.t === 'metrics') return this.metrics.answer(age, message);
      if (message.t === 'closed') return this.dispatcher.closed(child, message.n);
      try {
        this.dispatch({ t: 'message', age, message });
      } catch (error) {
        // A message is one worker's affair: a bug in handling it must not stop every worker.
        this.log.error(`hostd: handling a message from worker ${id} failed (please report it): ${userStack(error)}`);
      }
    });
    child.on('error', (error) => {
      if (child.pid === undefined) this.notStarted(age, error);
      else this.log.error(`worker ${id} (pid ${child.pid}): ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      this.children.delete(age);
      this.slots.delete(age);
      this.dispatch({ t: 'exited', age, code, signal });
    });
    const jitter = s.max_requests_jitter > 0 ? Math.floor(Math.random() * (s.max_requests_jitter + 1)) : 0;
    const boot: WorkerBoot = {
      id,
      age,
      generation: number,
      primary: { pid: process.pid, started_at: this.startedAt.toISOString(), version: VERSION },
      inputs: { ...this.inputs, modules: config.modules, transforms: config.transforms, loaders: config.loaders },
      settings: s,
      tls: config.tls,
      max_requests: s.max_requests > 0 ? s.max_requests + jitter : 0,
      heartbeat_ms: heartbeatMs(s),
      stack_file: s.timeout > 0 ? this.stackFile(age) : null,
    };
    this.send(age, { t: 'boot', boot });
    if (child.pid !== undefined) this.queue.push({ t: 'forked', age, pid: child.pid });
  }

  private stackFile(age: number): string | null {
    try {
      this.stackDir ??= mkdtempSync(join(tmpdir(), 'hostd-stacks-'));
    } catch {
      return null;
    }
    return join(this.stackDir, `worker-${age}.stack`);
  }

  /**
   * A worker about to be killed for `timeout`: the stack its watchdog recorded, logged and
   * handed to the core for `child_exit` (null when there is none, or it cannot be read).
   */
  private collectStack(age: number): void {
    const file = this.stackDir === null ? null : join(this.stackDir, `worker-${age}.stack`);
    let stack: string | null = null;
    if (file !== null) {
      try {
        stack = readFileSync(file, 'utf8').slice(0, 64 * 1024) || null;
        rmSync(file, { force: true });
      } catch {
        stack = null;
      }
    }
    if (stack !== null) this.log.error(`worker ${this.slots.get(age)} (pid ${this.children.get(age)?.pid}) was stuck in:\n${stack}`);
    this.queue.push({ t: 'stack', age, stack });
  }

  /**
   * A message hostd does not know (app code can call process.send too): ignored, and said
   * at most once a minute per worker, with how many there were.
   */
  private ignore(who: string, seen: { count: number; since: number }): void {
    seen.count++;
    const now = performance.now();
    if (now - seen.since < 60_000) return;
    const more = seen.count > 1 ? ` (and ${seen.count - 1} more in the last minute)` : '';
    this.log.warn(`${who} sent a message hostd does not know${more}; ignored`);
    seen.count = 0;
    seen.since = now;
  }

  /** No process could be started (EAGAIN, ENOMEM): a boot failure like any other. */
  private notStarted(age: number, error: Error): void {
    this.children.delete(age);
    this.channels.delete(age);
    this.queue.push({ t: 'message', age, message: { t: 'boot_error', message: `could not start a worker process: ${error.message}` } });
    this.dispatch({ t: 'exited', age, code: null, signal: null });
  }

  private send(age: number, message: ToWorker): void {
    const child = this.children.get(age);
    if (!child?.connected) return;
    // An IPC channel closing under the send is the same as a worker already gone.
    child.send(message, (error) => error && this.log.debug(`could not tell worker (pid ${child.pid}) ${message.t}: ${error.message}`));
  }

  private timer(name: TimerKey, ms: number | null): void {
    const existing = this.timers.get(name);
    if (existing) {
      clearTimeout(existing);
      this.timers.delete(name);
    }
    if (ms === null) return;
    const fire = () => {
      this.timers.delete(name);
      this.dispatch({ t: 'timer', name });
    };
    // Past Node's limit the timer fires early; the core arms it again for what is left.
    this.timers.set(name, setTimeout(fire, Math.min(ms, MAX_TIMER_MS)));
  }
}

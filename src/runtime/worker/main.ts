/**
 * A worker process. Its first message says what it runs: its generation's settings (as
 * data) and the source text of the config and the local modules it imports, which it
 * evaluates instead of the files on disk, so a worker runs exactly the code its primary
 * evaluated for that generation. It runs `post_fork`, loads the app, runs
 * `post_worker_init`, tells the primary it is ready, then serves the connections the
 * primary hands it until it is told to stop. It stops by the stop plan
 * (config/stop-plan.ts), telling the primary each step, so that the primary never kills
 * a worker that is within its deadlines.
 */
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { LOADER_RUNTIME, NATIVE_TYPESCRIPT, probeCount } from '../../config/native.ts';
import { type ReplayedConfig, replayConfig } from '../../config/replay.ts';
import { type StopMode, stopPlan, type StopStepName } from '../../config/stop-plan.ts';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import { HostdError } from '../../errors.ts';
import type { ServerInfo, WorkerInfo } from '../../hooks/contexts.ts';
import { reasonText, type WorkerExitReason } from '../../hooks/reasons.ts';
import { attachHost, hostHandlers, requestHandlers } from '../../host.ts';
import { accessJson, compileAccessFormat } from '../access-log.ts';
import { type HookRuntime, runHook, runHostHandlers, traceRequestHooks, waitWithin } from '../hooks/runner.ts';
import { BOOT_ERROR_EXIT, dispatchMessage, type Handlers, MAX_APP_MESSAGE_BYTES, PRIMARY_MESSAGE_TYPES, type ToPrimary, type ToWorker, type WorkerBoot, type WorkerShape } from '../ipc.ts';
import { BufferedLines, ErrorLog, userStack } from '../log.ts';
import { AppError, isFetchApp, loadApp } from './app.ts';
import { batchedCloses, Connections } from './connections.ts';
import { type Client, requestClient } from './client.ts';
import { fetchListener, incomingOf } from './fetch-adapter.ts';
import { applyServerLimits, checkInterval, withLimits } from './limits.ts';
import { withProbes } from './probes.ts';
import { logUpgrades } from './upgrades.ts';
import { startWatchdog, stopWatchdog } from './watchdog.ts';
import { createHttpsServer } from './tls-server.ts';
import { makeRequestHandler, PendingWork, RequestCounter, type RequestPipeline } from './requests.ts';
import { unlessAborted, WorkerPhase } from './phase.ts';
import { setProcessTitle } from '../title.ts';
import { answerLast, answerScrape, LAST_ANSWER_MS } from './app-metrics.ts';
import type { ScrapePart } from '../metrics/wire.ts';
import { takeHookDurations } from '../metrics/hooks.ts';
import type { WorkerBeatStats } from '../ipc.ts';
import { intakeProxied, type ProxiedIntake, showProxiedClient } from '../proxy/intake.ts';
import { native } from '../native.ts';
import { type Trusts, trusts } from '../proxy/trusted.ts';

/** The worker's config: its generation's hooks, evaluated here, and the settings the primary resolved. */
type WorkerConfig = ReplayedConfig & { readonly settings: Readonly<ResolvedSettings> };

/** hostd's own channel to the primary; app code gets the guarded `process.send` (guardProcessSend). */
const sendToPrimary = process.send?.bind(process);
/** No bytes read ahead of the server: a connection it reads natively from its first byte. */
const NOTHING = Buffer.alloc(0);

/**
 * A connection's bare libuv handle (TCP or Pipe), as the primary sends them (node:cluster's
 * way): wrapped here in a net.Socket, as child_process does for a sent net.Socket.
 */
function isStreamHandle(handle: unknown): handle is object {
  return typeof handle === 'object' && handle !== null && typeof (handle as { readStart?: unknown }).readStart === 'function';
}

function send(message: ToPrimary): void {
  if (process.connected) sendToPrimary!(message);
}

/** A part of a metrics answer; resolves once it was written, so that a large answer never queues whole. */
function sendPart(part: ScrapePart): Promise<boolean> {
  return new Promise((resolve) => (process.connected ? sendToPrimary!(part, undefined, undefined, (error: Error | null) => resolve(error === null)) : resolve(false)));
}

/**
 * `process.send` for app code: the primary reads every message a worker sends, so one that
 * poses as hostd's own (`{ t: 'ready' }` would route connections to a worker not serving)
 * or is too large (the primary parses every byte) is refused at the call, with an error
 * saying why.
 */
function guardProcessSend(): void {
  const original = process.send!.bind(process) as (...args: unknown[]) => boolean;
  process.send = ((message: unknown, ...rest: unknown[]) => {
    const t = (message as { t?: unknown } | null)?.t;
    if (typeof t === 'string' && PRIMARY_MESSAGE_TYPES.has(t)) {
      throw new HostdError('HOSTD_ERR_IPC_MESSAGE', `process.send: messages with t: ${JSON.stringify(t)} are hostd's own; app code cannot send them`);
    }
    const bytes = Buffer.byteLength(JSON.stringify(message) ?? '');
    if (bytes > MAX_APP_MESSAGE_BYTES) {
      throw new HostdError('HOSTD_ERR_IPC_MESSAGE', `process.send: a message of ${bytes} bytes is over the ${MAX_APP_MESSAGE_BYTES} bytes a worker may send to its primary`);
    }
    return original(message, ...rest);
  }) as typeof process.send;
}

class Worker {
  private readonly phase = new WorkerPhase(({ step, detail, ms }) => send({ t: 'progress', step, detail, ms }));
  private readonly info: { -readonly [K in keyof WorkerInfo]: WorkerInfo[K] };
  private log: ErrorLog;
  private config: WorkerConfig | null = null;
  private rt: HookRuntime | null = null;
  private http: Server | null = null;
  private handler: RequestListener | null = null;
  private pipeline: RequestPipeline | null = null;
  private accessLines: BufferedLines | null = null;
  private readonly connections: Connections;
  private readonly requests: RequestCounter;
  private elu = performance.eventLoopUtilization();
  /** The instance is draining (drain_delay): readiness answers 503 though this worker serves on. */
  private unready = false;
  /** forwarded_allow_ips: whose forwarding and PROXY headers are believed. */
  private readonly trusts: Trusts;
  /** Connections closed for a bad PROXY header since the last heartbeat. */
  private proxyErrors = 0;

  constructor(private readonly boot: WorkerBoot) {
    this.info = { id: boot.id, pid: process.pid, age: boot.age, generation: boot.generation, booted_at: null };
    const s = boot.settings;
    this.log = new ErrorLog({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: `worker ${boot.id}` });
    this.trusts = trusts(s.forwarded_allow_ips);
    // The primary picks the least busy worker from what it sent and what each worker closed.
    this.connections = new Connections(s.dispatch === 'least_busy' ? batchedCloses((n) => send({ t: 'closed', n })) : null);
    this.requests = new RequestCounter(boot.max_requests, () => this.recycle());
  }

  async run(): Promise<void> {
    const s = this.boot.settings;
    setProcessTitle(`worker ${this.boot.id}`, s.proc_name);
    setInterval(() => send({ t: 'heartbeat', connections: this.connections.size, stats: this.beatStats() }), this.boot.heartbeat_ms).unref();
    this.listen();
    // Before the config loads: modules it imports may already ask `host.running`.
    attachHost({
      worker: Object.freeze({ id: this.boot.id, pid: process.pid, age: this.boot.age, generation: this.boot.generation }),
      allowAppControl: () => s.allow_app_control,
      control: (action) => send({ t: 'app_control', action }),
      requestObservers: () => this.rebuildHandler(),
      client: (req) => this.client(incomingOf(req)),
    });
    this.log.info(`Booting worker ${this.boot.id} with pid: ${process.pid}`);
    const signal = this.phase.bootSignal;
    try {
      await this.bootApp(signal);
    } catch (error) {
      // Aborted: a stop took over, and says why itself.
      if (!signal.aborted) this.failBoot(error);
      return;
    }
    this.phase.serve();
    this.info.booted_at = new Date();
    send({ t: 'ready', shape: this.shape() });
    // Two heartbeats late is when the primary stops routing to it: a stack is recorded by then.
    if (this.boot.stack_file !== null) setImmediate(() => startWatchdog(this.boot.stack_file!, 2 * this.boot.heartbeat_ms));
  }

  /**
   * Evaluates the config, runs `post_fork`, loads the app, runs `post_worker_init` and puts
   * the app behind the request pipeline; throws what failed. A stop aborts `signal`, which
   * ends the boot at the await it is in.
   */
  private async bootApp(signal: AbortSignal): Promise<void> {
    const s = this.boot.settings;
    this.phase.setStep('config', 'evaluating its config');
    // The hooks come from the generation's sources; the settings are the primary's, as they were resolved.
    const evaluating = performance.now();
    const config: WorkerConfig = (this.config = { ...(await unlessAborted(replayConfig(this.boot.inputs, s.config_timeout), signal)), settings: s });
    if (NATIVE_TYPESCRIPT) {
      // Its primary's runtime is not shown: it came in a message, and this line would trust it.
      const sent = (this.boot.inputs.loaders as { runtime?: unknown } | undefined)?.runtime;
      const other = typeof sent === 'string' && sent !== LOADER_RUNTIME ? `; its primary found who loads them on another runtime than this one, ${LOADER_RUNTIME}` : '';
      this.log.debug(`worker ${this.boot.id}: config evaluated in ${(performance.now() - evaluating).toFixed(1)} ms (${probeCount()} probes of Node's own loading${other})`);
    }
    const server: ServerInfo = Object.freeze({ pid: this.boot.primary.pid, config: s, started_at: new Date(this.boot.primary.started_at), version: this.boot.primary.version });
    this.rt = {
      log: this.log,
      server,
      process: `worker ${this.boot.id}`,
      escalation: this.phase.escalation,
      stopMode: () => this.phase.mode,
      onCall: (what, ms) => this.phase.call(what, ms),
    };
    // A boot hook's later functions still run after a stop aborted the boot; they are no step of the stop.
    const rt: HookRuntime = {
      ...this.rt,
      onCall: (what, ms) => {
        if (!signal.aborted) this.phase.call(what, ms);
      },
    };

    this.phase.setStep('post_fork', 'running post_fork');
    const forkFailure = await unlessAborted(runHook(rt, 'post_fork', config.hooks.post_fork, { worker: this.info }), signal);
    if (forkFailure) throw forkFailure;
    this.phase.setStep('app', `loading the app (${s.app})`);
    // Made before the app, so that a factory can attach to it (WebSocket servers); it takes connections only once serving.
    const http = this.createServer(config);
    const { app } = await unlessAborted(loadApp(s.app!, config.root, { server: http, worker: this.info }), signal);
    this.phase.setStep('post_worker_init', 'running post_worker_init');
    const initFailure = await unlessAborted(runHook(rt, 'post_worker_init', config.hooks.post_worker_init, { worker: this.info, app }), signal);
    if (initFailure) throw initFailure;
    this.serve(config, server, http, isFetchApp(app) ? fetchListener(app, this.boot.tls !== null ? 'https' : 'http') : app);
  }

  /** What this worker counted since its last heartbeat, and its state now. */
  private beatStats(): WorkerBeatStats {
    const requests = this.requests.take();
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const memory = process.memoryUsage();
    return {
      requests,
      in_flight: this.connections.inFlight(),
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      elu: Math.min(1, Math.max(0, elu.utilization || 0)),
      hooks: takeHookDurations(),
      ...(this.proxyErrors > 0 ? { proxy_errors: this.takeProxyErrors() } : {}),
    };
  }

  /** The client of a request behind the proxies forwarded_allow_ips trusts (ctx.client, host.client, %(h)s). */
  private client(req: IncomingMessage): Client {
    return requestClient(req, this.trusts, this.boot.settings.proxy_protocol);
  }

  private takeProxyErrors(): number {
    const n = this.proxyErrors;
    this.proxyErrors = 0;
    return n;
  }

  /** What this worker's stop will call, for the stop plan (the primary plans with the same numbers). */
  private shape(): WorkerShape {
    const hooks = this.config?.hooks;
    return {
      post_request: (hooks?.post_request.length ?? 0) + requestHandlers().size,
      worker_int: hooks?.worker_int.length ?? 0,
      shutdown: hostHandlers('shutdown').length,
      worker_exit: hooks?.worker_exit.length ?? 0,
    };
  }

  /** Signals and messages: a stop can arrive at any point, even while booting. */
  private listen(): void {
    const handlers: Handlers<ToWorker, [unknown]> = {
      boot: () => {},
      conn: (_message, handle) => {
        if (isStreamHandle(handle)) this.accept(new Socket({ handle, readable: true, writable: true } as SocketConstructorOpts));
      },
      stop: (message) => this.requestStop(message.reason, message.mode),
      reopen_logs: () => this.reopenLogs(),
      unready: () => (this.unready = true),
      metrics: (message) => answerScrape(message, this.boot.settings.app, this.config?.root ?? null, sendPart),
      reload: (message) => {
        if (this.rt) void runHostHandlers(this.rt, 'reload', hostHandlers('reload'), (signal) => ({ generation: message.generation, signal }));
      },
    };
    process.on('message', (message: unknown, handle: unknown) => dispatchMessage(handlers, message, handle));
    process.on('SIGTERM', () => this.requestStop('shutdown', 'graceful'));
    process.on('SIGINT', () => this.requestStop('shutdown', 'fast'));
    process.on('SIGQUIT', () => this.requestStop('shutdown', 'fast'));
    process.on('SIGUSR1', () => this.reopenLogs());
    // A terminal's HUP, TTIN and TTOU are for the primary.
    for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(signal, () => {});
    process.on('disconnect', () => {
      // The primary is gone (killed, crashed): no more connections will come; finish what is here.
      this.log.warn(`worker ${this.boot.id}: the primary went away; stopping`);
      this.requestStop('shutdown', 'graceful');
    });
    process.on('uncaughtException', (error) => {
      this.log.critical(`worker ${this.boot.id}: uncaught exception; exiting:`, error);
      this.exit(1);
    });
  }

  private accept(socket: Socket): void {
    if (this.http === null) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    // What an http.Server listening itself does (noDelay defaults to true): no Nagle delay on responses.
    socket.setNoDelay(true);
    const s = this.boot.settings;
    if (s.proxy_protocol) return intakeProxied(socket, native(), this.trusts, s.headers_timeout * 1000, this.proxied);
    this.http.emit('connection', socket);
  }

  /** Where `proxy_protocol` connections go once their header is dealt with. */
  private readonly proxied: ProxiedIntake = { deliver: (socket, rest) => this.deliver(socket, rest), refuse: (socket, reason) => this.refuseProxied(socket, reason) };

  /** A connection without a good PROXY header: closed and counted. */
  private refuseProxied(socket: Socket, reason: string): void {
    this.proxyErrors++;
    this.log.debug(`worker ${this.boot.id}: closed a connection from ${socket.remoteAddress ?? 'a peer gone'}: ${reason}`);
    socket.destroy();
  }

  /** Hands the server a connection whose first bytes were read here: those bytes reach it first. */
  private deliver(socket: Socket, rest: Buffer = NOTHING): void {
    if (this.http === null || socket.destroyed) return void socket.destroy();
    // Nothing read ahead of the server (the native intake takes only the header): as any connection.
    if (rest.length === 0 && socket.readableFlowing === null) return void this.http.emit('connection', socket);
    if (this.boot.tls !== null) {
      // TLS reads its socket's native handle, and first what the socket already buffered.
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      this.http.emit('connection', socket);
      return;
    }
    // HTTP's parser also reads the handle directly, and takes what arrives as 'data' too.
    this.http.emit('connection', socket);
    if (rest.length > 0) socket.emit('data', rest);
  }

  /** The worker's HTTP(S) server, with hostd's limits; it gets no connection until `serve`. */
  private createServer(config: WorkerConfig): Server {
    const s = config.settings;
    const options = {
      keepAliveTimeout: s.keepalive * 1000,
      requestTimeout: s.request_timeout * 1000,
      headersTimeout: s.headers_timeout * 1000,
      maxHeaderSize: s.max_header_size,
    };
    const tls = this.boot.tls;
    const http = tls !== null ? createHttpsServer(options, s, tls) : createHttpServer(options);
    if (tls === null) http.on('connection', (socket: Socket) => this.connections.addHttp(socket));
    else {
      http.on('secureConnection', (socket: Socket) => {
        this.connections.addHttp(socket);
        // A PROXY header named the client on the TCP socket under this TLS one: the app reads it here too.
        showProxiedClient(socket);
      });
    }
    // A refused handshake (no client certificate under cert_reqs "required", one from another CA, a scanner):
    // Node closes the connection either way; at debug level, since anyone can cause one.
    if (tls !== null) http.on('tlsClientError', (error: Error, socket: Socket) => this.log.debug(`worker ${this.boot.id}: a TLS handshake from ${socket.remoteAddress ?? 'a client'} failed: ${error.message}`));
    // On the server before the app is made, as with `http.createServer(listener)`: a library
    // that takes over the request listeners present when it attaches (socket.io: engine.io
    // answers its own path and passes the rest to those listeners) then wraps hostd's, instead
    // of both answering its requests. The server takes connections only once serving, when
    // the handler is set; rebuildHandler swaps the handler, never this listener.
    http.on('request', (req, res) => this.handler!(req, res));
    applyServerLimits(http, s, this.log);
    return http;
  }

  /** Puts the app behind hostd's request pipeline on `http`, which takes connections from now on. */
  private serve(config: WorkerConfig, server: ServerInfo, http: Server, listener: RequestListener | ReturnType<typeof fetchListener>): void {
    const s = config.settings;
    this.sweepStalled(s.send_timeout);

    let accessLog: RequestPipeline['accessLog'] = null;
    if (s.accesslog !== null) {
      const lines = (this.accessLines = new BufferedLines(s.accesslog));
      const address = (req: IncomingMessage) => this.client(req).address;
      const format = s.log_format === 'json' ? accessJson(address) : compileAccessFormat(s.access_log_format, address);
      accessLog = (record) => lines.push(format(record));
      logUpgrades(http, accessLog);
    }
    const traced = this.log.enabled('debug');
    this.pipeline = {
      listener,
      pre: traced ? traceRequestHooks(this.rt!, 'pre_request', config.hooks.pre_request) : config.hooks.pre_request,
      post: traced ? traceRequestHooks(this.rt!, 'post_request', config.hooks.post_request) : config.hooks.post_request,
      log: this.log,
      server,
      worker: this.info,
      signal: this.phase.escalation,
      accessLog,
      requests: this.requests,
      pending: new PendingWork(),
      observers: requestHandlers(),
      showErrors: s.show_errors,
      client: (req) => this.client(req),
    };
    this.http = http;
    this.rebuildHandler();
  }

  /** `send_timeout`: a sweep over the connections every quarter of it, rather than a timer per write. */
  private sweepStalled(seconds: number): void {
    const ms = seconds * 1000;
    const every = checkInterval(ms);
    if (every === null) return;
    setInterval(() => {
      const cut = this.connections.cutStalled(performance.now(), ms);
      if (cut > 0) this.log.info(`worker ${this.boot.id}: closed ${cut} connection(s) whose client took none of the response for send_timeout (${seconds} s)`);
    }, every).unref();
  }

  /**
   * (Re)builds the request handler for what is now true: draining or not (keepalive 0
   * means every response closes its connection, like draining), observed by host.on('request') or not.
   */
  private rebuildHandler(): void {
    if (this.http === null || this.pipeline === null) return;
    const s = this.boot.settings;
    const draining = this.phase.name === 'stopping';
    const probes = { readiness: s.readiness_path, liveness: s.liveness_path, ready: () => this.phase.name === 'serving' && !this.unready };
    // The limits come first: a request over one is refused before a probe, a hook or the app sees it.
    this.handler = withLimits(withProbes(makeRequestHandler(this.pipeline, draining || s.keepalive === 0), probes, draining), s, this.log);
  }

  private recycle(): void {
    this.log.info(`worker ${this.boot.id}: served max_requests (${this.boot.max_requests}); asking for a replacement`);
    send({ t: 'recycle' });
  }

  /** USR1: a log that cannot be reopened keeps the file it had open, and says so. */
  private reopenLogs(): void {
    for (const [name, problem] of [['error log', this.log.reopen()], ['access log', this.accessLines?.reopen() ?? null]] as const) {
      if (problem !== null) this.log.error(`worker ${this.boot.id}: USR1: cannot reopen the ${name}: ${problem}`);
    }
  }

  /**
   * A stop, or a faster one. A worker told to stop `escalated` before it began stopping (a
   * second stop signal during drain_delay) stops as a fast stop does, with the escalated
   * deadlines the primary plans for it: 1 s per call.
   */
  private requestStop(reason: WorkerExitReason, mode: StopMode): void {
    const wasServing = this.phase.name === 'serving';
    const requested = this.phase.requestStop(mode);
    if (requested === 'begin') void this.stop(reason, mode, wasServing);
    else if (requested === 'escalate') this.escalate();
  }

  /** A second stop signal: hooks' signals abort (the phase did that), waits shorten, connections close now. */
  private escalate(): void {
    this.connections.destroyAll();
    send({ t: 'stopping', mode: 'escalated', shape: this.shape() });
  }

  /**
   * The stop, step by step as the stop plan has it. A worker still booting stops booting
   * (it has no requests to drain) and runs its exit hooks if its config was loaded.
   */
  private async stop(reason: WorkerExitReason, mode: StopMode, wasServing: boolean): Promise<void> {
    // Gone before anything else of the stop runs: at the exit, its session would be noise (watchdog.ts).
    await stopWatchdog();
    const rt = this.rt;
    const config = this.config;
    if (rt === null || config === null) return this.exit(0);
    const s = this.boot.settings;
    const shape = this.shape();
    send({ t: 'stopping', mode, shape });
    // The waits of this stop; each call's own deadline comes from its row through the runner.
    const plan = stopPlan(s, { ...shape, child_exit: 0, on_exit: 0 }, mode);
    const waitMs = (step: StopStepName) => {
      const seconds = plan.steps.find((each) => each.name === step)!.seconds;
      return seconds === null ? null : seconds * 1000;
    };
    this.log.info(`worker ${this.boot.id} stopping (${reasonText(reason, mode, !wasServing)})`);

    if (mode !== 'graceful') {
      this.phase.setStep('worker_int', 'running worker_int', waitMs('worker_int'));
      await runHook(rt, 'worker_int', config.hooks.worker_int, { worker: this.info });
      this.connections.destroyAll();
    } else if (this.http !== null) {
      this.rebuildHandler();
      const drainMs = waitMs('drain')!;
      this.phase.setStep('drain', 'draining its connections', drainMs);
      // Told first, so that an app can close its WebSockets (1001, going away) while hostd waits for them.
      const deadline = new Date(Date.now() + drainMs);
      const draining = runHostHandlers(rt, 'draining', hostHandlers('draining'), (signal) => ({ reason, deadline, signal }));
      const forced = await this.connections.drain(this.http, drainMs);
      if (forced > 0) this.log.warn(`worker ${this.boot.id}: ${forced} connection(s) still open after graceful_timeout (${s.graceful_timeout} s); closed`);
      await draining;
    }
    if (this.pipeline && shape.post_request > 0) {
      this.phase.setStep('post_request', 'waiting for running post_request calls and request handlers', waitMs('post_request'));
      await waitWithin(this.pipeline.pending.idle(), waitMs('post_request'), this.phase.escalation);
    }
    // Libraries' host.on('shutdown') handlers first (they may still need what the app's worker_exit closes).
    this.phase.setStep('shutdown', "running its host.on('shutdown') handlers", waitMs('shutdown'));
    await runHostHandlers(rt, 'shutdown', hostHandlers('shutdown'), (signal) => ({ reason, signal }));
    this.phase.setStep('worker_exit', 'running worker_exit', waitMs('worker_exit'));
    await runHook(rt, 'worker_exit', config.hooks.worker_exit, { worker: this.info, reason });
    // What it counted since the last scrape (the end of a drain, its exit hooks) would be lost with it.
    if (s.metrics_bind !== null && process.connected) await answerLast(s.app, config.root, sendPart, LAST_ANSWER_MS);
    this.exit(0);
  }

  /** The primary logs why (once, with the rest of its decisions); alone, the worker does. */
  private failBoot(error: unknown): void {
    // The app's problem is the line `hostd check` shows; the log also gets the user's stack.
    const message = error instanceof AppError && error.detail ? `${error.message}\n${error.detail}` : error instanceof HostdError ? error.message : userStack(error);
    if (process.connected) send({ t: 'boot_error', message });
    else this.log.error(`worker ${this.boot.id} failed to boot: ${message}`);
    this.exit(BOOT_ERROR_EXIT);
  }

  private exit(code: number): void {
    this.accessLines?.flush();
    process.exit(code);
  }
}

/** The first message from the primary says what to run; a worker started any other way says so. */
if (!process.connected) {
  process.stderr.write('hostd: this is a worker; start it with `hostd run`\n');
  process.exit(2);
}
process.once('disconnect', () => process.exit(0));
process.once('message', (message: unknown) => {
  const boot = (message as { t?: unknown; boot?: WorkerBoot } | null)?.t === 'boot' ? (message as { boot: WorkerBoot }).boot : null;
  if (boot === null) {
    process.stderr.write('hostd: a worker got no boot message from its primary\n');
    process.exit(2);
  }
  process.removeAllListeners('disconnect');
  guardProcessSend();
  void new Worker(boot).run();
});

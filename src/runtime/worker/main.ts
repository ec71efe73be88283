/**
 * A worker process. It loads the config itself (hooks are functions and cannot be sent
 * to it), runs `post_fork`, loads the app, runs `post_worker_init`, tells the primary it
 * is ready, then serves the connections the primary hands it until it is told to stop:
 * gracefully (drain, then `worker_exit`) or fast (`worker_int`, no drain, `worker_exit`).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import { resolveConfig } from '../../config/resolve.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { HostdError } from '../../errors.ts';
import type { ServerInfo, WorkerExitReason, WorkerInfo } from '../../hooks/contexts.ts';
import { VERSION } from '../../version.ts';
import { accessJson, compileAccessFormat } from '../access-log.ts';
import { attachHost, hostHandlers, requestHandlers } from '../../host.ts';
import { ESCALATED_WAIT_MS, FAST_HOOK_TIMEOUT_MS, type HookRuntime, runHook, runHostHandlers, traceRequestHooks } from '../hooks/runner.ts';
import { BOOT_ERROR_EXIT, type Handlers, isMessage, type ToPrimary, type ToWorker, WORKER_BOOT_ENV, type WorkerBoot } from '../ipc.ts';
import { BufferedLines, ErrorLog, userStack } from '../log.ts';
import { loadApp } from './app.ts';
import { Connections } from './connections.ts';
import { fetchListener } from './fetch-adapter.ts';
import { withProbes } from './probes.ts';
import { makeRequestHandler, PendingWork, type RequestPipeline } from './requests.ts';
import { isFetchApp } from './app.ts';

function send(message: ToPrimary): void {
  if (process.connected) process.send!(message);
}

/** Resolves with `promise`, or rejects once `ms` pass (0 = no limit). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return promise;
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HostdError('HOSTD_ERR_APP_LOAD', `${what} did not finish within hook_timeout (${ms / 1000} s)`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

class Worker {
  private state: 'booting' | 'serving' | 'stopping' = 'booting';
  private stopRequest: { reason: WorkerExitReason; fast: boolean } | null = null;
  private fast = false;
  private readonly escalation = new AbortController();
  private readonly info: { -readonly [K in keyof WorkerInfo]: WorkerInfo[K] };
  private log: ErrorLog;
  private config: ResolvedConfig | null = null;
  private rt: HookRuntime | null = null;
  private http: Server | null = null;
  private handler: RequestListener | null = null;
  private pipeline: RequestPipeline | null = null;
  private accessLines: BufferedLines | null = null;
  private readonly connections = new Connections();
  private served = 0;
  /** The instance is draining (drain_delay): readiness answers 503 though this worker serves on. */
  private unready = false;

  constructor(private readonly boot: WorkerBoot) {
    this.info = { id: boot.id, pid: process.pid, age: boot.age, generation: boot.generation, booted_at: null };
    // Until the config is loaded, problems go to stderr.
    this.log = new ErrorLog({ errorlog: '-', loglevel: 'info', log_format: 'text', process: `worker ${boot.id}` });
  }

  async run(): Promise<void> {
    process.title = `hostd: worker ${this.boot.id}`;
    if (this.boot.heartbeat_ms > 0) setInterval(() => send({ t: 'heartbeat' }), this.boot.heartbeat_ms).unref();
    this.listen();
    // Before the config loads: modules it imports may already ask `host.running`.
    attachHost({
      worker: Object.freeze({ id: this.boot.id, pid: process.pid, age: this.boot.age, generation: this.boot.generation }),
      allowAppControl: () => this.config?.settings.allow_app_control ?? false,
      control: (action) => send({ t: 'app_control', action }),
      requestObservers: () => this.rebuildHandler(),
    });

    let config: ResolvedConfig;
    try {
      config = await resolveConfig(this.boot.inputs);
    } catch (error) {
      return this.failBoot(error);
    }
    this.config = config;
    const s = config.settings;
    this.log = new ErrorLog({ errorlog: s.errorlog, loglevel: s.loglevel, log_format: s.log_format, process: `worker ${this.boot.id}` });
    process.title = `hostd: worker ${this.boot.id} [${s.proc_name}]`;
    const server: ServerInfo = Object.freeze({
      pid: this.boot.primary.pid,
      config: s,
      started_at: new Date(this.boot.primary.started_at),
      version: this.boot.primary.version,
    });
    this.rt = { log: this.log, server, process: `worker ${this.boot.id}`, escalation: this.escalation.signal };
    this.log.info(`Booting worker ${this.boot.id} with pid: ${process.pid}`);
    const hookMs = s.hook_timeout * 1000;

    try {
      await runHook(this.rt, 'post_fork', config.hooks.post_fork, { worker: this.info }, hookMs);
      const app = await within(loadApp(s.app!, config.root), hookMs, 'loading the app');
      await runHook(this.rt, 'post_worker_init', config.hooks.post_worker_init, { worker: this.info, app }, hookMs);
      this.http = this.createServer(config, server, isFetchApp(app) ? fetchListener(app, s.certfile ? 'https' : 'http') : app);
    } catch (error) {
      return this.failBoot(error);
    }

    if (this.stopRequest) return this.stop(this.stopRequest.reason, this.stopRequest.fast);
    this.state = 'serving';
    this.info.booted_at = new Date();
    send({ t: 'ready' });
  }

  /** Signals and messages: a stop can arrive at any point, even while booting. */
  private listen(): void {
    const handlers: Handlers<ToWorker, [unknown]> = {
      conn: (_message, socket) => {
        if (socket instanceof Socket) this.accept(socket);
      },
      stop: (message) => this.requestStop(message.reason, message.fast),
      reopen_logs: () => this.reopenLogs(),
      unready: () => (this.unready = true),
      reload: (message) => {
        if (this.rt) void runHostHandlers(this.rt, 'reload', hostHandlers('reload'), () => ({ generation: message.generation }), this.rt.server.config.hook_timeout * 1000);
      },
    };
    process.on('message', (message: unknown, handle: unknown) => {
      if (isMessage<ToWorker>(message)) handlers[message.t](message as never, handle);
    });
    process.on('SIGTERM', () => this.requestStop('shutdown', false));
    process.on('SIGINT', () => this.requestStop('shutdown', true));
    process.on('SIGQUIT', () => this.requestStop('shutdown', true));
    process.on('SIGUSR1', () => this.reopenLogs());
    // A terminal's HUP, TTIN and TTOU are for the primary.
    for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(signal, () => {});
    process.on('disconnect', () => {
      // The primary is gone (killed, crashed): no more connections will come; finish what is here.
      this.log.warn(`worker ${this.boot.id}: the primary went away; stopping`);
      this.requestStop('shutdown', false);
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
    this.http.emit('connection', socket);
    // The primary accepted it paused, so that no byte was read before it reached a worker.
    socket.resume();
  }

  private createServer(config: ResolvedConfig, server: ServerInfo, listener: RequestListener | ReturnType<typeof fetchListener>): Server {
    const s = config.settings;
    const options = {
      keepAliveTimeout: s.keepalive * 1000,
      requestTimeout: s.request_timeout * 1000,
      headersTimeout: s.headers_timeout * 1000,
      maxHeaderSize: s.max_header_size,
    };
    const http = s.certfile && s.keyfile ? createHttpsServer({ ...options, cert: readFileSync(s.certfile), key: readFileSync(s.keyfile) }) : createHttpServer(options);
    http.on(s.certfile ? 'secureConnection' : 'connection', (socket: Socket) => this.connections.addHttp(socket));

    let accessLog: RequestPipeline['accessLog'] = null;
    if (s.accesslog !== null) {
      const lines = (this.accessLines = new BufferedLines(s.accesslog));
      const format = s.log_format === 'json' ? accessJson : compileAccessFormat(s.access_log_format);
      accessLog = (record) => lines.push(format(record));
    }
    const limit = this.boot.max_requests;
    const traced = this.log.enabled('debug');
    this.pipeline = {
      listener,
      pre: traced ? traceRequestHooks(this.rt!, 'pre_request', config.hooks.pre_request) : config.hooks.pre_request,
      post: traced ? traceRequestHooks(this.rt!, 'post_request', config.hooks.post_request) : config.hooks.post_request,
      log: this.log,
      server,
      worker: this.info,
      signal: this.escalation.signal,
      accessLog,
      onRequest: limit > 0 ? () => ++this.served === limit && this.recycle() : null,
      pending: new PendingWork(),
      observers: requestHandlers,
      showErrors: s.show_errors,
    };
    this.http = http;
    this.rebuildHandler();
    return http;
  }

  /**
   * (Re)installs the request handler for what is now true: draining or not (keepalive 0
   * means every response closes its connection, like draining), observed by host.on('request') or not.
   */
  private rebuildHandler(): void {
    if (this.http === null || this.pipeline === null) return;
    if (this.handler) this.http.removeListener('request', this.handler);
    const s = this.config!.settings;
    const draining = this.state === 'stopping';
    const probes = { readiness: s.readiness_path, liveness: s.liveness_path, ready: () => this.state === 'serving' && !this.unready };
    this.handler = withProbes(makeRequestHandler(this.pipeline, draining || s.keepalive === 0), probes, draining);
    this.http.on('request', this.handler);
  }

  private recycle(): void {
    this.log.info(`worker ${this.boot.id}: served max_requests (${this.boot.max_requests}); asking for a replacement`);
    send({ t: 'recycle' });
  }

  private reopenLogs(): void {
    this.log.reopen();
    this.accessLines?.reopen();
  }

  private requestStop(reason: WorkerExitReason, fast: boolean): void {
    if (this.state === 'stopping') {
      if (fast && !this.fast) this.escalate();
      return;
    }
    if (this.state === 'booting') {
      // Finish booting first (or fail); run() then stops.
      this.stopRequest = { reason, fast: fast || (this.stopRequest?.fast ?? false) };
      return;
    }
    void this.stop(reason, fast);
  }

  /** A second stop signal: hooks' signals abort, waits shorten, connections close now. */
  private escalate(): void {
    this.fast = true;
    this.escalation.abort();
    this.connections.destroyAll();
  }

  private async stop(reason: WorkerExitReason, fast: boolean): Promise<void> {
    this.state = 'stopping';
    this.fast = fast;
    const config = this.config!;
    const rt = this.rt!;
    const s = config.settings;
    const hookMs = s.hook_timeout * 1000;
    const fastHookMs = hookMs > 0 ? Math.min(hookMs, FAST_HOOK_TIMEOUT_MS) : FAST_HOOK_TIMEOUT_MS;
    this.log.info(`worker ${this.boot.id} stopping (${reason}${fast ? ', fast' : ''})`);

    if (fast) {
      await runHook(rt, 'worker_int', config.hooks.worker_int, { worker: this.info }, fastHookMs);
      this.connections.destroyAll();
    } else if (this.http !== null) {
      this.rebuildHandler();
      const forced = await this.connections.drain(this.http, s.graceful_timeout * 1000);
      if (forced > 0) this.log.warn(`worker ${this.boot.id}: ${forced} connection(s) still open after graceful_timeout (${s.graceful_timeout} s); closed`);
    }
    if (this.pipeline) await within(this.pipeline.pending.idle(), this.fast ? ESCALATED_WAIT_MS : hookMs, 'post_request').catch(() => {});
    // Libraries' host.on('shutdown') handlers first (they may still need what the app's worker_exit closes).
    const exitMs = this.fast ? fastHookMs : hookMs;
    await runHostHandlers(rt, 'shutdown', hostHandlers('shutdown'), (signal) => ({ reason, signal }), exitMs);
    await runHook(rt, 'worker_exit', config.hooks.worker_exit, { worker: this.info, reason }, exitMs);
    this.exit(0);
  }

  /** The primary logs why (once, with the rest of its decisions); alone, the worker does. */
  private failBoot(error: unknown): void {
    const message = error instanceof HostdError ? error.message : userStack(error);
    if (process.connected) send({ t: 'boot_error', message });
    else this.log.error(`worker ${this.boot.id} failed to boot: ${message}`);
    this.exit(BOOT_ERROR_EXIT);
  }

  private exit(code: number): void {
    this.accessLines?.flush();
    process.exit(code);
  }
}

const raw = process.env[WORKER_BOOT_ENV];
if (raw === undefined) {
  process.stderr.write('hostd: this is a worker; start it with `hostd run`\n');
  process.exit(2);
}
delete process.env[WORKER_BOOT_ENV];
await new Worker(JSON.parse(raw) as WorkerBoot).run();

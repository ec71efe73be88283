/**
 * `metrics_bind`: the primary serves `GET /metrics` with hostd's own metrics and the app's
 * prom-client metrics, merged across workers, in one scrape. hostd's counts come from the
 * supervisor core (fed by the workers' heartbeats, so counting costs no IPC per request);
 * the app's are asked of each serving or stopping worker at scrape time, and a stopped
 * worker sends its last answer as it exits (metrics/app-state.ts merges them): it answers
 * nothing after that, so that answer (once it began) answers the scrapes until it is gone. Scrapes that
 * come while one is collecting share its collection and its answer; a worker whose answer
 * does not come within SCRAPE_WAIT_MS is counted, and its last answer is used. The listener keeps at most MAX_CONNECTIONS connections, each for as long as it
 * is used, so a flood of them cannot take the descriptors the app and the workers need.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type ChildExitReason, REASON_NAMES, REASONS } from '../../hooks/reasons.ts';
import { AppMetrics, KEPT_PER_LIVE, MAX_KEPT, MIN_KEPT } from '../metrics/app-state.ts';
import { type Family, type Format, negotiate, OPENMETRICS_EOF, OPENMETRICS_TEXT, PROMETHEUS_TEXT, renderFamilies, type Sample } from '../metrics/exposition.ts';
import { type Histogram, histogramSamples } from '../metrics/histogram.ts';
import { addHistograms, HOOK_BUCKETS, type HookHistograms, hookDurations } from '../metrics/hooks.ts';
import { LAST_ANSWER_ID, type ScrapePart } from '../metrics/wire.ts';
import type { ToWorker } from '../ipc.ts';
import type { Level } from '../log.ts';
import { closeListeners, type Listener, listenerFd, openListeners } from './listeners.ts';
import type { Counters } from './supervisor.ts';
import type { WorkerView } from './worker-record.ts';

/** How long a scrape waits for the workers' app metrics (in the primary's awake time). */
export const SCRAPE_WAIT_MS = 1000;
/** A worker still answering after this long (in the primary's awake time) is asked again (its collect function hung; its answer is not used). */
export const ABANDON_MS = 30_000;
/** The most connections the metrics listener keeps open; it closes any more at once. */
export const MAX_CONNECTIONS = 64;
/** A metrics connection idle this long (no request, or kept alive after one) is closed; as long for a request's head to arrive. */
export const IDLE_MS = 5000;
/** Refused connections are logged at most this often (with how many). */
const REFUSED_LOG_MS = 10_000;

/** Every reason a worker exits with, so that each series exists from the start (a rate over a series that appears late misses its first increase). */
const EXIT_REASONS = REASON_NAMES.filter((r) => (REASONS[r].hooks as readonly string[]).includes('child_exit')) as ChildExitReason[];
const STATES: readonly WorkerView['state'][] = ['booting', 'serving', 'stopping'];

/** What the metrics read of the primary. */
export interface MetricsSource {
  readonly counters: Counters;
  readonly startedAt: Date;
  workers(): WorkerView[];
  /** Connections accepted and waiting for a worker. */
  waiting(): number;
  /** How long connections waited for a worker to take them. */
  queue(): Histogram;
  generation(): number;
  target(): number;
  /** Sends `message` to the worker of that age; false if it cannot be reached. */
  send(age: number, message: ToWorker): boolean;
  /** The worker of that age was asked for its app metrics and may be busy reading them for up to `ms` (not a hang). */
  collecting(age: number, ms: number): void;
  /** The wait for that worker's answer is over: it answered (a sign of life), or not. */
  collected(age: number, answered: boolean): void;
  /** Workers (by age) whose IPC channel is open: one that exited may still have its last answer on the way. */
  channels(): Iterable<number>;
  /**
   * The primary's awake ms (core/awake.ts): real time less what it could not run (SIGSTOP, a
   * paused VM). The waits for workers are judged on it: a worker is not blamed for the
   * primary's own stall, and its answer, in the pipe meanwhile, is read first.
   */
  awake(): number;
  log(level: Level, message: string): void;
}

/** What the endpoint itself counted. */
export interface EndpointCounts {
  readonly scrapeErrors: number;
  /** Kept values of the app's series dropped at the bound of series kept. */
  readonly dropped: number;
}

/** hostd's own metrics, from the core's counts and the workers' last heartbeats. */
export function hostdFamilies(source: MetricsSource, counts: EndpointCounts): Family[] {
  const c = source.counters;
  const workers = source.workers();
  const perWorker = (name: string, help: string, value: (w: WorkerView) => number): Family => ({
    name,
    help,
    type: 'gauge',
    samples: workers.filter((w) => w.pid !== null).map((w) => ({ labels: { worker: w.id, pid: w.pid! }, value: value(w) })),
  });
  const hooks: HookHistograms = {};
  addHistograms(hooks, c.hooks);
  addHistograms(hooks, hookDurations());
  const hookSamples: Sample[] = Object.entries(hooks).flatMap(([hook, h]) => histogramSamples('hostd_hook_duration_seconds', h, HOOK_BUCKETS, { hook }));
  const queue = source.queue();
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: number): Family => ({ name, help, type, samples: [{ labels: {}, value }] });
  return [
    { name: 'hostd_workers', help: 'Worker processes by state.', type: 'gauge', samples: STATES.map((state) => ({ labels: { state }, value: workers.filter((w) => w.state === state).length })) },
    one('hostd_workers_target', 'Worker processes the current generation runs (workers, TTIN and TTOU).', 'gauge', source.target()),
    one('hostd_requests_total', 'Requests the workers began, as of their last heartbeats.', 'counter', c.requests),
    one('hostd_requests_in_flight', 'Requests being answered, as of the last heartbeats.', 'gauge', workers.reduce((n, w) => n + w.stats.inFlight, 0)),
    one('hostd_connections_waiting', 'Connections accepted by the primary that wait for a ready worker.', 'gauge', source.waiting()),
    {
      name: 'hostd_connection_queue_seconds',
      help: 'How long each connection waited in the primary, from its accept to a worker taking it (the worker acknowledging it): the queue an autoscaler watches.',
      type: 'histogram',
      samples: histogramSamples('hostd_connection_queue_seconds', queue, queue.bounds),
    },
    { name: 'hostd_worker_exits_total', help: 'Worker processes that exited, by reason.', type: 'counter', samples: EXIT_REASONS.map((reason) => ({ labels: { reason }, value: c.exits.get(reason) ?? 0 })) },
    one('hostd_worker_boots_total', 'Worker processes that finished booting (became ready).', 'counter', c.boots),
    one('hostd_proxy_protocol_errors_total', 'Connections closed for a missing or malformed PROXY protocol header (proxy_protocol).', 'counter', c.proxyErrors),
    {
      name: 'hostd_reloads_total',
      help: 'Reloads, by result: success (the new generation serves) or failure (rejected, abandoned or rolled back).',
      type: 'counter',
      samples: [
        { labels: { result: 'success' }, value: c.reloads.success },
        { labels: { result: 'failure' }, value: c.reloads.failure },
      ],
    },
    { name: 'hostd_hook_duration_seconds', help: 'How long lifecycle hooks took (all functions of one run of a hook), in the primary and the workers.', type: 'histogram', samples: hookSamples },
    one('hostd_start_time_seconds', 'When the primary started, in seconds since the Unix epoch.', 'gauge', source.startedAt.getTime() / 1000),
    one('hostd_generation', 'The config generation serving (1 at start, one more per successful reload).', 'gauge', source.generation()),
    one('hostd_scrape_errors_total', "Workers whose app metrics a scrape did not get within 1 s, or could not use (their last answer was used).", 'counter', counts.scrapeErrors),
    one('hostd_app_series_dropped_total', `What gone workers (or resets) had counted of an app series, dropped: the primary keeps such series up to ${KEPT_PER_LIVE} times the most series the live workers had at once, at least ${MIN_KEPT} and at most ${MAX_KEPT}.`, 'counter', counts.dropped),
    perWorker('hostd_worker_requests_in_flight', 'Requests a worker is answering, as of its last heartbeat (busy when above 0).', (w) => w.stats.inFlight),
    { ...perWorker('hostd_worker_requests_total', 'Requests a worker began in its life, as of its last heartbeat.', (w) => w.stats.requests), type: 'counter' },
    perWorker('hostd_worker_connections', 'Connections a worker holds, as of its last heartbeat.', (w) => w.connections),
    perWorker('hostd_worker_resident_memory_bytes', "A worker process's resident set size, as of its last heartbeat.", (w) => w.stats.rssBytes),
    perWorker('hostd_worker_heap_used_bytes', "A worker's V8 heap in use, as of its last heartbeat.", (w) => w.stats.heapUsedBytes),
    perWorker('hostd_worker_event_loop_utilization_ratio', "The share of time a worker's event loop was busy (0 to 1) between its last two heartbeats.", (w) => w.stats.elu),
  ];
}

/** One worker's answer being waited for. */
interface Collection {
  readonly id: number;
  /** Awake ms. */
  readonly began: number;
  /** Resolves true when the answer came and will be used, false when it failed or was given up. */
  readonly done: Promise<boolean>;
  settle(used: boolean, answered: boolean): void;
}

/** Scrapes that share one collection and one rendering: each format asked for is rendered once. */
interface Round {
  readonly formats: Set<Format>;
  bodies: Promise<Map<Format, Buffer>>;
}

/**
 * Waits for `promises` at most `ms` of awake time (`awake()`): each one's value, or undefined
 * for those not settled in time. A timer that fires late (the primary did not run) measures
 * what it missed and waits on for it, so answers sent meanwhile are read before anyone is
 * counted as not answering.
 */
export async function within<T>(promises: readonly Promise<T>[], ms: number, awake: () => number): Promise<(T | undefined)[]> {
  const results: (T | undefined)[] = promises.map(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const began = awake();
  const over = new Promise<void>((resolve) => {
    const arm = (left: number) => {
      timer = setTimeout(() => {
        const rest = ms - (awake() - began);
        if (rest > 0) arm(rest);
        else resolve();
      }, left);
    };
    arm(ms);
  });
  await Promise.race([Promise.all(promises.map((p, i) => p.then((value) => (results[i] = value)))), over]);
  clearTimeout(timer);
  return results;
}

export class MetricsEndpoint {
  private listener: Listener | null = null;
  private readonly http: Server;
  private readonly sockets = new Set<Socket>();
  /** Per connection, the deadline of the request head it waits for. */
  private readonly heads = new Map<Socket, { timer: NodeJS.Timeout }>();
  private readonly refused = { count: 0, loggedAt: -Infinity };
  private ids = 0;
  private scrapeErrors = 0;
  private readonly app = new AppMetrics((error) => this.source.log('error', `metrics_bind: merging the app metrics failed (please report it): ${(error as Error).stack ?? String(error)}`), {
    onDropped: (bound) =>
      this.source.log(
        'warning',
        `metrics_bind: the app's metrics have ${bound} series kept for workers that exited, the most the primary keeps (${KEPT_PER_LIVE} times the most series the live workers had at once, at least ${MIN_KEPT}, at most ${MAX_KEPT}; a label with a value per process or per request?); what exited workers counted of any other series is dropped while it keeps that many (hostd_app_series_dropped_total counts it)`,
      ),
  });
  private readonly collections = new Map<number, Collection>();
  private round: Round | null = null;

  constructor(private readonly source: MetricsSource) {
    this.http = createServer({ keepAliveTimeout: IDLE_MS }, (req, res) => void this.serve(req, res));
  }

  /** Opens `address` (on `inherited`, a socket an upgrade handed over); throws a HostdError (HOSTD_ERR_BIND) when it cannot. Resolves with its URL. */
  async open(address: string, inherited: number | null = null): Promise<string> {
    const handed = inherited === null ? undefined : new Map([[address, inherited]]);
    const [listener] = await openListeners([address], { backlog: 511, scheme: 'http', unixMode: null, unixGroup: null }, { socket: (socket: Socket) => this.accept(socket) }, handed);
    this.listener = listener!;
    return listener!.url;
  }

  /** The listening socket's file descriptor, to hand over in an upgrade; null when there is none. */
  fd(): number | null {
    return this.listener === null ? null : listenerFd(this.listener);
  }

  /**
   * Handed over: scrapes go to the new primary. A TCP listener closes here (the new primary
   * holds the socket too); a unix one stays open until this primary exits, since closing it
   * would remove the file both use.
   */
  release(): void {
    if (this.listener !== null && this.listener.bind.type !== 'unix') closeListeners([this.listener]);
    this.listener = null;
  }

  get address(): string | null {
    return this.listener?.address ?? null;
  }

  close(): void {
    if (this.listener) closeListeners([this.listener]);
    this.listener = null;
    for (const socket of this.sockets) socket.destroy();
    for (const collection of this.collections.values()) collection.settle(false, false);
  }

  /** A part of a worker's answer to a scrape, or of its last answer (which stands for any it was asked for). */
  answer(age: number, part: ScrapePart): void {
    const result = this.app.part(age, part);
    const collection = this.collections.get(age);
    if (collection === undefined || (collection.id !== part.id && part.id !== LAST_ANSWER_ID)) return;
    if (result === 'done') collection.settle(true, true);
    else if (result === 'failed') collection.settle(false, true);
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      socket.destroy();
      this.refuse();
      return;
    }
    this.sockets.add(socket);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    // Node's headersTimeout holds only for a server that listens itself: a head trickled in byte by byte must come within IDLE_MS too.
    const head = { timer: setTimeout(() => socket.destroy(), IDLE_MS) };
    this.heads.set(socket, head);
    socket.once('close', () => {
      clearTimeout(head.timer);
      this.sockets.delete(socket);
      this.heads.delete(socket);
    });
    this.http.emit('connection', socket);
    socket.resume();
  }

  private refuse(): void {
    this.refused.count++;
    const now = performance.now();
    if (now - this.refused.loggedAt < REFUSED_LOG_MS) return;
    this.source.log('warning', `metrics_bind: closed ${this.refused.count} new connection${this.refused.count === 1 ? '' : 's'} at once: ${MAX_CONNECTIONS} are open, the most it keeps (each is closed after ${IDLE_MS / 1000} s idle)`);
    this.refused.count = 0;
    this.refused.loggedAt = now;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as Socket;
    // Node sets a socket's idle timeout to the server's (0: none) at each request: this one's, again, so a
    // client that stops reading a response is cut off as an idle one is.
    socket.setTimeout(IDLE_MS);
    const head = this.heads.get(socket);
    if (head !== undefined) {
      clearTimeout(head.timer);
      // Kept alive: the next request's head has the same time to come.
      res.once('finish', () => {
        if (!socket.destroyed) head.timer = setTimeout(() => socket.destroy(), IDLE_MS);
      });
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const format = negotiate(req.headers.accept);
    let body: Buffer;
    // Not idle while it waits for the workers: that wait is bounded in the primary's awake time (SCRAPE_WAIT_MS), and an
    // idle timeout (real time) that fell due while the primary was stopped would cut off the scrape it has the answers for.
    socket.setTimeout(0);
    try {
      body = await this.scrape(format);
    } catch (error) {
      this.source.log('error', `metrics_bind: a scrape failed (please report it): ${(error as Error).stack ?? String(error)}`);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n');
      return;
    } finally {
      socket.setTimeout(IDLE_MS);
    }
    res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_TEXT : PROMETHEUS_TEXT, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The answer in `format`, from the round collecting now or a new one. */
  private async scrape(format: Format): Promise<Buffer> {
    let round = this.round;
    if (round === null) {
      const formats = new Set<Format>();
      round = { formats, bodies: Promise.resolve(new Map()) };
      const made = (round.bodies = this.run(formats));
      this.round = round;
      // A round that failed before it let go of this.round would answer every later scrape with its failure.
      made.catch(() => {
        if (this.round?.bodies === made) this.round = null;
      });
    }
    round.formats.add(format);
    return (await round.bodies).get(format)!;
  }

  /** One round: ask the workers, wait for them (at most SCRAPE_WAIT_MS), then merge and render each format asked for meanwhile. */
  private async run(formats: Set<Format>): Promise<Map<Format, Buffer>> {
    const workers = this.source.workers();
    // Gone once its channel closed: the last answer it sent before its exit has been read.
    const alive = new Set([...workers.map((w) => w.age), ...this.source.channels()]);
    for (const [age, collection] of this.collections) if (!alive.has(age)) collection.settle(false, false);
    // Awaited by the render, which queues behind it.
    const forgotten = this.app.forget(alive);
    const waits: Promise<boolean>[] = [];
    // Awake time: a collection in flight while the primary was stopped is not given up for that time.
    const now = this.source.awake();
    for (const worker of workers) {
      let collection = this.collections.get(worker.age);
      if (collection !== undefined && now - collection.began > ABANDON_MS) {
        this.app.abandon(worker.age);
        collection.settle(false, false);
        collection = undefined;
      }
      // A stopping worker still counts (the requests it drains, its exit hooks) and answers: asked too, if it served.
      const asks = worker.state === 'serving' || (worker.state === 'stopping' && worker.readyAt !== null);
      // Its last answer, once it began, answers this scrape: the worker answers nothing after it (its channel is about to close).
      const last = asks && worker.state === 'stopping' ? this.app.lastAnswer(worker.age) : null;
      if (last === 'used') continue;
      if (last === 'failed') {
        waits.push(Promise.resolve(false));
        continue;
      }
      if (last === 'coming') collection ??= this.track(worker.age, LAST_ANSWER_ID, false);
      // A worker busy with an earlier round's collection is waited for, not asked again.
      if (collection === undefined && asks) collection = this.collect(worker.age);
      if (collection !== undefined) waits.push(collection.done);
    }
    const results = await within(waits, SCRAPE_WAIT_MS, () => this.source.awake());
    await forgotten;
    this.scrapeErrors += results.filter((used) => used !== true).length;
    // Scrapes from now on start a new round.
    this.round = null;
    const hostd = hostdFamilies(this.source, { scrapeErrors: this.scrapeErrors, dropped: this.app.dropped });
    const app = await this.app.render([...formats]);
    return new Map([...formats].map((format) => [format, Buffer.from(renderFamilies(hostd, format) + app.get(format)! + (format === 'openmetrics' ? OPENMETRICS_EOF : ''))]));
  }

  /** Asks a worker for its app metrics; undefined when it cannot be reached. */
  private collect(age: number): Collection | undefined {
    const id = ++this.ids;
    const { epoch, known } = this.app.ask(age, id);
    if (!this.source.send(age, { t: 'metrics', id, epoch, known })) {
      this.app.abandon(age);
      return undefined;
    }
    // Reading a large registry may hold the worker's event loop: the primary does not take that for a hang.
    this.source.collecting(age, SCRAPE_WAIT_MS);
    return this.track(age, id, true);
  }

  /** Waits for answer `id` of worker `age`: one it was `asked` for, or its last answer, which it sends unasked. */
  private track(age: number, id: number, asked: boolean): Collection {
    let resolve!: (used: boolean) => void;
    const collection: Collection = {
      id,
      began: this.source.awake(),
      done: new Promise<boolean>((r) => (resolve = r)),
      settle: (used, answered) => {
        if (this.collections.get(age) !== collection) return;
        this.collections.delete(age);
        if (asked) this.source.collected(age, answered);
        resolve(used);
      },
    };
    this.collections.set(age, collection);
    return collection;
  }
}

/**
 * `metrics_bind`: the primary serves `GET /metrics` with hostd's own metrics and the app's
 * prom-client metrics, merged across workers, in one scrape. hostd's counts come from the
 * supervisor core (fed by the workers' heartbeats, so counting costs no IPC per request);
 * the app's are asked of each serving worker at scrape time, and a worker that does not
 * answer within SCRAPE_WAIT_MS is left out of that scrape and counted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ChildExitReason } from '../../hooks/contexts.ts';
import { aggregate } from '../metrics/aggregate.ts';
import { type Family, negotiate, OPENMETRICS_TEXT, PROMETHEUS_TEXT, render, type Sample } from '../metrics/exposition.ts';
import { addHistograms, HOOK_BUCKETS, type HookHistograms, hookDurations } from '../metrics/hooks.ts';
import type { ToWorker } from '../ipc.ts';
import { closeListeners, type Listener, openListeners } from './listeners.ts';
import type { Counters } from './supervisor.ts';
import type { WorkerView } from './worker-record.ts';

/** How long a scrape waits for a worker's app metrics. */
export const SCRAPE_WAIT_MS = 1000;

/** Every reason, so that each series exists from the start (a rate over a series that appears late misses its first increase). */
const EXIT_REASONS = Object.keys({ shutdown: 0, reload: 0, max_requests: 0, max_memory: 0, timeout: 0, crash: 0, boot_error: 0, killed: 0 } satisfies Record<ChildExitReason, 0>) as ChildExitReason[];
const STATES: readonly WorkerView['state'][] = ['booting', 'serving', 'stopping'];

/** What the metrics read of the primary. */
export interface MetricsSource {
  readonly counters: Counters;
  readonly startedAt: Date;
  workers(): WorkerView[];
  /** Connections accepted and waiting for a worker. */
  waiting(): number;
  generation(): number;
  target(): number;
  /** Sends `message` to the worker of that age; false if it cannot be reached. */
  send(age: number, message: ToWorker): boolean;
}

/** hostd's own metrics, from the core's counts and the workers' last heartbeats. */
export function hostdFamilies(source: MetricsSource, scrapeErrors: number): Family[] {
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
  const hookSamples: Sample[] = [];
  for (const [hook, h] of Object.entries(hooks)) {
    let cumulative = 0;
    HOOK_BUCKETS.forEach((le, i) => {
      cumulative += h.buckets[i]!;
      hookSamples.push({ name: 'hostd_hook_duration_seconds_bucket', labels: { hook, le }, value: cumulative });
    });
    hookSamples.push({ name: 'hostd_hook_duration_seconds_bucket', labels: { hook, le: '+Inf' }, value: h.count });
    hookSamples.push({ name: 'hostd_hook_duration_seconds_sum', labels: { hook }, value: h.sum });
    hookSamples.push({ name: 'hostd_hook_duration_seconds_count', labels: { hook }, value: h.count });
  }
  const one = (name: string, help: string, type: 'counter' | 'gauge', value: number): Family => ({ name, help, type, samples: [{ labels: {}, value }] });
  return [
    { name: 'hostd_workers', help: 'Worker processes by state.', type: 'gauge', samples: STATES.map((state) => ({ labels: { state }, value: workers.filter((w) => w.state === state).length })) },
    one('hostd_workers_target', 'Worker processes the current generation runs (workers, TTIN and TTOU).', 'gauge', source.target()),
    one('hostd_requests_total', 'Requests the workers began, as of their last heartbeats.', 'counter', c.requests),
    one('hostd_requests_in_flight', 'Requests being answered, as of the last heartbeats.', 'gauge', workers.reduce((n, w) => n + w.stats.inFlight, 0)),
    one('hostd_connections_waiting', 'Connections accepted by the primary that wait for a ready worker.', 'gauge', source.waiting()),
    { name: 'hostd_worker_exits_total', help: 'Worker processes that exited, by reason.', type: 'counter', samples: EXIT_REASONS.map((reason) => ({ labels: { reason }, value: c.exits.get(reason) ?? 0 })) },
    one('hostd_worker_boots_total', 'Worker processes that finished booting (became ready).', 'counter', c.boots),
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
    one('hostd_scrape_errors_total', 'Workers left out of a scrape of app metrics because they did not answer within 1 s.', 'counter', scrapeErrors),
    perWorker('hostd_worker_requests_in_flight', 'Requests a worker is answering, as of its last heartbeat (busy when above 0).', (w) => w.stats.inFlight),
    { ...perWorker('hostd_worker_requests_total', 'Requests a worker began in its life, as of its last heartbeat.', (w) => w.stats.requests), type: 'counter' },
    perWorker('hostd_worker_connections', 'Connections a worker holds, as of its last heartbeat.', (w) => w.connections),
    perWorker('hostd_worker_resident_memory_bytes', "A worker process's resident set size, as of its last heartbeat.", (w) => w.stats.rssBytes),
    perWorker('hostd_worker_heap_used_bytes', "A worker's V8 heap in use, as of its last heartbeat.", (w) => w.stats.heapUsedBytes),
    perWorker('hostd_worker_event_loop_utilization', "The share of time a worker's event loop was busy (0 to 1) between its last two heartbeats.", (w) => w.stats.elu),
  ];
}

interface Pending {
  readonly waiting: Set<number>;
  readonly answers: unknown[][];
  readonly done: () => void;
}

export class MetricsEndpoint {
  private listener: Listener | null = null;
  private readonly http: Server;
  private scrapes = 0;
  private scrapeErrors = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly source: MetricsSource) {
    this.http = createServer((req, res) => void this.serve(req, res));
  }

  /** Opens `address`; throws a HostdError (HOSTD_ERR_BIND) when it cannot. Resolves with its URL. */
  async open(address: string): Promise<string> {
    const [listener] = await openListeners([address], { backlog: 511, scheme: 'http', unixMode: null, unixGroup: null }, {
      socket: (socket: Socket) => {
        this.http.emit('connection', socket);
        socket.resume();
      },
    });
    this.listener = listener!;
    return listener!.url;
  }

  get address(): string | null {
    return this.listener?.address ?? null;
  }

  close(): void {
    if (this.listener) closeListeners([this.listener]);
    this.listener = null;
    this.http.closeAllConnections();
    for (const scrape of this.pending.values()) scrape.done();
  }

  /** A worker's answer to a scrape. */
  answer(age: number, id: number, metrics: readonly unknown[] | null): void {
    const scrape = this.pending.get(id);
    if (scrape === undefined || !scrape.waiting.delete(age)) return;
    if (metrics !== null) scrape.answers.push([...metrics]);
    if (scrape.waiting.size === 0) scrape.done();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const app = await this.collectApp();
    const families = [...hostdFamilies(this.source, this.scrapeErrors), ...aggregate(app, (name) => name.startsWith('hostd_'))];
    const body = render(families, format);
    res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_TEXT : PROMETHEUS_TEXT, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Asks every serving worker for its app metrics; resolves with the answers that came within SCRAPE_WAIT_MS. */
  private collectApp(): Promise<unknown[][]> {
    const id = ++this.scrapes;
    const waiting = new Set<number>();
    for (const worker of this.source.workers()) {
      if (worker.state === 'serving' && this.source.send(worker.age, { t: 'metrics', id })) waiting.add(worker.age);
    }
    if (waiting.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const answers: unknown[][] = [];
      const done = () => {
        clearTimeout(timer);
        if (!this.pending.delete(id)) return;
        this.scrapeErrors += waiting.size;
        resolve(answers);
      };
      const timer = setTimeout(done, SCRAPE_WAIT_MS);
      this.pending.set(id, { waiting, answers, done });
    });
  }
}

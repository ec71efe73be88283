/**
 * The messages between the primary and its workers: discriminated unions plus typed
 * handler maps, so a message without a handler is a compile error on the receiving side.
 * What a worker sends is untrusted (app code can call `process.send` too): the primary
 * reads it only through `parseToPrimary`, which returns null for anything else.
 */
import type { ConfigInputs } from '../config/resolve.ts';
import type { ResolvedSettings } from '../config/options.generated.ts';
import type { StopMode, StopShape } from '../config/stop-plan.ts';
import type { TlsMaterial } from '../config/tls-files.ts';
import type { WorkerExitReason } from '../hooks/reasons.ts';
import { HOOK_NAMES } from '../config/hooks-table.ts';
import type { HookName } from '../config/options.generated.ts';
import { HOOK_BUCKETS, type HookHistograms } from './metrics/hooks.ts';
import { parseScrapePart, type ScrapePart, type ScrapeRequest } from './metrics/wire.ts';

/** What a worker is and runs, sent as its first message: its generation's settings (data) and config sources. */
export interface WorkerBoot {
  /** Its slot, 1..`workers` (a replacement takes its predecessor's): `worker.id` in the hooks. */
  readonly id: number;
  /** Counts every worker the primary ever started: `worker.age` in the hooks. */
  readonly age: number;
  readonly generation: number;
  readonly primary: { readonly pid: number; readonly started_at: string; readonly version: string };
  /** The inputs the primary resolved this generation from, with `modules`: the sources it evaluated. */
  readonly inputs: ConfigInputs;
  /** The generation's settings, exactly as the primary resolved them. */
  readonly settings: ResolvedSettings;
  /** The generation's TLS material, as the primary read and checked it (null: plain HTTP). */
  readonly tls: TlsMaterial | null;
  /** Requests before recycling, jitter included; 0 = never. */
  readonly max_requests: number;
  /** How often to send a heartbeat. */
  readonly heartbeat_ms: number;
  /** Where the worker's watchdog records the stack it is stuck in (null: no watchdog). */
  readonly stack_file: string | null;
}

/** Primary → worker. A `conn` message carries an accepted socket as its handle. */
export type ToWorker =
  | { readonly t: 'boot'; readonly boot: WorkerBoot }
  | { readonly t: 'conn' }
  /** `mode`: `escalated` when a second stop signal came before this worker was told to stop (its calls get 1 s each). */
  | { readonly t: 'stop'; readonly reason: WorkerExitReason; readonly mode: StopMode }
  | { readonly t: 'reopen_logs' }
  /** A reload is starting a new generation; this worker serves until it is ready. */
  | { readonly t: 'reload'; readonly generation: number }
  /** The instance is draining (SIGTERM with drain_delay): readiness probes answer 503 from now on. */
  | { readonly t: 'unready' }
  /** A scrape: answer `metrics` with the same id, in parts (the app's prom-client registry, if it uses one; metrics/wire.ts). */
  | ScrapeRequest;

/** What a worker counted since its last heartbeat, and its state now: batched, so that counting costs no IPC per request. */
export interface WorkerBeatStats {
  /** Requests it began since its last heartbeat. */
  readonly requests: number;
  /** Requests it is answering now. */
  readonly in_flight: number;
  readonly rss_bytes: number;
  readonly heap_used_bytes: number;
  /** Event loop utilization (0..1) since its last heartbeat. */
  readonly elu: number;
  /** Its hooks' durations since its last heartbeat. */
  readonly hooks: HookHistograms | null;
  /** Connections it closed since its last heartbeat for a missing or malformed PROXY protocol header. */
  readonly proxy_errors?: number;
}

/** The worker's part of its stop plan's shape. */
export type WorkerShape = Pick<StopShape, 'post_request' | 'worker_int' | 'shutdown' | 'worker_exit'>;

/** What a booting or stopping worker is busy with. */
export type WorkerStep = 'config' | 'post_fork' | 'app' | 'post_worker_init' | 'drain' | 'post_request' | 'worker_int' | 'shutdown' | 'worker_exit';

/** Worker → primary. */
export type ToPrimary =
  /** Booted: the app is loaded and `post_worker_init` ran; send it connections. */
  | { readonly t: 'ready'; readonly shape: WorkerShape }
  /** The event loop is alive (see `timeout`), with the connections it holds. */
  | { readonly t: 'heartbeat'; readonly connections: number; readonly stats?: WorkerBeatStats }
  /** A part of the answer to a scrape: the app's prom-client metrics (metrics/wire.ts). */
  | ScrapePart
  /** What it is busy with now, in words, and that step's deadline in ms (null: none). */
  | { readonly t: 'progress'; readonly step: WorkerStep; readonly detail: string; readonly ms: number | null }
  /** It began a stop, and what the stop will call. */
  | { readonly t: 'stopping'; readonly mode: StopMode; readonly shape: WorkerShape }
  /** Why booting failed, sent just before exiting with code 3. */
  | { readonly t: 'boot_error'; readonly message: string }
  /** `max_requests` reached: start my replacement, then retire me. */
  | { readonly t: 'recycle' }
  /** App code called `host.reload()` or `host.stop()`. */
  | { readonly t: 'app_control'; readonly action: 'reload' | 'stop' }
  /** Under `dispatch: least_busy`: it closed this many connections since its last `closed`. */
  | { readonly t: 'closed'; readonly n: number };

export type Handlers<M extends { readonly t: string }, Extra extends unknown[] = []> = {
  readonly [K in M['t']]: (message: Extract<M, { t: K }>, ...extra: Extra) => void;
};

/** A message from the primary (trusted): dispatch on `t` through an own key of `handlers`. */
export function dispatchMessage<M extends { readonly t: string }, Extra extends unknown[]>(handlers: Handlers<M, Extra>, message: unknown, ...extra: Extra): void {
  const t = (message as { t?: unknown } | null)?.t;
  if (typeof t !== 'string' || !Object.hasOwn(handlers, t)) return;
  (handlers[t as M['t']] as (message: M, ...extra: Extra) => void)(message as M, ...extra);
}

/** hostd's own worker → primary message types (the `satisfies` fails to compile if one is missing). */
export const PRIMARY_MESSAGE_TYPES: ReadonlySet<string> = new Set(
  Object.keys({ ready: 0, heartbeat: 0, metrics: 0, progress: 0, stopping: 0, boot_error: 0, recycle: 0, app_control: 0, closed: 0 } satisfies Record<ToPrimary['t'], 0>),
);

/** The largest message app code may send through a worker's `process.send` (the primary parses every byte). */
export const MAX_APP_MESSAGE_BYTES = 1024 * 1024;

const STEPS: readonly WorkerStep[] = ['config', 'post_fork', 'app', 'post_worker_init', 'drain', 'post_request', 'worker_int', 'shutdown', 'worker_exit'];
/** More than any real worker has; a count above it is not a count. */
const MAX_COUNT = 100_000;
const MAX_TEXT = 64 * 1024;

const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_COUNT;
const isText = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_TEXT;

/** Bytes and request counts: whole, non-negative, and below what any process reaches. */
const isAmount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function parseHooks(value: unknown): HookHistograms | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'object' || value === undefined) return undefined;
  const hooks: HookHistograms = {};
  for (const [name, h] of Object.entries(value as Record<string, unknown>)) {
    if (!HOOK_NAMES.includes(name as HookName) || h === null || typeof h !== 'object') return undefined;
    const { buckets, sum, count } = h as Record<string, unknown>;
    if (!Array.isArray(buckets) || buckets.length !== HOOK_BUCKETS.length || !buckets.every(isAmount) || !isAmount(count)) return undefined;
    if (typeof sum !== 'number' || !Number.isFinite(sum) || sum < 0) return undefined;
    hooks[name as HookName] = { buckets: [...(buckets as number[])], sum, count };
  }
  return hooks;
}

function parseBeatStats(value: unknown): WorkerBeatStats | null {
  if (value === null || typeof value !== 'object') return null;
  const { requests, in_flight, rss_bytes, heap_used_bytes, elu, hooks, proxy_errors } = value as Record<string, unknown>;
  if (!isAmount(requests) || !isCount(in_flight) || !isAmount(rss_bytes) || !isAmount(heap_used_bytes)) return null;
  if (typeof elu !== 'number' || !(elu >= 0 && elu <= 1)) return null;
  if (proxy_errors !== undefined && !isAmount(proxy_errors)) return null;
  const parsedHooks = parseHooks(hooks);
  if (parsedHooks === undefined) return null;
  return { requests, in_flight, rss_bytes, heap_used_bytes, elu, hooks: parsedHooks, ...(proxy_errors ? { proxy_errors } : {}) };
}

function parseShape(value: unknown): WorkerShape | null {
  if (value === null || typeof value !== 'object') return null;
  const { post_request, worker_int, shutdown, worker_exit } = value as Record<string, unknown>;
  if (!isCount(post_request) || !isCount(worker_int) || !isCount(shutdown) || !isCount(worker_exit)) return null;
  return { post_request, worker_int, shutdown, worker_exit };
}

/** A worker's message, checked field by field; null for anything that is not one. */
export function parseToPrimary(value: unknown): ToPrimary | null {
  if (value === null || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  switch (m.t) {
    case 'ready': {
      const shape = parseShape(m.shape);
      return shape && { t: 'ready', shape };
    }
    case 'heartbeat': {
      if (!isCount(m.connections)) return null;
      if (m.stats === undefined) return { t: 'heartbeat', connections: m.connections };
      const stats = parseBeatStats(m.stats);
      return stats && { t: 'heartbeat', connections: m.connections, stats };
    }
    case 'metrics':
      // The families inside are checked one by one as they are merged (metrics/app-state.ts).
      return parseScrapePart(m);
    case 'progress':
      if (!STEPS.includes(m.step as WorkerStep) || !isText(m.detail) || !(m.ms === null || (typeof m.ms === 'number' && m.ms >= 0 && m.ms < 2 ** 31))) return null;
      return { t: 'progress', step: m.step as WorkerStep, detail: m.detail, ms: m.ms };
    case 'stopping': {
      const shape = parseShape(m.shape);
      return shape && (m.mode === 'graceful' || m.mode === 'fast' || m.mode === 'escalated') ? { t: 'stopping', mode: m.mode, shape } : null;
    }
    case 'boot_error':
      return isText(m.message) ? { t: 'boot_error', message: m.message } : null;
    case 'recycle':
      return { t: 'recycle' };
    case 'app_control':
      return m.action === 'reload' || m.action === 'stop' ? { t: 'app_control', action: m.action } : null;
    case 'closed':
      return isCount(m.n) && m.n > 0 ? { t: 'closed', n: m.n } : null;
    default:
      return null;
  }
}

/**
 * How often a worker sends its heartbeat: a quarter of `timeout` (between 20 ms and 1 s),
 * or every second when `timeout` is off (the primary still routes around a worker that is
 * late). The primary checks at the same pace.
 */
export function heartbeatMs(settings: Pick<ResolvedSettings, 'timeout'>): number {
  return settings.timeout > 0 ? Math.max(20, Math.min(1000, Math.floor((settings.timeout * 1000) / 4))) : 1000;
}

/** Exit code of a worker that could not boot (gunicorn's convention). */
export const BOOT_ERROR_EXIT = 3;

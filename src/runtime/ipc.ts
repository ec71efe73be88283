/**
 * The messages between the primary and its workers: discriminated unions plus typed
 * handler maps, so a message without a handler is a compile error on the receiving side.
 */
import type { ConfigInputs } from '../config/resolve.ts';
import type { WorkerExitReason } from '../hooks/contexts.ts';

/** Primary → worker. A `conn` message carries an accepted socket as its handle. */
export type ToWorker =
  | { readonly t: 'conn' }
  | { readonly t: 'stop'; readonly reason: WorkerExitReason; readonly fast: boolean }
  | { readonly t: 'reopen_logs' }
  /** A reload is starting a new generation; this worker serves until it is ready. */
  | { readonly t: 'reload'; readonly generation: number }
  /** The instance is draining (SIGTERM with drain_delay): readiness probes answer 503 from now on. */
  | { readonly t: 'unready' };

/** Worker → primary. */
export type ToPrimary =
  /** Booted: the app is loaded and `post_worker_init` ran; send it connections. */
  | { readonly t: 'ready' }
  /** The event loop is alive (see `timeout`). */
  | { readonly t: 'heartbeat' }
  /** Why booting failed, sent just before exiting with code 3. */
  | { readonly t: 'boot_error'; readonly message: string }
  /** `max_requests` reached: start my replacement, then retire me. */
  | { readonly t: 'recycle' }
  /** App code called `host.reload()` or `host.stop()`. */
  | { readonly t: 'app_control'; readonly action: 'reload' | 'stop' };

export type Handlers<M extends { readonly t: string }, Extra extends unknown[] = []> = {
  readonly [K in M['t']]: (message: Extract<M, { t: K }>, ...extra: Extra) => void;
};

export function isMessage<M extends { readonly t: string }>(value: unknown): value is M {
  return value !== null && typeof value === 'object' && typeof (value as { t?: unknown }).t === 'string';
}

/** What a worker is told at fork, in its environment (it is needed before any IPC arrives). */
export interface WorkerBoot {
  readonly id: number;
  readonly age: number;
  readonly generation: number;
  readonly primary: { readonly pid: number; readonly started_at: string; readonly version: string };
  /** The same inputs the primary resolved its config from. */
  readonly inputs: ConfigInputs;
  /** Requests before recycling, jitter included; 0 = never. */
  readonly max_requests: number;
  /** How often to send a heartbeat; 0 = none (`timeout` is 0). */
  readonly heartbeat_ms: number;
}

export const WORKER_BOOT_ENV = '__HOSTD_WORKER_BOOT';

/** Exit code of a worker that could not boot (gunicorn's convention). */
export const BOOT_ERROR_EXIT = 3;

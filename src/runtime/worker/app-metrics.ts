/**
 * The app's own prom-client metrics, for a scrape of the primary's `metrics_bind`. hostd
 * uses the app's copy of prom-client, resolved from the app module's folder, and only if the
 * app already loaded it: an app that does not use prom-client costs nothing and installs
 * nothing more.
 *
 * The answer goes in parts of bounded size, each sent once the one before it was written,
 * so the worker's event loop (its requests, its heartbeat) turns between them
 * (metrics/encoder.ts). Reading the registry (`getMetricsAsJSON()`) is the one piece that
 * cannot be cut: prom-client builds each metric's values in one call.
 */
import { createRequire } from 'node:module';
import { locateModule, splitAppSpec } from '../../config/app-spec.ts';
import { KILL_GRACE_SECONDS } from '../../config/stop-plan.ts';
import { ScrapeEncoder, type SendPart } from '../metrics/encoder.ts';
import { LAST_ANSWER_ID, type ScrapeRequest } from '../metrics/wire.ts';

interface PromClient {
  readonly register?: { getMetricsAsJSON?: () => unknown };
}

/** How long the app's registry may take to read (its `collect` functions run) before the answer says it failed. */
const COLLECT_TIMEOUT_MS = 10_000;
/** The longest a worker's exit waits for its last answer to be sent: half the time the primary allows a worker past its stop plan. */
export const LAST_ANSWER_MS = (KILL_GRACE_SECONDS * 1000) / 2;

/** The app's prom-client (null when the app did not load one), found once. */
let found: PromClient | null | undefined;

function promClient(app: string, root: string): PromClient | null {
  const file = locateModule(splitAppSpec(app).module, root);
  if (file === null) return null;
  const require = createRequire(file);
  let path: string;
  try {
    path = require.resolve('prom-client');
  } catch {
    return null;
  }
  // Loaded by the app (an ESM import of it lands here too): never load it ourselves.
  return require.cache[path] === undefined ? null : (require(path) as PromClient);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not read within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const encoder = new ScrapeEncoder();

async function answer(request: ScrapeRequest, app: string | null, root: string | null, send: SendPart): Promise<void> {
  // Not remembered while absent: the app may load it later (lazily, on its first request).
  if (app !== null && root !== null && !found) found = promClient(app, root);
  const register = found?.register;
  if (typeof register?.getMetricsAsJSON !== 'function') {
    await send(encoder.empty(request));
    return;
  }
  let metrics: unknown = null;
  try {
    metrics = await withTimeout(Promise.resolve(register.getMetricsAsJSON()), COLLECT_TIMEOUT_MS);
  } catch {
    // A collect function threw or hung: said below.
  }
  if (!Array.isArray(metrics)) await send(encoder.empty(request, true));
  else await encoder.encode(request, metrics, send);
}

interface Job {
  readonly request: ScrapeRequest;
  readonly app: string | null;
  readonly root: string | null;
  readonly send: SendPart;
  readonly done?: () => void;
}

let busy = false;
let waiting: Job | null = null;
/** The last answer is queued or sent: it answers any request that comes later. */
let ending = false;

function run(job: Job): void {
  busy = true;
  const { request, app, root, send } = job;
  void answer(request, app, root, send)
    // A part that could not be sent (labels JSON cannot hold): the primary is told the answer failed.
    .catch(() => send(encoder.empty(request, true)).catch(() => false))
    .finally(() => {
      busy = false;
      job.done?.();
      const next = waiting;
      waiting = null;
      if (next !== null) run(next);
    });
}

/**
 * Answers a scrape request with `getMetricsAsJSON()` of the app's default registry. One answer
 * at a time; a request that comes meanwhile waits, and only the latest (the primary waits
 * for no other).
 */
export function answerScrape(request: ScrapeRequest, app: string | null, root: string | null, send: SendPart): void {
  if (ending) return;
  if (busy) waiting = { request, app, root, send };
  else run({ request, app, root, send });
}

/**
 * The worker's last answer (LAST_ANSWER_ID), unasked, as it exits: after the answer being
 * sent, instead of a request waiting (it is newer than what that asked for). Resolves once it
 * was sent, or after `ms` (the exit waits no longer; the primary then keeps the answer before).
 * Nothing when the app has no prom-client: there is nothing to lose.
 */
export function answerLast(app: string | null, root: string | null, send: SendPart, ms: number): Promise<void> {
  ending = true;
  if (app !== null && root !== null && !found) found = promClient(app, root);
  if (!found) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const job: Job = {
      request: { t: 'metrics', id: LAST_ANSWER_ID, epoch: 0, known: 0 },
      app,
      root,
      send,
      done: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    if (busy) waiting = job;
    else run(job);
  });
}

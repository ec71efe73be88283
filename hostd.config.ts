/**
 * hostd's own example config: the main settings and every hook, each doing something
 * you can see in the log. `npm start` serves the plain node:http example app with it.
 *
 *   npx hostd check          validate it (try misspelling a key)
 *   npx hostd print-config   every value and where it came from
 *   kill -HUP <pid>          reload it without dropping a request
 *
 * This module runs in the primary and again in every worker (each is a fresh process),
 * so module-level state, like `served` below, is per process.
 */
import { defineConfig } from 'hostd';

let served = 0;

export default defineConfig(({ mode }) => ({
  // The app: a request listener, an object with fetch(), or a factory of either.
  app: './examples/node-http/src/app.ts',

  // Where to listen (override with -b or HOSTD_BIND), and how many workers serve.
  bind: '127.0.0.1:8000',
  workers: 2,

  // Seconds. A worker whose event loop is blocked for `timeout` is replaced; a stopping
  // worker may drain for `graceful_timeout`; each lifecycle hook gets `hook_timeout`.
  timeout: 30,
  graceful_timeout: 10,
  hook_timeout: 10,
  keepalive: 5,

  // Recycle each worker after about 10,000 requests (a replacement starts first).
  max_requests: 10_000,
  max_requests_jitter: 1_000,

  accesslog: '-',
  loglevel: mode === 'development' ? 'debug' : 'info',
  proc_name: 'hostd-example',
  env: { GREETING: 'hello from hostd' },

  // -- Primary: start -----------------------------------------------------------------
  on_starting: ({ log, server }) => {
    log.info(`hostd ${server.version}: primary pid ${server.pid}, ${server.config.workers} workers wanted`);
  },
  pre_fork: ({ worker, log }) => {
    log.debug(`starting worker ${worker.id} (#${worker.age} since start)`);
  },
  when_ready: ({ workers, server, log }) => {
    log.info(`ready: ${workers.length} workers on ${server.config.bind.join(', ')}`);
  },

  // -- Worker: boot -------------------------------------------------------------------
  post_fork: ({ worker, log }) => {
    log.info(`worker ${worker.id} is up (pid ${worker.pid})`);
  },
  post_worker_init: ({ worker, log }) => {
    log.info(`worker ${worker.id} loaded the app`);
  },

  // -- Worker: every request ----------------------------------------------------------
  pre_request: ({ req, res, request_id }) => {
    res.setHeader('x-request-id', request_id);
    // A hook may answer a request itself; the app is not called then.
    if (req.url === '/healthz') res.end('ok\n');
  },
  post_request: ({ req, status, duration_ms, log }) => {
    served++;
    if (status >= 500 || duration_ms > 1000) log.warn(`${req.method} ${req.url}: ${status} in ${duration_ms.toFixed(1)} ms`);
  },

  // -- Primary: changes ---------------------------------------------------------------
  on_reload: ({ previous, server, log }) => {
    log.info(`reloading: workers ${previous.workers} → ${server.config.workers}`);
  },
  nworkers_changed: ({ old, new: now, log }) => {
    log.info(`worker count ${old} → ${now}`);
  },

  // -- Stopping -----------------------------------------------------------------------
  worker_int: ({ worker, log }) => {
    log.warn(`worker ${worker.id} interrupted (fast stop)`);
  },
  worker_exit: ({ worker, reason, log }) => {
    // Cleanup that must run goes here: close pools, flush queues. An async hook is
    // awaited (up to hook_timeout); its `signal` aborts at the deadline.
    log.info(`worker ${worker.id} exiting (${reason}) after ${served} requests`);
  },
  child_exit: ({ worker, reason, exit_code, exit_signal, log }) => {
    log.info(`worker ${worker.id} ended: ${reason} (${exit_signal ?? `code ${exit_code}`})`);
  },
  on_exit: ({ exit_code, reason, log }) => {
    log.info(`hostd exiting: ${reason}, code ${exit_code}`);
  },
}));

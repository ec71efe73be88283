/**
 * Every claim of docs/guarantees.md is backed by an end-to-end test that fails if the claim
 * is false (issue 17). This is the audit, as data: for each row of "Hooks and events" (each
 * claim column), of "How a process ends" and of "The stop plan", the tests that show it.
 *
 * The rows come from where the page does (src/runtime/guarantees.ts, src/config/stop-plan.ts,
 * scripts/render.ts), so a row added without an entry fails here, by name. Each entry keeps
 * the sentence it audited: when a claim's wording changes, this fails until someone reads
 * the tests again and copies the new sentence. Each named test must exist in its file (for an
 * `it.each` title, its case must be named there too).
 *
 * A claim no test can falsify ("may not exist yet") says why instead. A claim found false is
 * still listed, with `false` saying what the code does instead; its test fails until hostd is
 * fixed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { STEP_DOCS } from '../scripts/render.ts';
import { stopPlan, type StopMode } from '../src/config/stop-plan.ts';
import { callGuarantees, STOP_PATHS } from '../src/runtime/guarantees.ts';
import { REPO } from './helpers/project.ts';

/** A test: its file, its title as written (an `it.each` template included), and for a template, the case. */
interface Shown {
  readonly file: string;
  readonly test: string;
  readonly case?: string;
}

type Evidence =
  | { readonly claim: string; readonly shown: readonly Shown[] }
  | { readonly claim: string; readonly unfalsifiable: string };

type Column = 'process' | 'after' | 'before' | 'deadline' | 'onFailure';

const FACTS = 'test/faults/hook-facts.test.ts';
const DEADLINES = 'test/faults/deadlines.test.ts';
const at = (file: string, test: string, each?: string): Shown => (each === undefined ? { file, test } : { file, test, case: each });

// The runs that show most of the table.
const START = at(FACTS, 'start, requests, TTIN and stop: each hook in its process, after and before what its row says');
const RELOAD = at(FACTS, 'reload: on_reload before any new worker; the old generation serves until the new one is ready; a retired worker takes no connection while draining, shutdown and worker_exit run');
const HANDLERS = at(FACTS, 'a failing handler is logged and the next still runs; draining handlers run together, waited for until graceful_timeout; request hooks have no deadline, a stop waits hook_timeout for them');
const PER_FUNCTION = at(FACTS, 'lets each of three functions of a hook take most of hook_timeout: every hook, at start, on a reload that adds a worker, and in a fast stop');
const INVALID = at(FACTS, 'does not run on_starting for a config that is not valid');
const FAST = at(DEADLINES, 'a fast stop: no drain_delay, no drain; worker_int, host.on("shutdown"), worker_exit, child_exit and on_exit each get their deadline (hook_timeout, below the 3 s cap), post_request calls 1 s; connections close right after worker_int');
// The deadlines themselves in fake time: the fast stop's 3 s cap, the second signal's 1 s.
const RUNNER = 'test/runtime/hooks/runner.test.ts';
const CAPPED = at(RUNNER, 'in a %s stop with hook_timeout %s, each function gets %s ms, then its signal aborts and the next runs', 'fast');
const SHORTENED = at(RUNNER, 'a second stop signal aborts a running call at once and gives it 1 s more, never more than it had left');
const HANDLER_CAPPED = at(RUNNER, "host.on('shutdown') handlers get the same deadline as the exit hooks, one after another");
const SECOND = at(DEADLINES, 'a second SIGTERM during the drain: running handlers are aborted at once, connections close, and every later call and wait gets 1 s');
const KILL = (mode: StopMode) => at(DEADLINES, 'after %s, the primary kills a worker that cannot run its stop (SIGSTOP) 1 s after the %s stop plan', mode);
// A second stop signal before a worker began stopping, or with draining handlers running; a reload handler cut by a stop.
const SECOND_IN_DRAIN_DELAY = at(DEADLINES, 'a second SIGTERM during drain_delay: the stop starts at once, worker_int and every later call get 1 s');
const SECOND_WITHOUT_WORKER_INT = at(DEADLINES, 'a second SIGTERM during the drain, without a worker_int function: the worker still gets its 1 s per call before the primary kills it');
const RELOAD_HANDLER_RETIRED = at(DEADLINES, "host.on('reload'): a worker retired while a reload handler still runs does not wait for it; its shutdown handlers and worker_exit run");
// Older tests.
const FAILING = (hook: string) => at('test/faults/hooks.test.ts', '%s that %s: the policy of its row holds', hook);
const PATH = (id: string) => at('test/faults/stop-paths.test.ts', '%s', id);
const TRACE = at('test/runtime/requests.test.ts', 'logs every hook call with its process, duration and outcome at loglevel debug');
const ORDER = at('test/runtime/lifecycle.test.ts', 'runs every hook at its phase, in the SPEC order, from on_starting to on_exit');
const TERM_IN_FLIGHT = at('test/runtime/lifecycle.test.ts', 'finishes an in-flight request on SIGTERM, refuses new connections, then exits 0');
const GRACEFUL_TIMEOUT = at('test/runtime/lifecycle.test.ts', 'cuts and reports a request still running at graceful_timeout');
const BLOCKED_KILL = at('test/runtime/lifecycle.test.ts', 'kills and reports a worker that cannot stop (its event loop is blocked)');
const HOST_ORDER = at('test/runtime/host.test.ts', 'is the instance the runtime drives, in a %s app: shutdown runs after the drain, before worker_exit', 'app.mjs');
const HOST_BOUND = at('test/runtime/host.test.ts', 'bounds a shutdown handler by hook_timeout and aborts its signal');
const HOST_EVENTS = at('test/runtime/host.test.ts', 'delivers reload and request events, and stops delivering after unsubscribe');
const PRIMARY_KILLED = at('test/runtime/host.test.ts', 'workers notice, stop accepting, drain, run shutdown handlers and worker_exit, and exit');
const SHUTDOWN_PER_HANDLER = at('test/runtime/generations.test.ts', 'lets every shutdown handler and worker_exit finish within their deadlines, with progress lines while it waits');
const BOOT_GIVE_UP = at('test/runtime/supervision.test.ts', 'gives up with exit code 3, naming the cause, when workers never boot: after workers + 2 failures, each retried with backoff');
const SIGINT = at('test/runtime/supervision.test.ts', 'stops fast on SIGINT: worker_int, no drain, exit hooks still run');
const ESCALATES = at('test/runtime/supervision.test.ts', 'escalates to a fast stop on a second SIGTERM');
const POST_WAITS = at('test/runtime/post-request-stop.test.ts', 'waits for one that finishes within hook_timeout: it ends before worker_exit');
const POST_BOUNDED = at('test/runtime/post-request-stop.test.ts', 'stops waiting for one that never settles at hook_timeout: worker_exit still runs');
const RELOAD_ROLLS = at('test/runtime/reload.test.ts', 'rolls to a new generation under load without failing a request');
const WS_CLOSE = at('test/runtime/websockets.test.ts', 'attach to the server the factory gets; a stop tells the app, which closes them with 1001, and ends without waiting for graceful_timeout');
const WS_DESTROYED = at('test/runtime/websockets.test.ts', 'are part of the drain: an app that ignores draining has them destroyed at graceful_timeout');

const PERMISSIVE = 'it says what hostd does not promise; a test could only show that it can happen, never fail';

/** docs/guarantees.md, "Hooks and events": every hook and host event, every claim column. */
const CALLS: Record<string, Record<Column, Evidence>> = {
  on_starting: {
    process: { claim: 'primary', shown: [START, TRACE] },
    after: { claim: 'the config was loaded and validated', shown: [START, INVALID] },
    before: { claim: 'no socket is bound, no worker exists', shown: [START] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('on_starting'), PER_FUNCTION] },
    onFailure: { claim: 'start aborted: workers stopped, `on_exit` runs, exit code 1', shown: [FAILING('on_starting')] },
  },
  pre_fork: {
    process: { claim: 'primary', shown: [START, TRACE] },
    after: { claim: 'the sockets are bound (at start)', shown: [START] },
    before: { claim: 'the worker process does not exist (`worker.pid` is null)', shown: [START, ORDER] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('pre_fork'), PER_FUNCTION] },
    onFailure: { claim: 'that worker is not started; counts as a boot failure', shown: [FAILING('pre_fork')] },
  },
  post_fork: {
    process: { claim: 'worker', shown: [START, TRACE] },
    after: {
      claim: "the worker process started and evaluated its generation's config",
      shown: [START, at('test/runtime/generations.test.ts', "a crash replacement runs its generation's settings and hook code, not the files as they are on disk now")],
    },
    before: { claim: 'the app is not loaded; no connection reaches this worker', shown: [START] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('post_fork'), PER_FUNCTION] },
    onFailure: { claim: 'the worker exits with code 3 (boot error) and is replaced with backoff', shown: [FAILING('post_fork'), BOOT_GIVE_UP] },
  },
  post_worker_init: {
    process: { claim: 'worker', shown: [START, TRACE] },
    after: { claim: 'the app is loaded (`app` in the context)', shown: [START, ORDER] },
    before: { claim: 'no connection has reached this worker', shown: [START] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('post_worker_init'), PER_FUNCTION] },
    // The backoff is the same boot failure path as post_fork's (BOOT_GIVE_UP).
    onFailure: { claim: 'the worker exits with code 3 (boot error) and is replaced with backoff', shown: [FAILING('post_worker_init'), BOOT_GIVE_UP] },
  },
  when_ready: {
    process: { claim: 'primary', shown: [START, TRACE] },
    after: { claim: 'every initial worker is ready and receiving connections', shown: [START] },
    before: { claim: 'nothing; it runs once', shown: [START, RELOAD, ORDER] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('when_ready'), PER_FUNCTION] },
    onFailure: { claim: 'start aborted: workers stopped, `on_exit` runs, exit code 1', shown: [FAILING('when_ready')] },
  },
  pre_request: {
    process: { claim: 'worker', shown: [START, TRACE] },
    after: { claim: 'the request head arrived', shown: [at('test/runtime/requests.test.ts', "passes the client's x-request-id through, and makes one otherwise"), START] },
    before: {
      claim: 'the app has not seen the request',
      shown: [
        at('test/runtime/requests.test.ts', 'lets pre_request answer the request itself; the app is not called, post_request still runs'),
        at('test/runtime/requests.test.ts', 'awaits async pre_request functions, in order, before the app'),
      ],
    },
    deadline: { claim: 'none', shown: [HANDLERS] },
    onFailure: { claim: '500 to the client (if nothing was sent yet), logged; `post_request` still runs', shown: [FAILING('pre_request'), HANDLERS] },
  },
  post_request: {
    process: { claim: 'worker', shown: [START, TRACE] },
    after: { claim: 'the response finished, or the client went away (`aborted`)', shown: [START, at('test/runtime/requests.test.ts', 'tells post_request when the client went away before the response finished')] },
    before: { claim: 'a stopping worker waits for running `post_request` calls, for at most `hook_timeout` (1 s in a fast stop)', shown: [POST_WAITS, POST_BOUNDED, FAST] },
    deadline: { claim: 'none', shown: [HANDLERS] },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('post_request')] },
  },
  on_reload: {
    process: { claim: 'primary', shown: [RELOAD] },
    after: { claim: 'the new config loaded and validated', shown: [RELOAD, at('test/runtime/reload.test.ts', 'keeps serving the old config when the new one is invalid, and logs every problem')] },
    before: { claim: 'no new worker started; the old generation serves', shown: [RELOAD] },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('on_reload'), PER_FUNCTION] },
    onFailure: { claim: 'reload abandoned; the old config and workers keep serving', shown: [FAILING('on_reload'), at('test/runtime/reload.test.ts', 'abandons a reload when on_reload throws')] },
  },
  nworkers_changed: {
    process: { claim: 'primary', shown: [START] },
    after: {
      claim: 'the target count changed (TTIN, TTOU, a reload that changed `workers`)',
      shown: [START, at('test/runtime/supervision.test.ts', 'adds a worker on TTIN and retires one on TTOU (never below one)'), RELOAD_ROLLS, RELOAD, PER_FUNCTION],
    },
    before: { claim: 'workers may still be starting or leaving', unfalsifiable: PERMISSIVE },
    deadline: { claim: '`hook_timeout` per function', shown: [FAILING('nworkers_changed'), PER_FUNCTION] },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('nworkers_changed')] },
  },
  worker_int: {
    process: { claim: 'worker', shown: [FAST] },
    after: {
      claim: 'the worker was told to stop fast (INT, QUIT, or a second stop signal before it began stopping)',
      shown: [PATH('int'), PATH('quit'), at('test/presets/kubernetes.test.ts', 'cuts drain_delay short on a second SIGTERM; the workers, not stopping yet, stop fast (worker_int)')],
    },
    before: { claim: 'connections are still open; they are closed right after', shown: [FAST] },
    deadline: {
      claim: '`hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal)',
      shown: [FAILING('worker_int'), FAST, CAPPED, PER_FUNCTION, SECOND_IN_DRAIN_DELAY],
    },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('worker_int')] },
  },
  worker_exit: {
    process: { claim: 'worker', shown: [START, TRACE, FAST] },
    after: {
      claim: "the worker stopped receiving connections, drained its requests (unless stopping fast or still booting) and ran its `host.on('shutdown')` handlers",
      shown: [RELOAD, TERM_IN_FLIGHT, HOST_ORDER, PATH('int'), PATH('term-while-booting')],
    },
    before: { claim: 'the process has not exited; it exits right after', shown: [START] },
    deadline: {
      claim: '`hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal)',
      shown: [FAILING('worker_exit'), FAST, CAPPED, SECOND, SHORTENED, PER_FUNCTION, SECOND_WITHOUT_WORKER_INT],
    },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('worker_exit')] },
  },
  child_exit: {
    process: { claim: 'primary', shown: [START, TRACE, FAST] },
    after: { claim: 'the worker process ended (any way, SIGKILL included)', shown: [START, PATH('worker-sigkill'), PATH('crash'), PATH('timeout')] },
    before: { claim: 'its replacement (if any) may not exist yet', unfalsifiable: PERMISSIVE },
    deadline: { claim: '`hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal)', shown: [FAILING('child_exit'), FAST, CAPPED, SECOND, SHORTENED, PER_FUNCTION] },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('child_exit')] },
  },
  on_exit: {
    process: { claim: 'primary', shown: [START, TRACE, FAST] },
    after: { claim: 'every worker ended and every `child_exit` ran', shown: [START, ORDER] },
    before: { claim: 'the primary has not exited; it exits right after with `exit_code`', shown: [START, FAST, FAILING('on_starting'), PATH('boot-failure')] },
    deadline: { claim: '`hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal)', shown: [FAILING('on_exit'), FAST, CAPPED, SECOND, SHORTENED, PER_FUNCTION] },
    onFailure: { claim: 'logged with the hook name and stack; nothing else changes', shown: [FAILING('on_exit')] },
  },
  "host.on('draining')": {
    process: { claim: 'worker', shown: [RELOAD] },
    after: {
      claim: 'the worker stopped receiving connections; its in-flight requests and open connections (WebSockets included) are still there',
      shown: [RELOAD, WS_CLOSE],
    },
    before: {
      claim: 'the worker has not waited for its connections: it waits while the handlers run, until every connection closed or `graceful_timeout` passed (then destroys the rest)',
      shown: [RELOAD, HANDLERS, WS_CLOSE, WS_DESTROYED],
    },
    deadline: { claim: "the drain's: handlers run together, alongside the drain, until `graceful_timeout` (at most 1 s more after a second stop signal)", shown: [HANDLERS, SECOND] },
    onFailure: { claim: 'logged; the next handler (and for `shutdown`, `worker_exit`) still runs', shown: [HANDLERS] },
  },
  "host.on('shutdown')": {
    process: { claim: 'worker', shown: [RELOAD, FAST] },
    after: {
      claim: 'the worker stopped receiving connections and drained its in-flight requests (unless stopping fast or still booting)',
      shown: [HOST_ORDER, RELOAD, PRIMARY_KILLED, PATH('int'), PATH('term-while-booting')],
    },
    before: { claim: '`worker_exit` has not run (handlers run first, in subscription order); the process has not exited', shown: [HOST_ORDER, SHUTDOWN_PER_HANDLER] },
    deadline: { claim: '`hook_timeout` per handler (at most 3 s in a fast stop, 1 s after a second stop signal)', shown: [HOST_BOUND, SHUTDOWN_PER_HANDLER, FAST, HANDLER_CAPPED, SECOND, SHORTENED] },
    onFailure: { claim: 'logged; the next handler (and for `shutdown`, `worker_exit`) still runs', shown: [HANDLERS] },
  },
  "host.on('reload')": {
    process: { claim: 'worker', shown: [RELOAD] },
    after: { claim: 'a reload validated the new config and is starting a new generation', shown: [RELOAD, HOST_EVENTS] },
    before: { claim: 'this worker keeps serving until the new generation is ready; it then gets `shutdown` with reason `reload`', shown: [RELOAD] },
    deadline: { claim: '`hook_timeout` per handler', shown: [HANDLERS, PER_FUNCTION] },
    onFailure: {
      claim:
        'logged; the next handler (and for `shutdown`, `worker_exit`) still runs, unless the worker stops first: a worker retired once the new generation is ready does not wait for its reload handlers still running, and the rest of them do not run',
      shown: [HANDLERS, RELOAD_HANDLER_RETIRED],
    },
  },
  "host.on('request')": {
    process: { claim: 'worker', shown: [HANDLERS] },
    after: { claim: 'the response finished or the client went away, and `post_request` was called', shown: [HOST_EVENTS, HANDLERS] },
    before: { claim: 'a stopping worker waits for async handlers still running, for at most `hook_timeout` (1 s in a fast stop)', shown: [HANDLERS, FAST] },
    deadline: { claim: 'none', shown: [HANDLERS] },
    onFailure: { claim: 'logged; the next handler (and for `shutdown`, `worker_exit`) still runs', shown: [HANDLERS] },
  },
};

/**
 * docs/guarantees.md, "How a process ends": test/faults/stop-paths.test.ts checks every
 * column but "what hostd does" for every row (the calls in order, the impossible ones,
 * requests in flight, service, exit code); these show what hostd does.
 */
const PATHS: Record<string, Evidence> = {
  term: { claim: 'graceful stop: the listeners close, every worker drains (up to `graceful_timeout`), then the hooks, then exit', shown: [TERM_IN_FLIGHT, GRACEFUL_TIMEOUT] },
  int: { claim: 'fast stop: no drain; the exit hooks still run, each with a short deadline', shown: [SIGINT, FAST] },
  quit: { claim: 'the same fast stop as SIGINT', shown: [PATH('quit')] },
  'second-signal': {
    claim: "escalates to the fast stop: running hooks' signals abort, waits shorten to 1 s, open connections close",
    shown: [SECOND, ESCALATES, SECOND_IN_DRAIN_DELAY, SECOND_WITHOUT_WORKER_INT],
  },
  hup: { claim: 'the new generation takes the connections once it is all ready; the old worker drains and leaves', shown: [RELOAD_ROLLS, RELOAD] },
  'max-requests': {
    claim: 'its replacement starts; once the replacement is ready it takes the connections and the old worker drains and leaves',
    shown: [at('test/runtime/supervision.test.ts', 'recycles a worker after max_requests, starting the replacement first, without failing a request')],
  },
  'max-memory': {
    // "One at a time across the instance" is shown only by the supervisor core's test (no process).
    claim:
      'the same replacement as for `max_requests`, one memory replacement at a time across the instance: the replacement starts, takes the connections once ready, and the old worker drains and leaves',
    shown: [
      at('test/runtime/max-memory.test.ts', 'replaces a worker above the limit while a client polls it, with no failed request'),
      at('test/runtime/primary/supervisor.test.ts', 'replaces a worker above max_memory for 3 heartbeats in a row, replacement first, one at a time'),
    ],
  },
  timeout: {
    claim:
      "the primary logs the JavaScript stack it is stuck in (recorded by the worker's watchdog thread; `child_exit` gets it as `stack`), kills it with SIGKILL and starts a replacement",
    shown: [at('test/runtime/stuck-stack.test.ts', 'is killed with the stack it was stuck in, in the log and in child_exit'), at('test/runtime/supervision.test.ts', 'kills and replaces a worker whose event loop is blocked for longer than timeout')],
  },
  crash: { claim: 'the worker logs the error and exits with code 1 at once; the primary starts a replacement', shown: [at('test/runtime/supervision.test.ts', 'replaces a crashed worker')] },
  'worker-sigkill': {
    claim: 'the primary reports it and starts a replacement',
    shown: [at('test/runtime/supervision.test.ts', 'replaces a worker killed with SIGKILL, keeping its id, and reports it in child_exit')],
  },
  'primary-sigkill': {
    claim: 'the listeners vanish with it; each worker notices at once, drains, runs its exit hooks and exits (no orphans)',
    shown: [PRIMARY_KILLED],
  },
  'boot-failure': {
    claim: 'each failure is retried with backoff; after `workers + 2` failures the primary stops with exit code 3 and the last cause',
    shown: [BOOT_GIVE_UP],
  },
  'boot-timeout': {
    claim:
      'the primary kills it with SIGKILL, naming what it was doing, and counts a boot failure: retried with backoff, and the primary stops with exit code 3 if none was ever ready',
    shown: [at('test/runtime/generations.test.ts', 'kills a worker that never becomes ready, names what it was doing, and gives exit 3')],
  },
  'term-while-booting': {
    claim: 'the worker stops booting at once (it has no requests to drain), runs its exit hooks and exits; the primary does not wait for the boot',
    shown: [at('test/runtime/generations.test.ts', 'does not make SIGTERM wait for a boot that never ends')],
  },
};

const MODES: readonly StopMode[] = ['graceful', 'fast', 'escalated'];
const MODE_COLUMN: Record<StopMode, 2 | 3 | 4> = { graceful: 2, fast: 3, escalated: 4 };

/** docs/guarantees.md, "The stop plan": every step in every mode (the cell's text, then the tests). */
const PLAN: Record<string, Record<StopMode, Evidence>> = {
  drain_delay: {
    graceful: { claim: '`drain_delay`', shown: [at('test/presets/kubernetes.test.ts', 'on SIGTERM answers /readyz with 503 for drain_delay while the app keeps serving, then stops gracefully')] },
    fast: { claim: 'skipped', shown: [FAST] },
    escalated: { claim: 'cut short', shown: [at('test/presets/kubernetes.test.ts', 'cuts drain_delay short on a second SIGTERM; the workers, not stopping yet, stop fast (worker_int)')] },
  },
  drain: {
    graceful: { claim: '`graceful_timeout`; then the rest are closed', shown: [GRACEFUL_TIMEOUT, TERM_IN_FLIGHT, WS_DESTROYED] },
    fast: { claim: 'skipped: connections are closed', shown: [FAST, SIGINT] },
    escalated: { claim: "connections are closed; `host.on('draining')` handlers still running get up to 1 s more", shown: [SECOND, ESCALATES, SECOND_WITHOUT_WORKER_INT] },
  },
  post_request: {
    graceful: { claim: '`hook_timeout` for all of them', shown: [POST_WAITS, POST_BOUNDED, HANDLERS] },
    fast: { claim: '1 s', shown: [FAST] },
    escalated: { claim: '1 s', shown: [SECOND] },
  },
  worker_int: {
    graceful: { claim: 'not called', shown: [PATH('term')] },
    fast: { claim: '`hook_timeout`, at most 3 s', shown: [FAST, CAPPED, FAILING('worker_int')] },
    escalated: {
      claim: '1 s (if the worker had not begun stopping)',
      shown: [SECOND_IN_DRAIN_DELAY],
    },
  },
  shutdown: {
    graceful: { claim: '`hook_timeout`', shown: [HOST_BOUND, SHUTDOWN_PER_HANDLER] },
    fast: { claim: '`hook_timeout`, at most 3 s', shown: [FAST] },
    escalated: { claim: '1 s', shown: [SECOND] },
  },
  worker_exit: {
    graceful: { claim: '`hook_timeout`', shown: [FAILING('worker_exit'), SHUTDOWN_PER_HANDLER] },
    fast: { claim: '`hook_timeout`, at most 3 s', shown: [FAST] },
    escalated: { claim: '1 s', shown: [SECOND] },
  },
  kill_grace: {
    graceful: { claim: '1 s after the steps above', shown: [BLOCKED_KILL] },
    fast: { claim: '1 s after the steps above', shown: [KILL('fast'), FAST] },
    escalated: {
      claim: '1 s after the steps above',
      shown: [KILL('escalated'), SECOND, SECOND_WITHOUT_WORKER_INT],
    },
  },
  child_exit: {
    graceful: { claim: '`hook_timeout`', shown: [FAILING('child_exit')] },
    fast: { claim: '`hook_timeout`, at most 3 s', shown: [FAST] },
    escalated: { claim: '1 s', shown: [SECOND] },
  },
  on_exit: {
    graceful: { claim: '`hook_timeout`', shown: [FAILING('on_exit')] },
    fast: { claim: '`hook_timeout`, at most 3 s', shown: [FAST] },
    escalated: { claim: '1 s', shown: [SECOND] },
  },
};

// ---- reading the test files ------------------------------------------------------------------

interface TestFile {
  /** The first argument of every it()/test() call, `it.each(...)(...)` and `it.skipIf(...)(...)` included. */
  readonly titles: Set<string>;
  /** Every string literal and property name in the file: where an `it.each` case is named. */
  readonly names: Set<string>;
}

const parsed = new Map<string, TestFile>();

function read(file: string): TestFile {
  const known = parsed.get(file);
  if (known) return known;
  const source = ts.createSourceFile(file, readFileSync(join(REPO, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const titles = new Set<string>();
  const names = new Set<string>();
  const root = (node: ts.Expression): ts.Expression => {
    let e = node;
    while (ts.isCallExpression(e) || ts.isPropertyAccessExpression(e)) e = e.expression;
    return e;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) names.add(node.text);
    if ((ts.isPropertyAssignment(node) || ts.isPropertyDeclaration(node)) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) names.add(node.name.text);
    if (ts.isCallExpression(node)) {
      const callee = root(node.expression);
      const first = node.arguments[0];
      if (ts.isIdentifier(callee) && (callee.text === 'it' || callee.text === 'test') && first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) {
        titles.add(first.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const result = { titles, names };
  parsed.set(file, result);
  return result;
}

/** Why `shown` does not name a test that exists, or null. */
function missing(shown: Shown): string | null {
  if (!existsSync(join(REPO, shown.file))) return `${shown.file} does not exist`;
  const file = read(shown.file);
  if (!file.titles.has(shown.test)) return `${shown.file} has no test titled "${shown.test}"`;
  if (shown.case !== undefined && !file.names.has(shown.case)) return `${shown.file} names no case "${shown.case}" for "${shown.test}"`;
  return null;
}

/** Checks one entry against the sentence the page has now. */
function check(where: string, entry: Evidence | undefined, sentence: string): void {
  expect(entry, `${where}: no entry; find or write the test that fails if "${sentence}" is false`).toBeDefined();
  expect(entry!.claim, `${where}: the page now says something else; read the tests again and copy the new sentence here`).toBe(sentence);
  if ('unfalsifiable' in entry!) {
    expect(entry.unfalsifiable.length).toBeGreaterThan(0);
    return;
  }
  expect(entry!.shown.length, `${where}: no test named`).toBeGreaterThan(0);
  const problems = entry!.shown.map(missing).filter((p) => p !== null);
  expect(problems, where).toEqual([]);
}

// ---- the checks ----------------------------------------------------------------------------------

const COLUMNS: readonly Column[] = ['process', 'after', 'before', 'deadline', 'onFailure'];

describe('every claim of docs/guarantees.md has a test that fails if it is false', () => {
  it('"Hooks and events": every hook and host event has an entry, and nothing else does', () => {
    expect(Object.keys(CALLS).sort()).toEqual(callGuarantees().map((row) => row.name).sort());
  });

  it.each(callGuarantees().flatMap((row) => COLUMNS.map((column) => [row.name, column, row] as const)))('"Hooks and events": %s, %s', (name, column, row) => {
    check(`${name} ${column}`, CALLS[name]?.[column], row[column]);
  });

  it('"How a process ends": every path has an entry, and test/faults/stop-paths.test.ts causes every path', () => {
    expect(Object.keys(PATHS).sort()).toEqual(STOP_PATHS.map((path) => path.id).sort());
    for (const path of STOP_PATHS) expect(missing(PATH(path.id)), path.id).toBeNull();
  });

  it.each(STOP_PATHS.map((path) => [path.id, path] as const))('"How a process ends": %s', (id, path) => {
    check(`${id} what`, PATHS[id], path.what);
  });

  it('"The stop plan": every step has an entry, and nothing else does', () => {
    const steps = stopPlan({ drain_delay: 0, graceful_timeout: 30, hook_timeout: 30 }, { post_request: 1, worker_int: 1, shutdown: 1, worker_exit: 1, child_exit: 1, on_exit: 1 }, 'graceful').steps;
    expect(Object.keys(PLAN).sort()).toEqual(steps.map((step) => step.name).sort());
    expect(Object.keys(STEP_DOCS).sort()).toEqual(steps.map((step) => step.name).sort());
  });

  it.each(Object.keys(STEP_DOCS).flatMap((step) => MODES.map((mode) => [step, mode] as const)))('"The stop plan": %s, %s', (step, mode) => {
    check(`${step} ${mode}`, PLAN[step]?.[mode], STEP_DOCS[step]![MODE_COLUMN[mode]]);
  });

  it('finds a missing test, a missing case and a changed sentence (the check itself can fail)', () => {
    expect(missing(at(FACTS, 'no such test'))).toMatch(/has no test titled/);
    expect(missing(FAILING('no_such_hook'))).toMatch(/names no case/);
    expect(missing(at('test/faults/none.test.ts', 'x'))).toMatch(/does not exist/);
    expect(() => check('x', { claim: 'old words', shown: [START] }, 'new words')).toThrow(/says something else/);
  });
});

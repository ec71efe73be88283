/**
 * The table of lifecycle calls: every hook and every `host.on()` event, with where it runs,
 * its failure policy, its deadline and its guarantees. Part of THE table (settings.ts
 * re-exports it), kept apart from the settings so that a worker, which needs the hooks and
 * not the validation of settings, loads neither the settings nor zod.
 */
/**
 * What a hook's failure (a throw, a rejection, or passing its deadline) does. The hook
 * runner applies the policy; call sites never decide it.
 */
export type HookPolicy =
  /** The primary stops starting: workers (if any) are stopped, `on_exit` runs, exit 1. */
  | 'abort_start'
  /** This worker is not started; it counts as a boot failure. */
  | 'skip_worker'
  /** The worker exits with code 3 (boot error). */
  | 'fail_worker'
  /** The client gets a 500 (if nothing was sent yet); `post_request` still runs. */
  | 'respond_500'
  /** The reload is abandoned: the old config and workers keep serving. */
  | 'abandon_reload'
  /** Logged; nothing else changes. */
  | 'log';

/**
 * How long one call may take: `hook_timeout`; `stop`, a call of a stop, whose deadline the
 * stop plan gives (`hook_timeout`, shorter in a fast stop: src/config/stop-plan.ts); `drain`,
 * run alongside the drain and bounded by it (`graceful_timeout`); or `none` (the request path, where a timer per call would cost every request).
 */
export type CallDeadline = 'hook_timeout' | 'stop' | 'drain' | 'none';

/**
 * One lifecycle call, a hook or a `host.on()` event: the whole contract users rely on. The
 * runner takes its policy and deadline from here; the docs, the editor hover and the JSON
 * Schema take their prose; a type test ties `context` to the context type.
 */
export interface CallRow<C extends readonly string[] = readonly string[]> {
  readonly runsIn: 'primary' | 'worker';
  /** When it runs, as the end of the sentence "Runs in the worker ...": it starts with before, after, when, once, on or as. */
  readonly when: string;
  /** The extra context fields, beyond the common ones. */
  readonly context: C;
  readonly onError: HookPolicy;
  readonly deadline: CallDeadline;
  /** What has happened when it runs (docs/guarantees.md). */
  readonly after: string;
  /** What has not happened yet when it runs. */
  readonly before: string;
  /** Where a failure does less than its policy says, the exception, ending the sentence "logged; the next handler still runs, ...". */
  readonly failureNote?: string;
}

/** A row, keeping where it runs as a literal (the core's `PrimaryHook` is derived from it). */
function call<const C extends readonly string[], const R extends CallRow['runsIn']>(row: CallRow<C> & { readonly runsIn: R }): CallRow<C> & { readonly runsIn: R } {
  return row;
}

/** Every hook, in lifecycle order. */
export const HOOKS = {
  on_starting: call({
    runsIn: 'primary',
    when: 'before the sockets are bound and any worker is forked',
    context: [],
    onError: 'abort_start',
    deadline: 'hook_timeout',
    after: 'the config was loaded and validated',
    before: 'no socket is bound, no worker exists',
  }),
  pre_fork: call({
    runsIn: 'primary',
    when: 'before each worker process is started',
    context: ['worker'],
    onError: 'skip_worker',
    deadline: 'hook_timeout',
    after: 'the sockets are bound (at start)',
    before: 'the worker process does not exist (`worker.pid` is null)',
  }),
  post_fork: call({
    runsIn: 'worker',
    when: 'as soon as a new worker process has loaded its config, before the app is loaded',
    context: ['worker'],
    onError: 'fail_worker',
    deadline: 'hook_timeout',
    after: "the worker process started and evaluated its generation's config",
    before: 'the app is not loaded; no connection reaches this worker',
  }),
  post_worker_init: call({
    runsIn: 'worker',
    when: 'after the app is loaded, before the worker accepts connections',
    context: ['worker', 'app'],
    onError: 'fail_worker',
    deadline: 'hook_timeout',
    after: 'the app is loaded (`app` in the context)',
    before: 'no connection has reached this worker',
  }),
  when_ready: call({
    runsIn: 'primary',
    when: 'once, after all initial workers accept connections',
    context: ['workers'],
    onError: 'abort_start',
    deadline: 'hook_timeout',
    after: 'every initial worker is ready and receiving connections',
    before: 'nothing; it runs once',
  }),
  pre_request: call({
    runsIn: 'worker',
    when: 'before the app sees a request; it may answer the request itself (e.g. 503)',
    context: ['worker', 'req', 'res', 'request_id', 'client'],
    onError: 'respond_500',
    deadline: 'none',
    after: 'the request head arrived',
    before: 'the app has not seen the request',
  }),
  post_request: call({
    runsIn: 'worker',
    when: 'after the response finished or the client went away',
    context: ['worker', 'req', 'res', 'request_id', 'client', 'status', 'duration_ms', 'error', 'aborted'],
    onError: 'log',
    deadline: 'none',
    after: 'the response finished, or the client went away (`aborted`)',
    before: 'a stopping worker waits for running `post_request` calls, for at most `hook_timeout` (1 s in a fast stop)',
  }),
  on_reload: call({
    runsIn: 'primary',
    when: 'on a reload (SIGHUP), after the new config loaded and validated, before new workers start',
    context: ['previous'],
    onError: 'abandon_reload',
    deadline: 'hook_timeout',
    after: 'the new config loaded and validated',
    before: 'no new worker started; the old generation serves',
  }),
  nworkers_changed: call({
    runsIn: 'primary',
    when: 'when the number of workers changed (TTIN, TTOU, a reload)',
    context: ['new', 'old'],
    onError: 'log',
    deadline: 'hook_timeout',
    after: 'the target count changed (TTIN, TTOU, a reload that changed `workers`)',
    before: 'workers may still be starting or leaving',
  }),
  worker_int: call({
    runsIn: 'worker',
    when: 'when the worker begins a fast stop (SIGINT or SIGQUIT)',
    context: ['worker'],
    onError: 'log',
    deadline: 'stop',
    after: 'the worker was told to stop fast (INT, QUIT, or a second stop signal before it began stopping)',
    before: 'connections are still open; they are closed right after',
  }),
  worker_exit: call({
    runsIn: 'worker',
    when: 'after the worker stopped accepting and drained in-flight requests, as the last thing before it exits',
    context: ['worker', 'reason'],
    onError: 'log',
    deadline: 'stop',
    after: "the worker stopped receiving connections, drained its requests (unless stopping fast or still booting) and ran its `host.on('shutdown')` handlers",
    before: 'the process has not exited; it exits right after',
  }),
  child_exit: call({
    runsIn: 'primary',
    when: 'after any worker process ended, including SIGKILL, crash and timeout',
    context: ['worker', 'exit_code', 'exit_signal', 'reason', 'stack'],
    onError: 'log',
    deadline: 'stop',
    after: 'the worker process ended (any way, SIGKILL included)',
    before: 'its replacement (if any) may not exist yet',
  }),
  on_exit: call({
    runsIn: 'primary',
    when: 'once, as the last thing before the primary exits, whatever the path',
    context: ['exit_code', 'reason'],
    onError: 'log',
    deadline: 'stop',
    after: 'every worker ended and every `child_exit` ran',
    before: 'the primary has not exited; it exits right after with `exit_code`',
  }),
} as const satisfies Record<string, CallRow>;

export type HookName = keyof typeof HOOKS;
export const HOOK_NAMES = Object.keys(HOOKS) as HookName[];

/** The hooks the primary runs (the rest run in the workers). */
export type PrimaryHook = { [H in HookName]: (typeof HOOKS)[H]['runsIn'] extends 'primary' ? H : never }[HookName];

/** Every `host.on()` event app and library code can subscribe to, in the same shape as the hooks. */
export const HOST_EVENTS = {
  draining: call({
    runsIn: 'worker',
    when: 'as a graceful stop begins (a reload retiring the worker included), before the worker waits for its connections to close',
    context: ['reason', 'deadline', 'signal'],
    onError: 'log',
    deadline: 'drain',
    after: 'the worker stopped receiving connections; its in-flight requests and open connections (WebSockets included) are still there',
    before: 'the worker has not waited for its connections: it waits while the handlers run, until every connection closed or `graceful_timeout` passed (then destroys the rest)',
  }),
  shutdown: call({
    runsIn: 'worker',
    when: 'when the worker stops, after it drained its in-flight requests and before `worker_exit`',
    context: ['reason', 'signal'],
    onError: 'log',
    deadline: 'stop',
    after: 'the worker stopped receiving connections and drained its in-flight requests (unless stopping fast or still booting)',
    before: '`worker_exit` has not run (handlers run first, in subscription order); the process has not exited',
  }),
  reload: call({
    runsIn: 'worker',
    when: 'when a reload validated a new config and starts a new generation',
    context: ['generation', 'signal'],
    onError: 'log',
    deadline: 'hook_timeout',
    after: 'a reload validated the new config and is starting a new generation',
    before: 'this worker keeps serving until the new generation is ready; it then gets `shutdown` with reason `reload`',
    failureNote: 'unless the worker stops first: a worker retired once the new generation is ready does not wait for its reload handlers still running, and the rest of them do not run',
  }),
  request: call({
    runsIn: 'worker',
    when: 'after each response finished or the client went away, once `post_request` was called',
    context: ['req', 'res', 'status', 'duration_ms', 'aborted', 'error'],
    onError: 'log',
    deadline: 'none',
    after: 'the response finished or the client went away, and `post_request` was called',
    before: 'a stopping worker waits for async handlers still running, for at most `hook_timeout` (1 s in a fast stop)',
  }),
} as const satisfies Record<string, CallRow>;

export type HostEventName = keyof typeof HOST_EVENTS;
export const HOST_EVENT_NAMES = Object.keys(HOST_EVENTS) as HostEventName[];

/** What each policy means, in words, for docs and the editor. */
export const POLICY_DOCS: Record<HookPolicy, string> = {
  abort_start: 'start aborted: workers stopped, `on_exit` runs, exit code 1',
  skip_worker: 'that worker is not started; counts as a boot failure',
  fail_worker: 'the worker exits with code 3 (boot error) and is replaced with backoff',
  respond_500: '500 to the client (if nothing was sent yet), logged; `post_request` still runs',
  abandon_reload: 'reload abandoned; the old config and workers keep serving',
  log: 'logged with the hook name and stack; nothing else changes',
};

/** What each context field holds, for docs and the editor. */
export const CONTEXT_DOCS: Record<string, string> = {
  worker: '`{ id, pid, age, generation, booted_at }`: `id` is the slot 1..workers, kept by a replacement; `pid` is null in `pre_fork`',
  workers: 'the workers now serving',
  app: 'the loaded app (listener or `{ fetch }`)',
  req: "Node's `IncomingMessage`",
  res: "Node's `ServerResponse`",
  request_id: 'the `x-request-id` header if the client sent one, else a new id',
  client: '`{ address, port, proto, verified }`: the client, behind the proxies `forwarded_allow_ips` trusts (forwarding headers, PROXY protocol); `verified` is true when it sent a certificate a CA of `ca_certs` signed (mutual TLS), false when it did not (or `cert_reqs` is `"none"`), null without TLS at hostd (the certificate itself is `req.socket.getPeerCertificate()`); computed when first read',
  status: 'the status code sent',
  duration_ms: 'time from the request to the end of the response',
  error: 'what the app (or `pre_request`) threw, if anything',
  aborted: 'true when the client went away before the response finished',
  previous: 'the config before this reload',
  new: 'the worker count now',
  old: 'the worker count before',
  reason: 'why',
  exit_code: 'the exit code, or null if ended by a signal',
  exit_signal: 'the signal that ended the process, or null',
  signal: 'an `AbortSignal`, aborted at the deadline or when the stop turns fast',
  stack: 'for a worker killed for `timeout`: the JavaScript stack it was stuck in, as `    at fn (file:line:column)` lines; otherwise null (or when none could be had)',
  deadline: 'when connections still open are destroyed (a `Date`, `graceful_timeout` after the stop began)',
  generation: 'the generation now starting',
};

/**
 * What hostd guarantees, as data: for every hook and host event, what it can rely on; for
 * every way a process can end, which hooks run and which cannot. docs/guarantees.md is
 * generated from this module, and the fault-matrix tests (test/faults/) check hostd
 * against the same rows, so the page and the behaviour cannot drift apart.
 */
import { HOOK_NAMES, HOOKS, type HookName, POLICY_DOCS } from '../config/settings.ts';

export interface CallGuarantee {
  /** What has happened when it runs. */
  readonly after: string;
  /** What has not happened yet. */
  readonly before: string;
}

/** For each hook: what has and has not happened when it runs (process, deadline and failure come from the settings table). */
export const HOOK_GUARANTEES: { readonly [H in HookName]: CallGuarantee } = {
  on_starting: { after: 'the config was loaded and validated', before: 'no socket is bound, no worker exists' },
  pre_fork: { after: 'the sockets are bound (at start)', before: 'the worker process does not exist (`worker.pid` is null)' },
  post_fork: { after: 'the worker process started and loaded the config', before: 'the app is not loaded; no connection reaches this worker' },
  post_worker_init: { after: 'the app is loaded (`app` in the context)', before: 'no connection has reached this worker' },
  when_ready: { after: 'every initial worker is ready and receiving connections', before: 'nothing; it runs once' },
  pre_request: { after: 'the request head arrived', before: 'the app has not seen the request' },
  post_request: { after: 'the response finished, or the client went away (`aborted`)', before: 'the worker stops only after this returns' },
  on_reload: { after: 'the new config loaded and validated', before: 'no new worker started; the old generation serves' },
  nworkers_changed: { after: 'the target count changed (TTIN, TTOU, a reload that changed `workers`)', before: 'workers may still be starting or leaving' },
  worker_int: { after: 'the worker was told to stop fast (INT, QUIT, a second stop signal)', before: 'connections are still open; they are closed right after' },
  worker_exit: {
    after: "the worker stopped receiving connections, drained its requests (unless stopping fast) and ran its `host.on('shutdown')` handlers",
    before: 'the process has not exited; it exits right after',
  },
  child_exit: { after: 'the worker process ended (any way, SIGKILL included)', before: 'its replacement (if any) may not exist yet' },
  on_exit: { after: 'every worker ended and every `child_exit` ran', before: 'the primary has not exited; it exits right after with `exit_code`' },
};

export interface HostEventGuarantee extends CallGuarantee {
  readonly event: 'shutdown' | 'reload' | 'request';
  readonly deadline: string;
  readonly onThrow: string;
}

export const HOST_EVENT_GUARANTEES: readonly HostEventGuarantee[] = [
  {
    event: 'shutdown',
    after: 'the worker stopped receiving connections and drained its in-flight requests (unless stopping fast)',
    before: '`worker_exit` has not run (handlers run first, in subscription order); the process has not exited',
    deadline: '`hook_timeout` per handler (3 s in a fast stop); `signal` aborts at the deadline',
    onThrow: 'logged; the next handler and `worker_exit` still run',
  },
  {
    event: 'reload',
    after: 'a reload validated the new config and is starting a new generation',
    before: 'this worker keeps serving until the new generation is ready; it then gets `shutdown` with reason `reload`',
    deadline: '`hook_timeout` per handler',
    onThrow: 'logged; nothing else changes',
  },
  {
    event: 'request',
    after: 'the response finished or the client went away, and `post_request` was called',
    before: 'the worker stops only after async handlers settle',
    deadline: 'none (keep it fast)',
    onThrow: 'logged; nothing else changes',
  },
];

/** A hook or host event that runs (or cannot) on a stop path, and the process it is in. */
export interface Step {
  readonly call: 'worker_int' | "host.on('shutdown')" | 'worker_exit' | 'child_exit' | 'on_exit';
  /** The reason it reports (`worker_exit`, `child_exit`, `on_exit`), or for the host event. */
  readonly reason?: string;
  /** on_exit's exit code. */
  readonly exitCode?: number;
}

/** A call that cannot happen on a stop path, and why. */
export interface Cannot {
  readonly call: Step['call'];
  readonly why: string;
}

export interface StopPath {
  readonly id: string;
  /** The event, as a user would name it. */
  readonly title: string;
  /** What hostd does. */
  readonly what: string;
  /** Runs, in this order, for the worker that ends (and then the primary). */
  readonly runs: readonly Step[];
  /** Cannot run, and why. */
  readonly cannot: readonly Cannot[];
  /** Requests in flight on the worker that ends. */
  readonly requests: 'finish' | 'are cut' | 'none yet';
  /** Whether the service goes on answering. */
  readonly service: 'goes on' | 'stops';
  /** The primary's exit code; null when the primary keeps running; 'SIGKILL' when it is killed. */
  readonly exit: number | null | 'SIGKILL';
}

const SIGKILL_WHY = 'a process killed with SIGKILL runs no code';
const PRIMARY_STAYS: Cannot = { call: 'on_exit', why: 'the primary keeps running' };
const NOT_FAST: Cannot = { call: 'worker_int', why: 'not a fast stop' };

export const STOP_PATHS: readonly StopPath[] = [
  {
    id: 'term',
    title: 'SIGTERM to the primary',
    what: 'graceful stop: the listeners close, every worker drains (up to `graceful_timeout`), then the hooks, then exit',
    runs: [{ call: "host.on('shutdown')", reason: 'shutdown' }, { call: 'worker_exit', reason: 'shutdown' }, { call: 'child_exit', reason: 'shutdown' }, { call: 'on_exit', reason: 'shutdown', exitCode: 0 }],
    cannot: [NOT_FAST],
    requests: 'finish',
    service: 'stops',
    exit: 0,
  },
  {
    id: 'int',
    title: 'SIGINT to the primary',
    what: 'fast stop: no drain; the exit hooks still run, each with a short deadline',
    runs: [
      { call: 'worker_int' },
      { call: "host.on('shutdown')", reason: 'shutdown' },
      { call: 'worker_exit', reason: 'shutdown' },
      { call: 'child_exit', reason: 'shutdown' },
      { call: 'on_exit', reason: 'interrupt', exitCode: 0 },
    ],
    cannot: [],
    requests: 'are cut',
    service: 'stops',
    exit: 0,
  },
  {
    id: 'quit',
    title: 'SIGQUIT to the primary',
    what: 'the same fast stop as SIGINT',
    runs: [
      { call: 'worker_int' },
      { call: "host.on('shutdown')", reason: 'shutdown' },
      { call: 'worker_exit', reason: 'shutdown' },
      { call: 'child_exit', reason: 'shutdown' },
      { call: 'on_exit', reason: 'interrupt', exitCode: 0 },
    ],
    cannot: [],
    requests: 'are cut',
    service: 'stops',
    exit: 0,
  },
  {
    id: 'second-signal',
    title: 'a second SIGTERM or SIGINT during a graceful stop',
    what: "escalates to the fast stop: running hooks' signals abort, waits shorten to 1 s, open connections close",
    runs: [{ call: "host.on('shutdown')", reason: 'shutdown' }, { call: 'worker_exit', reason: 'shutdown' }, { call: 'child_exit', reason: 'shutdown' }, { call: 'on_exit', reason: 'shutdown', exitCode: 0 }],
    cannot: [{ call: 'worker_int', why: 'the worker was already stopping gracefully; escalation does not rerun its start' }],
    requests: 'are cut',
    service: 'stops',
    exit: 0,
  },
  {
    id: 'hup',
    title: 'SIGHUP: an old worker retired by a reload',
    what: 'the new generation takes the connections once it is all ready; the old worker drains and leaves',
    runs: [{ call: "host.on('shutdown')", reason: 'reload' }, { call: 'worker_exit', reason: 'reload' }, { call: 'child_exit', reason: 'reload' }],
    cannot: [NOT_FAST, PRIMARY_STAYS],
    requests: 'finish',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'max-requests',
    title: 'a worker reaches `max_requests`',
    what: 'its replacement starts; once the replacement is ready it takes the connections and the old worker drains and leaves',
    runs: [{ call: "host.on('shutdown')", reason: 'max_requests' }, { call: 'worker_exit', reason: 'max_requests' }, { call: 'child_exit', reason: 'max_requests' }],
    cannot: [NOT_FAST, PRIMARY_STAYS],
    requests: 'finish',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'timeout',
    title: "a worker's event loop is blocked for `timeout` (heartbeat timeout)",
    what: 'the primary kills it with SIGKILL and starts a replacement',
    runs: [{ call: 'child_exit', reason: 'timeout' }],
    cannot: [
      { call: "host.on('shutdown')", why: `the worker cannot run code (blocked), and ${SIGKILL_WHY}` },
      { call: 'worker_exit', why: `the worker cannot run code (blocked), and ${SIGKILL_WHY}` },
      PRIMARY_STAYS,
    ],
    requests: 'are cut',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'crash',
    title: 'a worker crashes (an uncaught exception)',
    what: 'the worker logs the error and exits with code 1 at once; the primary starts a replacement',
    runs: [{ call: 'child_exit', reason: 'crash' }],
    cannot: [
      { call: "host.on('shutdown')", why: 'after an uncaught exception the process state cannot be trusted to run async cleanup (Node\'s own advice)' },
      { call: 'worker_exit', why: 'after an uncaught exception the process state cannot be trusted to run async cleanup' },
      PRIMARY_STAYS,
    ],
    requests: 'are cut',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'worker-sigkill',
    title: 'a worker is killed with SIGKILL (the OOM killer, `kill -9`)',
    what: 'the primary reports it and starts a replacement',
    runs: [{ call: 'child_exit', reason: 'killed' }],
    cannot: [
      { call: "host.on('shutdown')", why: SIGKILL_WHY },
      { call: 'worker_exit', why: SIGKILL_WHY },
      PRIMARY_STAYS,
    ],
    requests: 'are cut',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'primary-sigkill',
    title: 'the primary is killed with SIGKILL (or the OOM killer)',
    what: 'the listeners vanish with it; each worker notices at once, drains, runs its exit hooks and exits (no orphans)',
    runs: [{ call: "host.on('shutdown')", reason: 'shutdown' }, { call: 'worker_exit', reason: 'shutdown' }],
    cannot: [
      { call: 'child_exit', why: `the primary is gone: ${SIGKILL_WHY}` },
      { call: 'on_exit', why: `the primary is gone: ${SIGKILL_WHY}` },
    ],
    requests: 'finish',
    service: 'stops',
    exit: 'SIGKILL',
  },
  {
    id: 'boot-failure',
    title: 'workers keep failing at boot before any was ever ready',
    what: 'each failure is retried with backoff; after `workers + 2` failures the primary stops with exit code 3 and the last cause',
    runs: [{ call: 'child_exit', reason: 'boot_error' }, { call: 'on_exit', reason: 'boot_error', exitCode: 3 }],
    cannot: [
      { call: "host.on('shutdown')", why: 'the worker never finished booting' },
      { call: 'worker_exit', why: 'the worker never finished booting' },
    ],
    requests: 'none yet',
    service: 'stops',
    exit: 3,
  },
];

/** A call as the guarantees page writes it: `worker_exit (reload)`. */
export function describeStep(step: Step): string {
  const process = step.call === 'child_exit' || step.call === 'on_exit' ? 'primary' : 'worker';
  const detail = [step.reason, step.exitCode === undefined ? undefined : `exit ${step.exitCode}`].filter(Boolean).join(', ');
  return `\`${step.call}\`${detail ? ` (${detail})` : ''} in the ${process}`;
}

/** The hooks that still run in a fast stop, with its short deadline. */
export const EXIT_HOOKS: readonly HookName[] = ['worker_int', 'worker_exit', 'child_exit', 'on_exit'];

/** Every hook, for the page: its row in the settings table plus what it can rely on. */
export function hookGuarantees() {
  return HOOK_NAMES.map((name) => ({
    name,
    process: HOOKS[name].runsIn,
    deadline: HOOKS[name].deadline === 'none' ? 'none' : EXIT_HOOKS.includes(name) ? '`hook_timeout` per function (3 s in a fast stop)' : '`hook_timeout` per function',
    onFailure: POLICY_DOCS[HOOKS[name].onError],
    ...HOOK_GUARANTEES[name],
  }));
}

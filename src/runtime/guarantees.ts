/**
 * What hostd guarantees, as data: for every way a process can end, which hooks run and
 * which cannot. What each hook and host event can rely on is its row in the settings
 * table. docs/guarantees.md is generated from both, and the fault-matrix tests
 * (test/faults/) check hostd against the same rows, so the page and the behaviour cannot
 * drift apart.
 */
import { type CallDeadline, type CallRow, HOOK_NAMES, HOOKS, HOST_EVENT_NAMES, HOST_EVENTS, POLICY_DOCS } from '../config/settings.ts';
import { ESCALATED_SECONDS, FAST_CALL_SECONDS } from '../config/stop-plan.ts';
import type { Reason } from '../hooks/reasons.ts';

/** A hook or host event that runs (or cannot) on a stop path, and the process it is in. */
export interface Step {
  readonly call: 'worker_int' | "host.on('shutdown')" | 'worker_exit' | 'child_exit' | 'on_exit';
  /** The reason it reports (`worker_exit`, `child_exit`, `on_exit`), or for the host event. */
  readonly reason?: Reason;
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
      { call: 'on_exit', reason: 'shutdown', exitCode: 0 },
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
      { call: 'on_exit', reason: 'shutdown', exitCode: 0 },
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
    id: 'max-memory',
    title: "a worker's RSS stays above `max_memory` for 3 heartbeats",
    what: 'the same replacement as for `max_requests`, one memory replacement at a time across the instance: the replacement starts, takes the connections once ready, and the old worker drains and leaves',
    runs: [{ call: "host.on('shutdown')", reason: 'max_memory' }, { call: 'worker_exit', reason: 'max_memory' }, { call: 'child_exit', reason: 'max_memory' }],
    cannot: [NOT_FAST, PRIMARY_STAYS],
    requests: 'finish',
    service: 'goes on',
    exit: null,
  },
  {
    id: 'timeout',
    title: "a worker's event loop is blocked for `timeout` (heartbeat timeout)",
    what: 'the primary logs the JavaScript stack it is stuck in (recorded by the worker\'s watchdog thread; `child_exit` gets it as `stack`), kills it with SIGKILL and starts a replacement',
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
  {
    id: 'boot-timeout',
    title: 'a worker is not ready within `boot_timeout` (its app never finishes loading)',
    what: 'the primary kills it with SIGKILL, naming what it was doing, and counts a boot failure: retried with backoff, and the primary stops with exit code 3 if none was ever ready',
    runs: [{ call: 'child_exit', reason: 'boot_error' }, { call: 'on_exit', reason: 'boot_error', exitCode: 3 }],
    cannot: [
      { call: "host.on('shutdown')", why: SIGKILL_WHY },
      { call: 'worker_exit', why: SIGKILL_WHY },
    ],
    requests: 'none yet',
    service: 'stops',
    exit: 3,
  },
  {
    id: 'term-while-booting',
    title: 'SIGTERM while a worker is still booting',
    what: 'the worker stops booting at once (it has no requests to drain), runs its exit hooks and exits; the primary does not wait for the boot',
    runs: [{ call: "host.on('shutdown')", reason: 'shutdown' }, { call: 'worker_exit', reason: 'shutdown' }, { call: 'child_exit', reason: 'shutdown' }, { call: 'on_exit', reason: 'shutdown', exitCode: 0 }],
    cannot: [NOT_FAST],
    requests: 'none yet',
    service: 'stops',
    exit: 0,
  },
];

/** A call as the guarantees page writes it: `worker_exit (reload)`. */
export function describeStep(step: Step): string {
  const process = step.call === 'child_exit' || step.call === 'on_exit' ? 'primary' : 'worker';
  const detail = [step.reason, step.exitCode === undefined ? undefined : `exit ${step.exitCode}`].filter(Boolean).join(', ');
  return `\`${step.call}\`${detail ? ` (${detail})` : ''} in the ${process}`;
}

/** A deadline kind in words, per function (hooks) or per handler (host events). */
export function deadlineDoc(deadline: CallDeadline, each: 'function' | 'handler'): string {
  if (deadline === 'none') return 'none';
  if (deadline === 'drain') return `the drain's: handlers run together, alongside the drain, until \`graceful_timeout\` (at most ${ESCALATED_SECONDS} s more after a second stop signal)`;
  const base = `\`hook_timeout\` per ${each}`;
  return deadline === 'hook_timeout' ? base : `${base} (at most ${FAST_CALL_SECONDS} s in a fast stop, ${ESCALATED_SECONDS} s after a second stop signal)`;
}

export interface CallGuarantee {
  /** `on_exit`, or `host.on('shutdown')`. */
  readonly name: string;
  readonly process: CallRow['runsIn'];
  readonly after: string;
  readonly before: string;
  readonly deadline: string;
  readonly onFailure: string;
}

/** Every hook, then every host event, for the page: its row in the settings table, in words. */
export function callGuarantees(): CallGuarantee[] {
  const describe = (name: string, row: CallRow, each: 'function' | 'handler'): CallGuarantee => ({
    name,
    process: row.runsIn,
    after: row.after,
    before: row.before,
    deadline: deadlineDoc(row.deadline, each),
    onFailure: each === 'handler' ? `logged; the next handler (and for \`shutdown\`, \`worker_exit\`) still runs${row.failureNote ? `, ${row.failureNote}` : ''}` : POLICY_DOCS[row.onError],
  });
  return [
    ...HOOK_NAMES.map((name) => describe(name, HOOKS[name], 'function')),
    ...HOST_EVENT_NAMES.map((name) => describe(`host.on('${name}')`, HOST_EVENTS[name], 'handler')),
  ];
}

/**
 * What the supervisor core and the shell say to each other: the events the shell feeds the
 * core (what happened), and the commands the core gives the shell (what to do). Everything
 * the primary decides goes through these two unions. A worker is named by its age (unique
 * for the primary's life); its slot is its `id`.
 */
import type { HookName, PrimaryHook } from '../../config/hooks-table.ts';
import type { ReloadPlan } from '../../config/reload-plan.ts';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import type { HookFields } from '../../hooks/contexts.ts';
import type { ToPrimary, ToWorker } from '../ipc.ts';
import type { Level } from '../log.ts';
import type { TimerKey } from './core/timers.ts';

export type { PrimaryHook } from '../../config/hooks-table.ts';
export type { TimerKey } from './core/timers.ts';

/** One config generation, as far as decisions need it (the shell keeps its hooks and sources). */
export interface GenerationInfo {
  readonly number: number;
  readonly settings: ResolvedSettings;
  /** How many worker processes it runs (`workers`, with "auto" resolved). */
  readonly workers: number;
  /** How many functions each hook has. */
  readonly hooks: { readonly [P in HookName]: number };
  /** The cgroup memory limit in bytes where there is one (`max_memory: "auto"` shares it). */
  readonly memoryLimit?: number | null;
}

export type PrimarySignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGTTIN' | 'SIGTTOU' | 'SIGUSR1' | 'SIGUSR2';

/** What the integrations (systemd, the file watcher, the pidfile, the reaper) follow. */
export type Lifecycle = 'listening' | 'ready' | 'reloading' | 'reloaded' | 'reload_failed' | 'stopping' | 'draining' | 'exiting' | 'exited';

/** What a control command asks of the core (`status` and `stop` need no decision with an answer). */
export type CoreRequest = { readonly t: 'reload' } | { readonly t: 'upgrade' } | { readonly t: 'scale'; readonly n: number; readonly relative: boolean };

/**
 * What a control request waits for before its outcome, as the core knows it now (`waitsFor`):
 * the start, a reload or an upgrade under way (`own`: the request's own reload or upgrade), a
 * reload queued to run after it.
 */
export type Wait =
  | { readonly t: 'start' }
  /** `from`: the generation serving when it began; `switched`: its new generation has started (what is left is counted from that one's settings). */
  | { readonly t: 'reload'; readonly own: boolean; readonly from: number; readonly switched: boolean }
  /** `until`: the core's awake time (core/awake.ts) at which the new primary serves or is given up at the latest (its `plan`, from when it was started); null: no bound. */
  | { readonly t: 'upgrade'; readonly own: boolean; readonly until: number | null; readonly plan: ReloadPlan }
  | { readonly t: 'queued_reload'; readonly own: boolean };

/** The core's answer to a request: what it did, or why not. */
export type CoreAnswer = { readonly ok: true; readonly generation?: number; readonly workers?: number; readonly was?: number; readonly pid?: number } | { readonly ok: false; readonly error: string };

export type Event =
  | { readonly t: 'start' }
  /**
   * A command with a token finished: a hook (`failure` is set when its policy must act), a
   * bind, or the integrations following `listening` (a failure aborts the start).
   */
  | { readonly t: 'done'; readonly token: number; readonly failure: string | null }
  | { readonly t: 'resolved'; readonly token: number; readonly generation: GenerationInfo }
  /** The new primary of an `upgrade` serves (pid); its failure comes as `done` with the reason. */
  | { readonly t: 'upgraded'; readonly token: number; readonly pid: number }
  /** The new primary of upgrade `token` exited (whether it served or not). */
  | { readonly t: 'successor_exited'; readonly token: number }
  | { readonly t: 'rejected'; readonly token: number; readonly problems: string }
  | { readonly t: 'forked'; readonly age: number; readonly pid: number }
  | { readonly t: 'message'; readonly age: number; readonly message: ToPrimary }
  | { readonly t: 'exited'; readonly age: number; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  /**
   * The worker was asked for its app metrics (a scrape): reading a large registry may hold its
   * event loop, for which it is not killed, for at most `ms` (the scrape's wait).
   */
  | { readonly t: 'collecting'; readonly age: number; readonly ms: number }
  /** The scrape's wait for that worker is over: it answered (a sign of life), or it did not. */
  | { readonly t: 'collected'; readonly age: number; readonly answered: boolean }
  /** The JavaScript stack a worker killed for `timeout` was stuck in (null: none could be had). */
  | { readonly t: 'stack'; readonly age: number; readonly stack: string | null }
  | { readonly t: 'signal'; readonly signal: PrimarySignal }
  /** A control command; the core answers it with a `reply` carrying the same id. */
  | { readonly t: 'request'; readonly id: number; readonly request: CoreRequest }
  | { readonly t: 'timer'; readonly name: TimerKey }
  /** A watched file changed (`reload: true`). */
  | { readonly t: 'changed'; readonly file: string }
  /** An uncaught error in the primary itself. */
  | { readonly t: 'crashed'; readonly error: string };

/** Runs a primary hook with exactly its own context fields. */
export type RunHook<H extends PrimaryHook = PrimaryHook> = {
  [K in H]: { readonly t: 'run_hook'; readonly token: number; readonly hook: K; readonly generation: number; readonly fields: HookFields<K> };
}[H];

export type Command =
  | RunHook
  /** Opens listeners for these binds, with `generation`'s settings (backlog, TLS). */
  | { readonly t: 'listen'; readonly token: number; readonly binds: readonly string[]; readonly generation: number }
  | { readonly t: 'unlisten'; readonly binds: readonly string[] }
  /** Starts a new primary on the listening sockets; answered with `upgraded` once it serves, or `done` (its failure: it exited, it could not start). */
  | { readonly t: 'upgrade'; readonly token: number }
  /** The new primary of the upgrade with this token: taken on (`take`: every connection goes to it, and it is told so), or turned down and stopped (its limit passed, a stop came first). */
  /** The new primary of `upgrade`: forward to it (`take`), tell it to stop (SIGTERM), or, told already and not gone within its stop's bound, `kill` it (SIGKILL). */
  | { readonly t: 'successor'; readonly upgrade: number; readonly take: boolean; readonly kill?: true }
  /** Resolve the config again; it becomes generation `generation` if accepted. */
  | { readonly t: 'resolve'; readonly token: number; readonly generation: number }
  /** A generation no worker will be started for again (its reload failed, or a newer one took over). */
  | { readonly t: 'forget'; readonly generation: number }
  /** The current generation changed: logging, the connection backlog. */
  | { readonly t: 'use'; readonly generation: number }
  | { readonly t: 'fork'; readonly age: number; readonly id: number; readonly generation: number }
  | { readonly t: 'send'; readonly age: number; readonly message: ToWorker }
  /** `why`: `timeout` asks the shell for the stack the worker is stuck in first (a `stack` event). */
  | { readonly t: 'kill'; readonly age: number; readonly why: 'timeout' | 'deadline' | 'boot_timeout' }
  /**
   * The workers that receive new connections, in the order `dispatch` takes them in turn;
   * `slots`: how many worker slots the current generation has (sticky sessions share client addresses among them).
   */
  | { readonly t: 'route'; readonly ages: readonly number[]; readonly slots: number }
  /** Connections waiting in the primary go to this worker, or are closed (null). */
  | { readonly t: 'hand_over'; readonly age: number | null }
  /** Sets (ms from now) or clears (null) a named timer. */
  | { readonly t: 'timer'; readonly name: TimerKey; readonly ms: number | null }
  | { readonly t: 'log'; readonly level: Level; readonly message: string }
  /** A second stop signal: the primary's running hooks' signals abort, their waits shorten. */
  | { readonly t: 'escalate' }
  | { readonly t: 'reopen_logs' }
  /** Tells the integrations; with a token, the shell answers `done` once they followed it. */
  | { readonly t: 'lifecycle'; readonly event: Lifecycle; readonly token?: number }
  /** The answer to the `request` with this id. */
  | { readonly t: 'reply'; readonly id: number; readonly answer: CoreAnswer }
  | { readonly t: 'exit'; readonly code: number };

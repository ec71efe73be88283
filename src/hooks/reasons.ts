/**
 * The reason words: why a worker or the primary stops. One table is the source of the
 * `reason` types of the hook contexts, of the words in hostd's log lines, and of the
 * reasons table in docs/guarantees.md; test/reasons.test.ts fails when a log line or a doc
 * uses a word that is not here. How a stop is carried out (graceful, fast, escalated) is its
 * mode, a separate word: SIGINT is reason `shutdown`, mode `fast`.
 */
import type { StopMode } from '../config/stop-plan.ts';

/** The hooks a reason is reported to. */
export type ReasonHook = 'worker_exit' | 'child_exit' | 'on_exit';

interface ReasonRow {
  readonly hooks: readonly ReasonHook[];
  /** When this is the reason, as the docs say it. */
  readonly doc: string;
}

export const REASONS = {
  shutdown: {
    hooks: ['worker_exit', 'child_exit', 'on_exit'],
    doc: 'a stop: SIGTERM (graceful), SIGINT or SIGQUIT (fast) to the primary or to the worker alone, `host.stop()`, or a worker above the count after TTOU',
  },
  reload: { hooks: ['worker_exit', 'child_exit'], doc: "an old worker retired once a reload's new generation is ready, or a new worker of a reload that failed" },
  max_requests: { hooks: ['worker_exit', 'child_exit'], doc: 'the worker served `max_requests` (plus jitter) and its replacement is ready' },
  max_memory: { hooks: ['worker_exit', 'child_exit'], doc: "the worker's RSS stayed above `max_memory` for 3 heartbeats in a row, and its replacement is ready" },
  timeout: { hooks: ['child_exit'], doc: 'the worker sent no heartbeat for `timeout` seconds (its event loop was blocked) and was killed' },
  crash: { hooks: ['child_exit'], doc: 'the worker exited with a non-zero code without being asked to stop (an uncaught exception)' },
  killed: { hooks: ['child_exit'], doc: 'the worker was ended by a signal hostd did not send (the OOM killer, `kill -9`), or killed past its stop plan' },
  boot_error: {
    hooks: ['child_exit', 'on_exit'],
    doc: 'the worker failed to boot or was not ready within `boot_timeout`; for `on_exit`, workers kept failing at boot before any was ready (exit code 3)',
  },
  start_failed: { hooks: ['on_exit'], doc: '`on_starting` or `when_ready` failed, or a socket or the pidfile could not be set up (exit code 1)' },
  error: { hooks: ['on_exit'], doc: 'an unexpected error in the primary itself (exit code 1)' },
} as const satisfies Record<string, ReasonRow>;

/** Every reason word. */
export type Reason = keyof typeof REASONS;

type ReportedTo<H extends ReasonHook> = { [R in Reason]: H extends (typeof REASONS)[R]['hooks'][number] ? R : never }[Reason];

/** Why a worker stops, as the worker knows it (`worker_exit`, `host.on('shutdown')`). */
export type WorkerExitReason = ReportedTo<'worker_exit'>;

/** Why a worker process ended, as the primary knows it (`child_exit`). */
export type ChildExitReason = ReportedTo<'child_exit'>;

/** Why the primary exits (`on_exit`). */
export type PrimaryExitReason = ReportedTo<'on_exit'>;

export const REASON_NAMES = Object.keys(REASONS) as Reason[];

/** The words after a reason in a log line: how the stop is carried out, or where it caught the worker. */
export const REASON_DETAILS = ['fast', 'escalated', 'while booting'] as const;

/**
 * A reason as log lines write it, the same in the primary and the workers:
 * `shutdown`, `shutdown, fast`, `shutdown, fast, while booting`.
 */
export function reasonText(reason: Reason, mode: StopMode = 'graceful', booting = false): string {
  return [reason, mode === 'graceful' ? null : mode, booting ? 'while booting' : null].filter((w) => w !== null).join(', ');
}

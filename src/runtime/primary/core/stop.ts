/**
 * The primary's life as one phase union: starting (which step), running, or stopping (which
 * step of the stop, in which mode, with what exit). A stop never goes back; each step only
 * moves forward, so "is it stopping" and "has it told the workers" are one question each.
 */
import type { StopMode } from '../../../config/stop-plan.ts';
import type { PrimaryExitReason } from '../../../hooks/reasons.ts';

export type StartStep = 'on_starting' | 'binding' | 'listening' | 'booting' | 'when_ready';

export interface Stop {
  readonly reason: PrimaryExitReason;
  readonly exitCode: number;
  mode: StopMode;
  /** drain_delay: still serving while readiness says 503; ordered: the workers were told; exiting: on_exit runs. */
  step: 'drain_delay' | 'ordered' | 'exiting';
  /** Real ms at which drain_delay ends (load balancers see real time), while it runs. */
  drainUntil: number | null;
}

export type Life = { readonly t: 'starting'; step: StartStep } | { readonly t: 'running' } | { readonly t: 'stopping'; readonly stop: Stop };

/** The stop under way, or null. */
export function stopOf(life: Life): Stop | null {
  return life.t === 'stopping' ? life.stop : null;
}

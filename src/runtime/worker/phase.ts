/**
 * Where a worker is in its life: booting, serving or stopping (in a stop mode), and, while
 * booting or stopping, the step it is at. The step changes in one place, `setStep`, which
 * always tells the primary: its progress lines, and a step's deadline, come from what the
 * worker last said. A stop that arrives while booting aborts `bootSignal`, and the boot goes
 * no further than the await it is in.
 */
import type { StopMode } from '../../config/stop-plan.ts';
import type { WorkerStep } from '../ipc.ts';

export type PhaseName = 'booting' | 'serving' | 'stopping';

/** What a worker is busy with, in words, and that step's deadline in ms (null: none). */
export interface Progress {
  readonly step: WorkerStep;
  readonly detail: string;
  readonly ms: number | null;
}

/** What a stop request did: began the stop, made a graceful one fast (`escalate`), or nothing. */
export type StopRequested = 'begin' | 'escalate' | null;

export class WorkerPhase {
  #name: PhaseName = 'booting';
  #mode: StopMode | null = null;
  #step: WorkerStep | null = null;
  readonly #boot = new AbortController();
  readonly #escalation = new AbortController();

  /** @param report sends a step to the primary (the `progress` message). */
  constructor(private readonly report: (progress: Progress) => void) {}

  get name(): PhaseName {
    return this.#name;
  }

  /** The stop under way, if any: the calls of a stop take their deadlines from its plan. */
  get mode(): StopMode | null {
    return this.#mode;
  }

  /** The boot or stop step it is at; null while serving. */
  get step(): WorkerStep | null {
    return this.#step;
  }

  /** Aborted when a stop begins before the boot finished. */
  get bootSignal(): AbortSignal {
    return this.#boot.signal;
  }

  /** Aborted by a second stop signal: running calls' signals abort and their waits shorten. */
  get escalation(): AbortSignal {
    return this.#escalation.signal;
  }

  /** Moves to `step` and tells the primary. */
  setStep(step: WorkerStep, detail: string, ms: number | null = null): void {
    this.#step = step;
    this.report({ step, detail, ms });
  }

  /**
   * A call (a hook function, a handler) begins within the current step, with its own deadline:
   * the primary hears what the worker waits for. While serving, a call (a reload handler) is
   * no step of a boot or a stop, and is not reported.
   */
  call(what: string, ms: number | null): void {
    if (this.#name !== 'serving' && this.#step !== null) this.setStep(this.#step, `running ${what}`, ms);
  }

  /** The boot finished: the worker serves. */
  serve(): void {
    if (this.#name !== 'booting') throw new Error(`a worker that is ${this.#name} cannot begin serving`);
    this.#name = 'serving';
    this.#step = null;
  }

  /**
   * A stop signal or message. The first begins the stop (a boot under way is aborted); a
   * faster one during a graceful stop escalates it, and so does a second stop signal that the
   * primary passes on as `escalated`; any other changes nothing.
   */
  requestStop(mode: StopMode): StopRequested {
    if (this.#name !== 'stopping') {
      this.#name = 'stopping';
      this.#mode = mode;
      this.#boot.abort(new Error('the worker is stopping'));
      return 'begin';
    }
    if (mode === 'graceful' || this.#mode !== 'graceful') return null;
    this.#mode = 'escalated';
    this.#escalation.abort();
    return 'escalate';
  }
}

/**
 * `promise`, or a rejection with the signal's reason as soon as `signal` aborts: what the
 * promise stands for goes on (user code cannot be cancelled), but the caller stops waiting.
 */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Its own rejection is not this caller's any more; leaving it unhandled would crash the process.
    promise.catch(() => {});
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

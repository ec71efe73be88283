/**
 * The deadlines of a call in a stop (runtime/hooks/runner.ts), in fake time: what
 * test/faults/deadlines.test.ts shows end to end, without waiting out the fast stop's 3 s
 * and the escalation's 1 s. Each call hangs; the test reads when its signal aborted and
 * when hostd moved on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedSettings } from '../../../src/config/options.generated.ts';
import { SETTING_NAMES, SETTINGS } from '../../../src/config/settings.ts';
import { ESCALATED_SECONDS, FAST_CALL_SECONDS, type StopMode } from '../../../src/config/stop-plan.ts';
import type { HookEntry } from '../../../src/config/types.ts';
import type { HostdError } from '../../../src/errors.ts';
import { type HookRuntime, runHook, runHostHandlers } from '../../../src/runtime/hooks/runner.ts';
import { ErrorLog } from '../../../src/runtime/log.ts';

const settings = (s: Partial<ResolvedSettings>) => ({ ...(Object.fromEntries(SETTING_NAMES.map((n) => [n, SETTINGS[n].default])) as unknown as ResolvedSettings), ...s });

/** A runtime in stop mode `mode`; `escalate()` is the second stop signal. */
function runtime(s: Partial<ResolvedSettings>, mode: StopMode | null) {
  const escalation = new AbortController();
  const errors: string[] = [];
  const log = new ErrorLog({ errorlog: null, loglevel: 'info', log_format: 'text', process: 'worker 1' });
  log.error = (message: string) => void errors.push(message);
  const rt: HookRuntime = { log, server: Object.freeze({ pid: 1, config: settings(s), started_at: new Date(0), version: 'test' }), process: 'worker 1', escalation: escalation.signal, stopMode: () => mode };
  return { rt, errors, escalate: () => escalation.abort() };
}

/** A hook function that never settles and records when its signal aborted (fake ms). */
function hanging(aborts: number[]): HookEntry<'worker_exit'> {
  return { fn: ({ signal }) => (signal.addEventListener('abort', () => aborts.push(Date.now())), new Promise(() => {})), source: 'hostd.config.ts' };
}

/** Runs `run` and returns when (fake ms from now) it settled, advancing fake time 100 ms at a time up to `limitMs`. */
async function settledAfter(run: Promise<unknown>, limitMs: number): Promise<number> {
  const start = Date.now();
  let done: number | null = null;
  void run.then(() => (done = Date.now() - start));
  for (let t = 0; t <= limitMs && done === null; t += 100) await vi.advanceTimersByTimeAsync(100);
  return done ?? Infinity;
}

describe('the deadline of a call in a stop', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it.each([
    ['graceful', 10, 10_000],
    ['fast', 10, FAST_CALL_SECONDS * 1000],
    ['fast', 1, 1000],
    ['escalated', 10, ESCALATED_SECONDS * 1000],
  ] as const)('in a %s stop with hook_timeout %s, each function gets %s ms, then its signal aborts and the next runs', async (mode, hookTimeout, ms) => {
    const { rt, errors } = runtime({ hook_timeout: hookTimeout }, mode);
    const aborts: number[] = [];
    const took = await settledAfter(runHook(rt, 'worker_exit', [hanging(aborts), hanging(aborts)], { worker: { id: 1, pid: 2, age: 1, generation: 1, booted_at: null }, reason: 'shutdown' }), 2 * ms + 1000);
    expect(aborts).toEqual([ms, 2 * ms]);
    expect(took).toBe(2 * ms);
    const name = ms === hookTimeout * 1000 ? 'hook_timeout' : "the fast stop's deadline";
    expect(errors[0]).toMatch(new RegExp(`^hook worker_exit\\[0\\] \\(fn, from hostd\\.config\\.ts\\) did not finish within ${name.replace(/[()']/g, '\\$&')} \\(${ms / 1000} s\\)`));
  });

  it('a second stop signal aborts a running call at once and gives it 1 s more, never more than it had left', async () => {
    const { rt, escalate } = runtime({ hook_timeout: 30 }, 'graceful');
    const aborts: number[] = [];
    const run = runHook(rt, 'worker_exit', [hanging(aborts)], { worker: { id: 1, pid: 2, age: 1, generation: 1, booted_at: null }, reason: 'shutdown' });
    await vi.advanceTimersByTimeAsync(5000);
    escalate();
    expect(aborts).toEqual([5000]);
    expect(await settledAfter(run, 3000)).toBe(ESCALATED_SECONDS * 1000);
    // Half a second left of its own deadline: the escalation does not lengthen it.
    const late = runtime({ hook_timeout: 2 }, 'graceful');
    const run2 = runHook(late.rt, 'worker_exit', [hanging([])], { worker: { id: 1, pid: 2, age: 1, generation: 1, booted_at: null }, reason: 'shutdown' });
    await vi.advanceTimersByTimeAsync(1500);
    late.escalate();
    expect(await settledAfter(run2, 3000)).toBe(500);
  });

  it("host.on('shutdown') handlers get the same deadline as the exit hooks, one after another", async () => {
    const { rt, errors } = runtime({ hook_timeout: 10 }, 'fast');
    const aborts: number[] = [];
    const handler = ({ signal }: { signal: AbortSignal }) => (signal.addEventListener('abort', () => aborts.push(Date.now())), new Promise(() => {}));
    const took = await settledAfter(runHostHandlers(rt, 'shutdown', [handler, handler], (signal) => ({ reason: 'shutdown', signal })), 8000);
    expect(aborts).toEqual([3000, 6000]);
    expect(took).toBe(6000);
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => /^host\.on\('shutdown'\) handler #\d \(handler\) did not finish within the fast stop's deadline \(3 s\)/.test(e))).toBe(true);
  });
});

export type { HostdError };

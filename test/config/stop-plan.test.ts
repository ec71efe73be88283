/**
 * The stop plan is the one place a stop deadline is computed. These check what must hold
 * of it for any settings and shape, not its arithmetic term by term: the primary's kill
 * comes after every step a worker may take, a faster stop is never longer, each call's
 * deadline is the one the runner enforces, and what the presets and exports derive fits.
 */
import { describe, expect, it } from 'vitest';
import {
  callSeconds,
  ESCALATED_SECONDS,
  explainPlan,
  FAST_CALL_SECONDS,
  gracefulTimeoutWithin,
  KILL_GRACE_SECONDS,
  PLATFORM_MARGIN_SECONDS,
  platformStopTimeout,
  PRESET_SHAPE,
  type StopMode,
  type StopShape,
  stopPlan,
  type StopSettings,
} from '../../src/config/stop-plan.ts';

const MODES: readonly StopMode[] = ['graceful', 'fast', 'escalated'];

/** A spread of settings and shapes, the corners included. */
const SETTINGS: readonly StopSettings[] = [0, 0.5, 1, 3, 30].flatMap((hook_timeout) =>
  [0, 1, 30].flatMap((graceful_timeout) => [0, 5].map((drain_delay) => ({ hook_timeout, graceful_timeout, drain_delay }))),
);
const SHAPES: readonly StopShape[] = [
  { post_request: 0, worker_int: 0, shutdown: 0, worker_exit: 0, child_exit: 0, on_exit: 0 },
  { post_request: 1, worker_int: 1, shutdown: 1, worker_exit: 1, child_exit: 1, on_exit: 1 },
  { post_request: 2, worker_int: 2, shutdown: 3, worker_exit: 1, child_exit: 2, on_exit: 2 },
];

const each = <T>(f: (s: StopSettings, shape: StopShape, mode: StopMode) => T) => SETTINGS.flatMap((s) => SHAPES.flatMap((shape) => MODES.map((mode) => f(s, shape, mode))));

describe('the stop plan', () => {
  it("kills a worker only after every step it may take, plus the grace, whatever the settings", () => {
    each((s, shape, mode) => {
      const plan = stopPlan(s, shape, mode);
      const worker = plan.steps.filter((step) => step.where === 'worker').map((step) => step.seconds);
      if (worker.includes(null)) return expect(plan.killAfter).toBeNull();
      const longest = worker.reduce((a, b) => a! + b!, 0)!;
      expect(plan.killAfter).toBeCloseTo(longest + KILL_GRACE_SECONDS, 9);
      // Each call a worker makes gets the deadline the runner gives it, and the plan counts every one.
      const call = callSeconds('stop', s, mode)!;
      expect(plan.steps.find((step) => step.name === 'shutdown')!.seconds).toBeCloseTo(shape.shutdown * call, 9);
      expect(plan.steps.find((step) => step.name === 'worker_exit')!.seconds).toBeCloseTo(shape.worker_exit * call, 9);
    });
  });

  it('bounds a fast or escalated stop always, and never makes it longer than the graceful one', () => {
    each((s, shape, mode) => {
      if (mode === 'graceful') return;
      const fast = stopPlan(s, shape, mode);
      expect(fast.total).not.toBeNull();
      const graceful = stopPlan(s, shape, 'graceful').total;
      if (graceful !== null) expect(fast.total!).toBeLessThanOrEqual(graceful + shape.worker_int * FAST_CALL_SECONDS);
      // Beyond a fast stop's: the last second of the draining handlers, which a fast stop does not run.
      const drainingRest = Math.min(ESCALATED_SECONDS, s.graceful_timeout);
      expect(stopPlan(s, shape, 'escalated').total!).toBeLessThanOrEqual(stopPlan(s, shape, 'fast').total! + shape.worker_int * ESCALATED_SECONDS + drainingRest);
    });
  });

  it('has no bound for a graceful stop with hook_timeout 0, and says so', () => {
    const plan = stopPlan({ hook_timeout: 0, graceful_timeout: 30, drain_delay: 0 }, SHAPES[1]!, 'graceful');
    expect(plan.total).toBeNull();
    expect(platformStopTimeout(plan)).toBeNull();
    expect(explainPlan(plan)).toMatch(/= no bound$/);
  });

  it('writes its total as a sum a reader can check', () => {
    const plan = stopPlan({ hook_timeout: 2, graceful_timeout: 1, drain_delay: 5 }, { post_request: 0, worker_int: 0, shutdown: 3, worker_exit: 1, child_exit: 1, on_exit: 0 }, 'graceful');
    expect(explainPlan(plan)).toBe("drain_delay 5 s + graceful_timeout 1 s + host.on('shutdown') 3 × 2 s + worker_exit 1 × 2 s + kill grace 1 s + child_exit 1 × 2 s = 17 s");
    const terms = [...explainPlan(plan).matchAll(/(\d+) × (\d+) s|(?<!× )(\d+) s(?= \+| =)/g)].map((m) => (m[1] ? Number(m[1]) * Number(m[2]) : Number(m[3])));
    expect(terms.reduce((a, b) => a + b, 0)).toBe(plan.total);
  });

  it('gives the presets a graceful_timeout whose whole stop fits the platform window, using all of it', () => {
    for (const window of [24, 30, 60, 600]) {
      for (const drainDelay of [0, 5]) {
        const graceful_timeout = gracefulTimeoutWithin(window, drainDelay, 'window');
        const stop = platformStopTimeout(stopPlan({ graceful_timeout, drain_delay: drainDelay, hook_timeout: 3 }, PRESET_SHAPE, 'graceful'))!;
        expect(stop).toBeLessThanOrEqual(window);
        expect(stop).toBeGreaterThan(window - 1);
      }
    }
  });

  it('refuses a platform window too short to hold a stop, naming the option', () => {
    expect(() => gracefulTimeoutWithin(10, 0, 'docker({ stop_timeout })')).toThrow(
      expect.objectContaining({ code: 'HOSTD_ERR_CONFIG_INVALID', message: expect.stringMatching(/^docker\(\{ stop_timeout \}\): 10 s cannot hold a stop: .* give at least 19 s$/) }),
    );
  });
});

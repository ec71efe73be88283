/**
 * The reload plan: how long `hostd reload` waits for the outcome. These check what must hold
 * of it for any settings, and one plan as a reader would check it term by term.
 */
import { describe, expect, it } from 'vitest';
import { explainReloadPlan, type NextGeneration, type PreviousGeneration, reloadPlan, startPlan, upgradePlan } from '../../src/config/reload-plan.ts';
import { stopPlan } from '../../src/config/stop-plan.ts';

const PREVIOUS: PreviousGeneration = {
  settings: { drain_delay: 0, graceful_timeout: 10, hook_timeout: 2 },
  shape: { post_request: 1, worker_int: 0, shutdown: 1, worker_exit: 1, child_exit: 1, on_exit: 1 },
};
const next = (workers: number, reload_batch: number | 'all', over: Partial<NextGeneration['settings']> = {}, hooks = { on_reload: 1, pre_fork: 1 }): NextGeneration => ({
  settings: { config_timeout: 30, hook_timeout: 5, boot_timeout: 60, reload_batch, ...over },
  workers,
  hooks,
});

describe('the reload plan', () => {
  it('adds up, as it says: config, on_reload, each batch booting, and the old workers leaving between batches', () => {
    const plan = reloadPlan(next(5, 2), PREVIOUS);
    const retire = stopPlan(PREVIOUS.settings, PREVIOUS.shape, 'graceful').killAfter!;
    // 5 workers, 2 at a time: 3 batches, 2 waits for the old workers between them.
    expect(plan.total).toBe(30 + 5 + 3 * (5 + 60) + 2 * retire);
    expect(explainReloadPlan(plan)).toBe(`config_timeout 30 s + on_reload 1 × 5 s + 3 batches of 2 × (pre_fork 1 × 5 s + boot_timeout 60 s) + 2 × the old workers' stop ${retire} s = ${plan.total} s`);
  });

  it('from the switch to the new generation, counts its batches alone: never more than from the start', () => {
    for (const workers of [1, 2, 7]) {
      for (const batch of [1, 3, 'all'] as const) {
        const whole = reloadPlan(next(workers, batch), PREVIOUS);
        const rest = reloadPlan(next(workers, batch), PREVIOUS, 'switch');
        expect(rest.steps.map((s) => s.name)).toEqual(['batches', 'retire']);
        expect(rest.total!).toBeLessThanOrEqual(whole.total!);
        expect(whole.total! - rest.total!).toBe(30 + 5);
      }
    }
  });

  it('"all" and a batch as large as the generation are one batch, with no wait for old workers', () => {
    for (const batch of ['all', 4, 9] as const) {
      const plan = reloadPlan(next(4, batch), PREVIOUS);
      expect(plan.steps.find((s) => s.name === 'retire')!.seconds).toBe(0);
      expect(plan.total).toBe(30 + 5 + 5 + 60);
    }
  });

  it('has no bound when a step it waits for has none (0 = no limit), and says which', () => {
    expect(reloadPlan(next(2, 1, { boot_timeout: 0 }), PREVIOUS).total).toBeNull();
    expect(reloadPlan(next(2, 1, { config_timeout: 0 }), PREVIOUS).total).toBeNull();
    expect(explainReloadPlan(reloadPlan(next(2, 1, { hook_timeout: 0 }), PREVIOUS))).toMatch(/on_reload 1 × no limit .* = no bound$/);
    // No function to wait for: hook_timeout 0 bounds nothing.
    expect(reloadPlan(next(2, 1, { hook_timeout: 0 }, { on_reload: 0, pre_fork: 0 }), PREVIOUS).total).not.toBeNull();
  });

  it('the rest of a start: every worker and the two failures the primary tolerates before giving up, each after the longest backoff, then when_ready', () => {
    const plan = startPlan({ settings: { hook_timeout: 5, boot_timeout: 60 }, workers: 3, hooks: { pre_fork: 2, when_ready: 1 } }, 10);
    expect(plan.total).toBe(5 * (10 + 2 * 5 + 60) + 5);
    expect(explainReloadPlan(plan)).toBe('5 boots (3 workers + 2 failures) × (backoff 10 s + pre_fork 2 × 5 s + boot_timeout 60 s) + when_ready 1 × 5 s = 405 s');
    expect(startPlan({ settings: { hook_timeout: 5, boot_timeout: 0 }, workers: 3, hooks: { pre_fork: 0, when_ready: 0 } }, 10).total).toBeNull();
  });

  it('an upgrade\'s limit: the new primary loads the config and runs on_starting, then starts as any primary does', () => {
    const g = { settings: { config_timeout: 30, hook_timeout: 5, boot_timeout: 60 }, workers: 3, hooks: { pre_fork: 2, when_ready: 1, on_starting: 0 } };
    const plan = upgradePlan(g, 10);
    expect(plan.total).toBe(30 + 5 + startPlan(g, 10).total!);
    // Each on_starting function has its own hook_timeout.
    expect(upgradePlan({ ...g, hooks: { ...g.hooks, on_starting: 3 } }, 10).total).toBe(30 + 3 * 5 + startPlan(g, 10).total!);
    expect(explainReloadPlan(plan)).toBe('config_timeout 30 s + on_starting 1 × 5 s + 5 boots (3 workers + 2 failures) × (backoff 10 s + pre_fork 2 × 5 s + boot_timeout 60 s) + when_ready 1 × 5 s = 440 s');
    // on_starting always runs in the new primary (its config may add one): hook_timeout 0 leaves no bound, as config_timeout 0 does.
    for (const off of [{ config_timeout: 0 }, { hook_timeout: 0 }]) expect(upgradePlan({ ...g, settings: { ...g.settings, ...off } }, 10).total).toBeNull();
  });
});

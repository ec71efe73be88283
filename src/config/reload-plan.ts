/**
 * The reload plan: the longest a reload can take, from the request to its outcome, as one
 * function of the settings, as stop-plan.ts is for a stop. `hostd reload` waits this long
 * for the answer (the primary tells it, so the command never evaluates the config). A reload
 * goes through these steps, each bounded by a setting:
 *
 * 1. the config is evaluated again: `config_timeout`;
 * 2. `on_reload` runs: each function within `hook_timeout`;
 * 3. the new generation starts in batches of `reload_batch` slots (`"all"`: one batch): in
 *    each, `pre_fork` runs for every slot at once (each function within `hook_timeout`),
 *    then each worker has `boot_timeout` to become ready; a worker that fails to boot fails
 *    the reload at once (no retry, no backoff);
 * 4. between two batches, the old workers of the batch that just started leave: their
 *    graceful stop plan, up to the primary's kill (`killAfter`, the grace included).
 *
 * The outcome is answered once the last batch is ready; the last old workers retire after.
 */
import type { ResolvedSettings } from './options.generated.ts';
import { counted } from '../text.ts';
import { bound, boundedSum, explainSteps, repeated, seconds, type StopShape, stopPlan, type StopSettings } from './stop-plan.ts';

export type ReloadSettings = Pick<ResolvedSettings, 'config_timeout' | 'hook_timeout' | 'boot_timeout' | 'reload_batch'>;

/** The generation a reload starts: its settings, its worker count (`"auto"` resolved) and how many functions its primary hooks have. */
export interface NextGeneration {
  readonly settings: ReloadSettings;
  readonly workers: number;
  readonly hooks: { readonly on_reload: number; readonly pre_fork: number };
}

/** The generation that serves meanwhile: how its workers stop when a batch replaces them. */
export interface PreviousGeneration {
  readonly settings: StopSettings;
  readonly shape: StopShape;
}

export interface ReloadStep {
  readonly name: 'config' | 'on_reload' | 'on_starting' | 'batches' | 'retire' | 'boots' | 'when_ready';
  /** The longest it may take, in seconds; null when a setting leaves it unbounded (0 = no limit). */
  readonly seconds: number | null;
  /** How `seconds` was computed, as `hostd reload` says it. */
  readonly how: string;
}

export interface ReloadPlan {
  readonly steps: readonly ReloadStep[];
  /** The longest from the request to the outcome; null = no bound. */
  readonly total: number | null;
}

/** A bound as `hostd reload` says it. */
const shown = (n: number | null) => (n === null ? 'no limit' : seconds(n));

/** Steps with their total: none when one of them has no bound. */
const planOf = (steps: readonly ReloadStep[]): ReloadPlan => ({ steps, total: boundedSum(steps.map((step) => step.seconds)) });

/**
 * The plan of a reload from its start (`from: 'start'`), or of what is left once the new
 * generation is known and starting (`from: 'switch'`: steps 3 and 4 only).
 */
export function reloadPlan(next: NextGeneration, previous: PreviousGeneration, from: 'start' | 'switch' = 'start'): ReloadPlan {
  const { settings } = next;
  const hook = bound(settings.hook_timeout);
  const boot = bound(settings.boot_timeout);
  const size = settings.reload_batch === 'all' ? next.workers : Math.min(settings.reload_batch, next.workers);
  const batches = Math.ceil(next.workers / Math.max(1, size));
  const preFork = repeated(next.hooks.pre_fork, hook);
  const perBatch = preFork === null || boot === null ? null : preFork + boot;
  const retire = stopPlan(previous.settings, previous.shape, 'graceful').killAfter;
  const steps: ReloadStep[] = [
    ...(from === 'start'
      ? [
          { name: 'config', seconds: bound(settings.config_timeout), how: `config_timeout ${shown(bound(settings.config_timeout))}` } as const,
          { name: 'on_reload', seconds: repeated(next.hooks.on_reload, hook), how: `on_reload ${next.hooks.on_reload} × ${shown(hook)}` } as const,
        ]
      : []),
    {
      name: 'batches',
      seconds: repeated(batches, perBatch),
      how: `${batches} batch${batches === 1 ? '' : 'es'} of ${size} × (pre_fork ${next.hooks.pre_fork} × ${shown(hook)} + boot_timeout ${shown(boot)})`,
    },
    { name: 'retire', seconds: repeated(batches - 1, retire), how: `${batches - 1} × the old workers' stop ${shown(retire)}` },
  ];
  return planOf(steps);
}

/** The generation a start boots: its settings, its worker count and how many functions its hooks have. */
export interface StartingGeneration {
  readonly settings: Pick<ResolvedSettings, 'hook_timeout' | 'boot_timeout'>;
  readonly workers: number;
  readonly hooks: { readonly pre_fork: number; readonly when_ready: number };
}

/**
 * The longest the rest of a start can take once its sockets are bound (when the control
 * socket begins to listen), which a reload or a scale asked for meanwhile waits for: every
 * worker boots (`pre_fork`, then `boot_timeout`), one that fails is retried after a backoff
 * of at most `backoffMaxSeconds`, and before any worker was ever ready the primary gives up
 * at `workers + 2` failures; then `when_ready`. (A slot that keeps failing after another
 * worker became ready is retried for ever: that start has no bound, and a command waiting
 * for it gives up after this one.)
 */
export function startPlan(g: StartingGeneration, backoffMaxSeconds: number): ReloadPlan {
  const hook = bound(g.settings.hook_timeout);
  const boot = bound(g.settings.boot_timeout);
  const preFork = repeated(g.hooks.pre_fork, hook);
  const attempts = g.workers + 2;
  const each = preFork === null || boot === null ? null : backoffMaxSeconds + preFork + boot;
  const steps: ReloadStep[] = [
    { name: 'boots', seconds: repeated(attempts, each), how: `${attempts} boots (${counted(g.workers, 'worker')} + 2 failures) × (backoff ${seconds(backoffMaxSeconds)} + pre_fork ${g.hooks.pre_fork} × ${shown(hook)} + boot_timeout ${shown(boot)})` },
    { name: 'when_ready', seconds: repeated(g.hooks.when_ready, hook), how: `when_ready ${g.hooks.when_ready} × ${shown(hook)}` },
  ];
  return planOf(steps);
}

/** What the new primary of an upgrade is judged by: the running generation's settings, worker count and hooks (the best known before it loads its own). */
export interface UpgradingGeneration extends StartingGeneration {
  readonly settings: Pick<ResolvedSettings, 'config_timeout' | 'hook_timeout' | 'boot_timeout'>;
  readonly hooks: StartingGeneration['hooks'] & { readonly on_starting: number };
}

/**
 * The longest the new primary of an upgrade can take to serve, from the moment it is
 * started: loading the config (`config_timeout`), `on_starting` (`hook_timeout`), then its
 * start as startPlan counts it. Past it, the old primary ends the new one and keeps serving,
 * so it is also how long a reload or a scale asked for meanwhile waits at most before it runs.
 */
export function upgradePlan(g: UpgradingGeneration, backoffMaxSeconds: number): ReloadPlan {
  const config = bound(g.settings.config_timeout);
  const hook = bound(g.settings.hook_timeout);
  const steps: ReloadStep[] = [
    { name: 'config', seconds: config, how: `config_timeout ${shown(config)}` },
    // Each function of a hook gets its own hook_timeout; one at least, which the new config may add.
    { name: 'on_starting', seconds: repeated(Math.max(1, g.hooks.on_starting), hook), how: `on_starting ${Math.max(1, g.hooks.on_starting)} × ${shown(hook)}` },
    ...startPlan(g, backoffMaxSeconds).steps,
  ];
  return planOf(steps);
}

/** The plan as a sum a reader can check: `config_timeout 30 s + on_reload 1 × 30 s + ... = 152 s`. */
export function explainReloadPlan(plan: ReloadPlan): string {
  return explainSteps(plan.steps, plan.total);
}

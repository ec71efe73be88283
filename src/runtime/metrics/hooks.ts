/**
 * How long lifecycle hooks take, per process: the hook runner records each run of a hook
 * here, the worker sends what accumulated with its next heartbeat, and the primary adds it
 * to its own for `hostd_hook_duration_seconds`. Fixed buckets, so that sums of counts from
 * every process are one histogram.
 */
import type { HookName } from '../../config/options.generated.ts';

/** Upper bounds (seconds) of `hostd_hook_duration_seconds`; `+Inf` is the count. */
export const HOOK_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One hook's histogram: the count in each bucket (not cumulative), the sum (s) and the count. */
export interface HookHistogram {
  readonly buckets: number[];
  sum: number;
  count: number;
}

export type HookHistograms = Partial<Record<HookName, HookHistogram>>;

export function emptyHistogram(): HookHistogram {
  return { buckets: HOOK_BUCKETS.map(() => 0), sum: 0, count: 0 };
}

/** Adds `from` into `into`, hook by hook. */
export function addHistograms(into: HookHistograms, from: HookHistograms): void {
  for (const [name, h] of Object.entries(from) as [HookName, HookHistogram][]) {
    const target = (into[name] ??= emptyHistogram());
    for (let i = 0; i < HOOK_BUCKETS.length; i++) target.buckets[i]! += h.buckets[i]!;
    target.sum += h.sum;
    target.count += h.count;
  }
}

/** This process's hook runs since `takeHookDurations` last emptied it (a worker) or ever (the primary). */
let recorded: HookHistograms = {};

export function recordHookDuration(name: HookName, seconds: number): void {
  const h = (recorded[name] ??= emptyHistogram());
  const bucket = HOOK_BUCKETS.findIndex((le) => seconds <= le);
  // Over the last bound: only in +Inf (the count).
  if (bucket >= 0) h.buckets[bucket]!++;
  h.sum += seconds;
  h.count++;
}

/** What was recorded, without emptying it (the primary's own). */
export function hookDurations(): HookHistograms {
  return recorded;
}

/** What was recorded since the last call, emptied (a worker's, for its heartbeat); null when nothing was. */
export function takeHookDurations(): HookHistograms | null {
  if (Object.keys(recorded).length === 0) return null;
  const taken = recorded;
  recorded = {};
  return taken;
}

/**
 * A reload as data: which step it is at, what it started from, what it opened, who waits
 * for its outcome. The supervisor moves it from step to step as events come in; reconcile
 * reads it to decide the new generation's slots, its routing and its end.
 */

/** Where a reload is. Each waiting step names the token of what it waits for. */
export type ReloadStep =
  /** The config is being resolved again. */
  | { readonly t: 'resolving'; readonly token: number }
  /** `on_reload` runs, in the new generation. */
  | { readonly t: 'on_reload'; readonly token: number; readonly next: number }
  /** The binds the new config adds are being opened. */
  | { readonly t: 'binding'; readonly token: number; readonly next: number; readonly binds: readonly string[] }
  /** The new generation boots beside the old, slots 1..upTo so far, `batch` more at each step. */
  | { readonly t: 'booting'; readonly next: number; readonly batch: number; upTo: number };

export interface Reload {
  /** Tells one reload from the next (a late answer for a reload that ended is dropped). */
  readonly id: number;
  step: ReloadStep;
  /** The generation serving before it, and its worker count: what a failed reload returns to. */
  readonly previous: { readonly generation: number; readonly target: number };
  /** Binds this reload opened (closed again if it fails). */
  opened: readonly string[];
  /** Why the new generation failed to boot, once one of its workers did. */
  failed: string | null;
  /** Control requests waiting for this reload's outcome. */
  readonly replies: number[];
}

/** The generation a reload starts, once it is known. */
export function nextGeneration(reload: Reload): number | null {
  return reload.step.t === 'resolving' ? null : reload.step.next;
}

/** The booting step, or null before it. */
export function booting(reload: Reload | null): Extract<ReloadStep, { t: 'booting' }> | null {
  return reload?.step.t === 'booting' ? reload.step : null;
}

/** How many slots each step of a reload starts: `reload_batch`, at most the whole generation. */
export function batchSize(setting: 'all' | number, workers: number): number {
  return setting === 'all' ? workers : Math.min(setting, workers);
}

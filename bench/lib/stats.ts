/** The q-quantile (0 ≤ q ≤ 1) of `values`, interpolated between neighbours; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  return sorted[below]! + (sorted[Math.min(below + 1, sorted.length - 1)]! - sorted[below]!) * (at - below);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/**
 * The median of the per-round ratios `values[i] / bases[i]`, over the rounds where both are
 * measurable (autocannon reports latency in whole milliseconds, so a sub-millisecond p99 is 0);
 * null when no round is.
 */
export function medianRatio(values: readonly number[], bases: readonly number[]): number | null {
  const ratios = roundRatios(values, bases);
  return ratios.length === 0 ? null : median(ratios);
}

/** The per-round ratios `values[i] / bases[i]` of the rounds where both are measurable. */
export function roundRatios(values: readonly number[], bases: readonly number[]): number[] {
  return values.map((v, i) => v / bases[i]!).filter((r) => Number.isFinite(r) && r > 0);
}

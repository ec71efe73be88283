export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/**
 * The median of the per-round ratios `values[i] / bases[i]`, over the rounds where both are
 * measurable (autocannon reports latency in whole milliseconds, so a sub-millisecond p99 is 0);
 * null when no round is.
 */
export function medianRatio(values: readonly number[], bases: readonly number[]): number | null {
  const ratios = values.map((v, i) => v / bases[i]!).filter((r) => Number.isFinite(r) && r > 0);
  return ratios.length === 0 ? null : median(ratios);
}

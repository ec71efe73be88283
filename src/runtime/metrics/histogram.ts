/**
 * A histogram of fixed buckets, as Prometheus reads one: counts per bucket (kept apart,
 * summed when rendered), the sum and the count.
 */
import type { Labels, Sample } from './exposition.ts';

export interface Histogram {
  /** Upper bounds (seconds); `+Inf` is the count. */
  readonly bounds: readonly number[];
  /** The observations in each bucket (not cumulative). */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export function histogram(bounds: readonly number[]): Histogram {
  return { bounds, buckets: bounds.map(() => 0), sum: 0, count: 0 };
}

export function observe(h: Histogram, value: number): void {
  const bucket = h.bounds.findIndex((le) => value <= le);
  // Over the last bound: only in +Inf (the count).
  if (bucket >= 0) h.buckets[bucket]!++;
  h.sum += value;
  h.count++;
}

/** The `_bucket` (cumulative, with `le`), `_sum` and `_count` samples of family `name`. */
export function histogramSamples(name: string, h: Pick<Histogram, 'buckets' | 'sum' | 'count'>, bounds: readonly number[], labels: Labels = {}): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += h.buckets[i]!;
    samples.push({ name: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
  });
  samples.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  samples.push({ name: `${name}_sum`, labels, value: h.sum });
  samples.push({ name: `${name}_count`, labels, value: h.count });
  return samples;
}

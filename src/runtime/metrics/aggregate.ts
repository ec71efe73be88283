/**
 * The app's prom-client metrics from every worker, merged into one set the way prom-client's
 * `AggregatorRegistry.aggregate` merges node:cluster workers: metrics grouped by name, and
 * within a metric, values grouped by sample name and labels; each group is combined by the
 * metric's `aggregator` (`sum`, the default of counters, histograms and most gauges;
 * `first`, `min`, `max`, `average`; `omit` leaves the metric out).
 *
 * Written here rather than taken from prom-client: hostd has no dependency on it (users who
 * do not use it install nothing more), the app's own copy lives in the workers and not in
 * the primary, and what a worker sends is untrusted, so each metric is checked before it
 * is merged; a malformed one is left out.
 */
import { type Family, LABEL_NAME, METRIC_NAME, type MetricType, type Sample } from './exposition.ts';

/** One metric as prom-client's `getMetricsAsJSON()` gives it. */
export interface PromMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator: string;
  readonly values: readonly { readonly value: number; readonly labels: Readonly<Record<string, string | number>>; readonly metricName?: string }[];
}

const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** More series than a metric should have; a worker sending more is not sending metrics. */
const MAX_VALUES = 100_000;
const MAX_TEXT = 4096;

/** A metric from a worker, checked field by field; null when it is not one. */
export function parseMetric(value: unknown): PromMetric | null {
  if (value === null || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  if (typeof m.name !== 'string' || !METRIC_NAME.test(m.name) || m.name.length > MAX_TEXT) return null;
  if (typeof m.help !== 'string' || m.help.length > MAX_TEXT) return null;
  if (!TYPES.includes(m.type as MetricType)) return null;
  const aggregator = m.aggregator === undefined ? 'sum' : m.aggregator;
  if (typeof aggregator !== 'string') return null;
  if (!Array.isArray(m.values) || m.values.length > MAX_VALUES) return null;
  const values: PromMetric['values'][number][] = [];
  for (const v of m.values as unknown[]) {
    if (v === null || typeof v !== 'object') return null;
    const { value: n, labels = {}, metricName } = v as Record<string, unknown>;
    if (typeof n !== 'number') return null;
    if (metricName !== undefined && (typeof metricName !== 'string' || !METRIC_NAME.test(metricName) || !metricName.startsWith(m.name))) return null;
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return null;
    const clean: Record<string, string | number> = {};
    for (const [k, l] of Object.entries(labels as Record<string, unknown>)) {
      if (!LABEL_NAME.test(k) || !(typeof l === 'string' || typeof l === 'number') || String(l).length > MAX_TEXT) return null;
      clean[k] = l;
    }
    values.push(metricName === undefined ? { value: n, labels: clean } : { value: n, labels: clean, metricName });
  }
  return { name: m.name, help: m.help, type: m.type as MetricType, aggregator, values };
}

type Values = PromMetric['values'];

const AGGREGATORS: Readonly<Record<string, ((values: Values) => number) | null>> = {
  sum: (v) => v.reduce((total, x) => total + x.value, 0),
  first: (v) => v[0]!.value,
  min: (v) => v.reduce((min, x) => Math.min(min, x.value), Infinity),
  max: (v) => v.reduce((max, x) => Math.max(max, x.value), -Infinity),
  average: (v) => v.reduce((total, x) => total + x.value, 0) / v.length,
  omit: null,
};

/** prom-client's key for a set of labels: the pairs in key order. */
function labelKey(labels: Readonly<Record<string, string | number>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}:${String(labels[k])}`)
    .join(',');
}

/**
 * Merges the metrics each worker sent (one array per worker) into families. A metric whose
 * aggregator is unknown is left out (prom-client would throw and lose the whole scrape),
 * as are metrics named `skip` returns true for (hostd's own names).
 */
export function aggregate(perWorker: readonly (readonly unknown[])[], skip: (name: string) => boolean = () => false): Family[] {
  const byName = new Map<string, PromMetric[]>();
  for (const metrics of perWorker) {
    for (const raw of metrics) {
      const metric = parseMetric(raw);
      if (metric === null || skip(metric.name)) continue;
      const group = byName.get(metric.name);
      if (group === undefined) byName.set(metric.name, [metric]);
      // The same name with another type is another metric: the first worker's type wins.
      else if (group[0]!.type === metric.type) group.push(metric);
    }
  }
  const families: Family[] = [];
  for (const [name, metrics] of byName) {
    const first = metrics[0]!;
    const combine = AGGREGATORS[first.aggregator];
    if (!combine) continue;
    const groups = new Map<string, PromMetric['values'][number][]>();
    for (const metric of metrics) {
      for (const value of metric.values) {
        const key = `${value.metricName ?? ''}\u0000${labelKey(value.labels)}`;
        const group = groups.get(key);
        if (group === undefined) groups.set(key, [value]);
        else group.push(value);
      }
    }
    const samples: Sample[] = [...groups.values()].map((values) => {
      const { labels, metricName } = values[0]!;
      return metricName === undefined ? { labels, value: combine(values) } : { name: metricName, labels, value: combine(values) };
    });
    families.push({ name, help: first.help, type: first.type, samples });
  }
  return families;
}

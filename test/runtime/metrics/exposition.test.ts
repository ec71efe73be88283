import { describe, expect, it } from 'vitest';
import { aggregate } from '../../../src/runtime/metrics/aggregate.ts';
import { type Family, negotiate, render } from '../../../src/runtime/metrics/exposition.ts';
import { parseToPrimary } from '../../../src/runtime/ipc.ts';
import { HOOK_BUCKETS } from '../../../src/runtime/metrics/hooks.ts';

const FAMILIES: Family[] = [
  { name: 'x_requests_total', help: 'Requests.', type: 'counter', samples: [{ labels: { code: '200' }, value: 3 }] },
  { name: 'x_temp', help: 'A "gauge"\nwith \\ two lines.', type: 'gauge', samples: [{ labels: { path: 'a"b\\c\nd' }, value: Infinity }] },
  {
    name: 'x_seconds',
    help: 'Durations.',
    type: 'histogram',
    samples: [
      { name: 'x_seconds_bucket', labels: { le: 0.5 }, value: 1 },
      { name: 'x_seconds_bucket', labels: { le: '+Inf' }, value: 2 },
      { name: 'x_seconds_sum', labels: {}, value: 1.25 },
      { name: 'x_seconds_count', labels: {}, value: 2 },
    ],
  },
];

describe('the text formats', () => {
  it('Prometheus 0.0.4: HELP and TYPE per family, escaped label values and help, +Inf', () => {
    expect(render(FAMILIES, 'prometheus')).toBe(
      [
        '# HELP x_requests_total Requests.',
        '# TYPE x_requests_total counter',
        'x_requests_total{code="200"} 3',
        '# HELP x_temp A "gauge"\\nwith \\\\ two lines.',
        '# TYPE x_temp gauge',
        'x_temp{path="a\\"b\\\\c\\nd"} +Inf',
        '# HELP x_seconds Durations.',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{le="0.5"} 1',
        'x_seconds_bucket{le="+Inf"} 2',
        'x_seconds_sum 1.25',
        'x_seconds_count 2',
        '',
      ].join('\n'),
    );
  });

  it('OpenMetrics: counters named without _total in HELP and TYPE, samples with it, and # EOF', () => {
    const text = render([...FAMILIES, { name: 'x_untyped', help: 'u', type: 'untyped', samples: [{ labels: {}, value: 1 }] }, { name: 'x_hits', help: 'h', type: 'counter', samples: [{ labels: {}, value: 2 }] }], 'openmetrics');
    expect(text).toContain('# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests_total{code="200"} 3\n');
    expect(text).toContain('# TYPE x_untyped unknown\n');
    expect(text).toContain('# TYPE x_hits counter\nx_hits_total 2\n');
    expect(text).toContain('# HELP x_temp A \\"gauge\\"\\nwith \\\\ two lines.\n');
    expect(text.endsWith('x_hits_total 2\n# EOF\n')).toBe(true);
  });

  it('OpenMetrics only when the Accept header names it', () => {
    expect(negotiate(undefined)).toBe('prometheus');
    expect(negotiate('text/plain;version=0.0.4;q=0.9,*/*;q=0.1')).toBe('prometheus');
    expect(negotiate('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5')).toBe('openmetrics');
  });
});

const worker = (hits: number, pid: number, extra: object[] = []) => [
  { name: 'hits_total', help: 'Hits.', type: 'counter', aggregator: 'sum', values: [{ value: hits, labels: { route: '/' } }, { value: 1, labels: { route: '/x' } }] },
  { name: 'pid', help: 'Pid.', type: 'gauge', aggregator: 'max', values: [{ value: pid, labels: {} }] },
  { name: 'first', help: 'First.', type: 'gauge', aggregator: 'first', values: [{ value: pid, labels: {} }] },
  { name: 'version', help: 'Omitted.', type: 'gauge', aggregator: 'omit', values: [{ value: 1, labels: {} }] },
  { name: 'avg', help: 'Average.', type: 'gauge', aggregator: 'average', values: [{ value: pid, labels: {} }] },
  {
    name: 'size',
    help: 'Size.',
    type: 'histogram',
    aggregator: 'sum',
    values: [
      { value: hits, labels: { le: 10 }, metricName: 'size_bucket' },
      { value: hits, labels: { le: '+Inf' }, metricName: 'size_bucket' },
      { value: hits * 2, labels: {}, metricName: 'size_sum' },
      { value: hits, labels: {}, metricName: 'size_count' },
    ],
  },
  ...extra,
];

describe("merging workers' prom-client metrics (AggregatorRegistry's semantics)", () => {
  it('sums counters and histograms by labels, and applies each gauge its aggregator', () => {
    const merged = aggregate([worker(3, 100), worker(4, 200)]);
    const by = Object.fromEntries(merged.map((f) => [f.name, f]));
    expect(by.hits_total!.samples).toEqual([
      { labels: { route: '/' }, value: 7 },
      { labels: { route: '/x' }, value: 2 },
    ]);
    expect(by.pid!.samples).toEqual([{ labels: {}, value: 200 }]);
    expect(by.first!.samples).toEqual([{ labels: {}, value: 100 }]);
    expect(by.avg!.samples).toEqual([{ labels: {}, value: 150 }]);
    expect(by.version).toBeUndefined();
    expect(by.size!.samples).toEqual([
      { name: 'size_bucket', labels: { le: 10 }, value: 7 },
      { name: 'size_bucket', labels: { le: '+Inf' }, value: 7 },
      { name: 'size_sum', labels: {}, value: 14 },
      { name: 'size_count', labels: {}, value: 7 },
    ]);
  });

  it('groups labels regardless of their order', () => {
    const m = (labels: object) => [{ name: 'c', help: 'c', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels }] }];
    expect(aggregate([m({ a: '1', b: '2' }), m({ b: '2', a: '1' })])[0]!.samples).toEqual([{ labels: { a: '1', b: '2' }, value: 2 }]);
  });

  it('leaves out what is malformed, unknown aggregators, and names the caller skips; keeps the rest', () => {
    const bad = [
      null,
      'text',
      { name: 'bad name', help: '', type: 'counter', aggregator: 'sum', values: [] },
      { name: 'no_values', help: '', type: 'counter', aggregator: 'sum' },
      { name: 'bad_type', help: '', type: 'meter', aggregator: 'sum', values: [] },
      { name: 'bad_label', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: { 'a-b': 1 } }] },
      { name: 'bad_value', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: '1', labels: {} }] },
      { name: 'odd_aggregator', help: '', type: 'gauge', aggregator: 'median', values: [{ value: 1, labels: {} }] },
      { name: 'hostd_requests_total', help: '', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels: {} }] },
      { name: 'good', help: 'g', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: {} }] },
    ];
    const merged = aggregate([bad], (name) => name.startsWith('hostd_'));
    expect(merged.map((f) => f.name)).toEqual(['good']);
  });
});

describe('heartbeat stats from a worker (untrusted)', () => {
  const stats = { requests: 5, in_flight: 1, rss_bytes: 50e6, heap_used_bytes: 10e6, elu: 0.25, hooks: { post_fork: { buckets: HOOK_BUCKETS.map(() => 0), sum: 0.1, count: 1 } } };

  it('are read when every field is in bounds', () => {
    expect(parseToPrimary({ t: 'heartbeat', connections: 2, stats })).toEqual({ t: 'heartbeat', connections: 2, stats });
    expect(parseToPrimary({ t: 'heartbeat', connections: 2 })).toEqual({ t: 'heartbeat', connections: 2 });
  });

  it.each([
    ['negative requests', { ...stats, requests: -1 }],
    ['fractional bytes', { ...stats, rss_bytes: 1.5 }],
    ['utilization over 1', { ...stats, elu: 1.5 }],
    ['NaN utilization', { ...stats, elu: NaN }],
    ['a hook hostd does not have', { ...stats, hooks: { nope: stats.hooks.post_fork } }],
    ['too many buckets', { ...stats, hooks: { post_fork: { buckets: [...HOOK_BUCKETS, 1].map(() => 0), sum: 0, count: 0 } } }],
    ['an infinite sum', { ...stats, hooks: { post_fork: { buckets: HOOK_BUCKETS.map(() => 0), sum: Infinity, count: 0 } } }],
    ['no object', 'stats'],
  ])('make the heartbeat ignored: %s', (_what, bad) => {
    expect(parseToPrimary({ t: 'heartbeat', connections: 2, stats: bad })).toBeNull();
  });

  it('a scrape answer is read only with an id and a bounded list (or null)', () => {
    expect(parseToPrimary({ t: 'metrics', id: 3, metrics: null })).toEqual({ t: 'metrics', id: 3, metrics: null });
    expect(parseToPrimary({ t: 'metrics', id: 3, metrics: [] })).toEqual({ t: 'metrics', id: 3, metrics: [] });
    expect(parseToPrimary({ t: 'metrics', id: -1, metrics: [] })).toBeNull();
    expect(parseToPrimary({ t: 'metrics', id: 3, metrics: {} })).toBeNull();
    expect(parseToPrimary({ t: 'metrics', id: 3, metrics: new Array(10_001).fill(0) })).toBeNull();
  });
});

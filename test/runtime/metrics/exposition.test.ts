import { describe, expect, it } from 'vitest';
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

  it('a part of a scrape answer is read only with its id, epoch, last flag and a bounded list of families (or null as the last part)', () => {
    const part = { t: 'metrics', id: 3, epoch: 7, last: true, families: [] };
    expect(parseToPrimary(part)).toEqual(part);
    expect(parseToPrimary({ ...part, families: null })).toEqual({ ...part, families: null, failed: false });
    expect(parseToPrimary({ ...part, families: null, failed: true })).toEqual({ ...part, families: null, failed: true });
    expect(parseToPrimary({ ...part, last: false, families: null })).toBeNull();
    expect(parseToPrimary({ ...part, id: -1 })).toBeNull();
    expect(parseToPrimary({ ...part, epoch: 1.5 })).toBeNull();
    expect(parseToPrimary({ ...part, last: 'yes' })).toBeNull();
    expect(parseToPrimary({ ...part, families: {} })).toBeNull();
    expect(parseToPrimary({ ...part, families: new Array(1025).fill({}) })).toBeNull();
  });
});

/**
 * The app's metrics merged in the primary (app-state.ts), fed as a worker feeds it: real
 * prom-client registries, one per simulated worker, encoded by the worker's encoder, each
 * part through JSON and the IPC boundary's check, as the channel carries them.
 */
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseToPrimary } from '../../../src/runtime/ipc.ts';
import { AppMetrics } from '../../../src/runtime/metrics/app-state.ts';
import { ScrapeEncoder } from '../../../src/runtime/metrics/encoder.ts';
import { LAST_ANSWER_ID, type ScrapePart, type WireFamily } from '../../../src/runtime/metrics/wire.ts';

let ids = 0;

/** A simulated worker: its own registry and encoder. */
class Worker {
  readonly registry = new client.Registry();
  readonly encoder = new ScrapeEncoder();
  /** The parts of its last answer, as sent. */
  parts: ScrapePart[] = [];

  constructor(readonly age: number) {}

  /** Answers a scrape of `state` completely; resolves with the result of its last part. */
  async answer(state: AppMetrics, json?: unknown[]): Promise<string> {
    const id = ++ids;
    const { epoch, known } = state.ask(this.age, id);
    this.parts = [];
    let result = '';
    await this.encoder.encode({ t: 'metrics', id, epoch, known }, json ?? (await this.registry.getMetricsAsJSON()), async (part) => {
      this.parts.push(part);
      result = state.part(this.age, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart);
      return true;
    });
    return result;
  }

  counter(name: string, labelNames: string[] = []) {
    return new client.Counter({ name, help: name, labelNames, registers: [this.registry] });
  }
}

/** Every sample line of a rendering: `name{labels}` → value. */
async function scrape(state: AppMetrics, format: 'prometheus' | 'openmetrics' = 'prometheus'): Promise<Map<string, number>> {
  const text = (await state.render([format])).get(format)!;
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const defsIn = (parts: readonly ScrapePart[]) => parts.flatMap((p) => p.families ?? []).reduce((n, f: WireFamily) => n + f.defs.length / 3, 0);

describe("merging workers' prom-client metrics (AggregatorRegistry's semantics)", () => {
  it('sums counters and histograms by labels, and applies each gauge its aggregator', async () => {
    const state = new AppMetrics();
    const workers = [new Worker(1), new Worker(2)];
    workers.forEach((w, i) => {
      const hits = w.counter('hits_total', ['route']);
      hits.inc({ route: '/' }, 3 + i);
      hits.inc({ route: '/x' });
      new client.Gauge({ name: 'pid', help: 'p', aggregator: 'max', registers: [w.registry] }).set(100 * (i + 1));
      new client.Gauge({ name: 'first', help: 'f', aggregator: 'first', registers: [w.registry] }).set(100 * (i + 1));
      new client.Gauge({ name: 'avg', help: 'a', aggregator: 'average', registers: [w.registry] }).set(100 * (i + 1));
      new client.Gauge({ name: 'version', help: 'v', aggregator: 'omit', registers: [w.registry] }).set(1);
      const size = new client.Histogram({ name: 'size', help: 's', buckets: [10], registers: [w.registry] });
      for (let k = 0; k < 3 + i; k++) size.observe(2);
    });
    for (const w of workers) expect(await w.answer(state)).toBe('done');
    const merged = await scrape(state);
    expect(merged.get('hits_total{route="/"}')).toBe(7);
    expect(merged.get('hits_total{route="/x"}')).toBe(2);
    expect(merged.get('pid')).toBe(200);
    expect(merged.get('first')).toBe(100);
    expect(merged.get('avg')).toBe(150);
    expect(merged.has('version')).toBe(false);
    expect(merged.get('size_bucket{le="10"}')).toBe(7);
    expect(merged.get('size_bucket{le="+Inf"}')).toBe(7);
    expect(merged.get('size_sum')).toBe(14);
    expect(merged.get('size_count')).toBe(7);
  });

  it('groups labels regardless of their order', async () => {
    const state = new AppMetrics();
    const m = (labels: object) => [{ name: 'c', help: 'c', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels }] }];
    await new Worker(1).answer(state, m({ a: '1', b: '2' }));
    await new Worker(2).answer(state, m({ b: '2', a: '1' }));
    expect([...(await scrape(state))]).toEqual([['c{a="1",b="2"}', 2]]);
  });

  it('leaves out what is malformed, unknown aggregators and hostd_ names; keeps the rest', async () => {
    const state = new AppMetrics();
    const one = { value: 1, labels: {} };
    const bad = [
      null,
      'text',
      { name: 'bad name', help: '', type: 'counter', aggregator: 'sum', values: [one] },
      { name: 'no_values', help: '', type: 'counter', aggregator: 'sum' },
      { name: 'bad_type', help: '', type: 'meter', aggregator: 'sum', values: [one] },
      { name: 'bad_label', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: { 'a-b': 1 } }] },
      { name: 'bad_label_value', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: { a: { b: 1 } } }] },
      { name: 'bad_value', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: '1', labels: {} }] },
      { name: 'bad_sample_name', help: '', type: 'gauge', aggregator: 'sum', values: [{ value: 1, labels: {}, metricName: 'other' }] },
      { name: 'odd_aggregator', help: '', type: 'gauge', aggregator: 'median', values: [one] },
      { name: 'hostd_requests_total', help: '', type: 'counter', aggregator: 'sum', values: [one] },
      { name: 'good', help: 'g', type: 'gauge', aggregator: 'sum', values: [one, { value: 2, labels: { 'a-b': 1 } }] },
    ];
    expect(await new Worker(1).answer(state, bad)).toBe('done');
    expect([...(await scrape(state))]).toEqual([['good', 1]]);
  });

  it('the same name with another type in another worker is left out of the merge: the first type wins while a live worker has it', async () => {
    const state = new AppMetrics();
    const w1 = new Worker(1);
    const w2 = new Worker(2);
    w1.counter('x_total').inc(5);
    new client.Gauge({ name: 'x_total', help: 'g', registers: [w2.registry] }).set(100);
    await w1.answer(state);
    await w2.answer(state);
    const text = (await state.render(['prometheus'])).get('prometheus')!;
    expect(text).toBe('# HELP x_total x_total\n# TYPE x_total counter\nx_total 5\n');
    // Once no live worker has the counter (a reload deployed the gauge), it goes, with what it kept, and the gauge replaces it.
    await state.forget(new Set([2]));
    expect((await state.render(['prometheus'])).get('prometheus')).toBe('');
    await w2.answer(state);
    expect((await state.render(['prometheus'])).get('prometheus')).toBe('# HELP x_total g\n# TYPE x_total gauge\nx_total 100\n');
  });
});

describe('the formats', () => {
  it("OpenMetrics names a counter's family without _total and its sample with it, whatever the app named it", async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    w.counter('app_jobs', ['queue']).inc({ queue: 'a' }, 2);
    w.counter('app_hits_total').inc(3);
    await w.answer(state);
    const texts = await state.render(['prometheus', 'openmetrics']);
    expect(texts.get('prometheus')).toBe('# HELP app_jobs app_jobs\n# TYPE app_jobs counter\napp_jobs{queue="a"} 2\n# HELP app_hits_total app_hits_total\n# TYPE app_hits_total counter\napp_hits_total 3\n');
    expect(texts.get('openmetrics')).toBe('# HELP app_jobs app_jobs\n# TYPE app_jobs counter\napp_jobs_total{queue="a"} 2\n# HELP app_hits app_hits_total\n# TYPE app_hits counter\napp_hits_total 3\n');
  });
});

describe('gauges set to NaN or ±Inf (issue 24, item 8)', () => {
  it('are written as prom-client writes them, and their family stays', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const g = new client.Gauge({ name: 'app_ratio', help: 'r', labelNames: ['k'], registers: [w.registry] });
    g.set({ k: 'nan' }, Number.NaN);
    g.set({ k: 'inf' }, Infinity);
    g.set({ k: 'neg' }, -Infinity);
    g.set({ k: 'one' }, 1);
    expect(await w.answer(state)).toBe('done');
    const text = (await state.render(['prometheus'])).get('prometheus')!;
    expect(text).toContain('app_ratio{k="nan"} NaN\n');
    expect(text).toContain('app_ratio{k="inf"} +Inf\n');
    expect(text).toContain('app_ratio{k="neg"} -Inf\n');
    expect(text).toContain('app_ratio{k="one"} 1\n');
    // What prom-client itself writes for them; its `Nan` is the `NaN` both formats spell out.
    const own = await w.registry.metrics();
    for (const line of ['app_ratio{k="nan"} Nan', 'app_ratio{k="inf"} +Inf', 'app_ratio{k="neg"} -Inf']) expect(own).toContain(line);
    expect((await state.render(['openmetrics'])).get('openmetrics')).toContain('app_ratio{k="nan"} NaN\n');
  });
});

describe('merged counters stay counters (issue 24, item 7)', () => {
  it('what an exited worker counted stays in the sum; its gauges go away', async () => {
    const state = new AppMetrics();
    const [w1, w2] = [new Worker(1), new Worker(2)];
    for (const [w, n] of [
      [w1, 582],
      [w2, 306],
    ] as const) {
      w.counter('app_hits_total').inc(n);
      new client.Gauge({ name: 'app_busy', help: 'b', registers: [w.registry] }).set(1);
      new client.Histogram({ name: 'app_seconds', help: 's', buckets: [1], registers: [w.registry] }).observe(0.5);
      await w.answer(state);
    }
    let merged = await scrape(state);
    expect(merged.get('app_hits_total')).toBe(888);
    expect(merged.get('app_busy')).toBe(2);
    // Worker 1 leaves (scale down, reload, crash, max_requests: the primary sees it gone).
    await state.forget(new Set([2]));
    merged = await scrape(state);
    expect(merged.get('app_hits_total')).toBe(888);
    expect(merged.get('app_seconds_count')).toBe(2);
    expect(merged.get('app_seconds_bucket{le="1"}')).toBe(2);
    expect(merged.get('app_busy')).toBe(1);
    // Its replacement counts from zero; the sum goes on from what was kept.
    const w3 = new Worker(3);
    w3.counter('app_hits_total').inc(10);
    await w3.answer(state);
    expect((await scrape(state)).get('app_hits_total')).toBe(898);
  });

  it('a counter a gone worker left at NaN does not stay in the sum: its replacement is counted again', async () => {
    const state = new AppMetrics();
    const w1 = new Worker(1);
    w1.counter('app_hits_total').inc(NaN);
    await w1.answer(state);
    await state.forget(new Set());
    const w2 = new Worker(2);
    w2.counter('app_hits_total').inc(7);
    await w2.answer(state);
    expect((await scrape(state)).get('app_hits_total')).toBe(7);
  });

  it("a worker that does not answer is merged with its last answer (read 2, 1, 1, 2 no more)", async () => {
    const state = new AppMetrics();
    const [w1, w2] = [new Worker(1), new Worker(2)];
    const hits = [w1.counter('app_hits_total'), w2.counter('app_hits_total')];
    hits[0]!.inc();
    hits[1]!.inc();
    await w1.answer(state);
    await w2.answer(state);
    const seen = [(await scrape(state)).get('app_hits_total')];
    // Worker 2 is asked but its answer does not come (busy, stopped): worker 1's alone is new.
    hits[0]!.inc();
    await w1.answer(state);
    state.ask(2, ++ids);
    seen.push((await scrape(state)).get('app_hits_total'));
    state.abandon(2);
    seen.push((await scrape(state)).get('app_hits_total'));
    await w2.answer(state);
    seen.push((await scrape(state)).get('app_hits_total'));
    expect(seen).toEqual([2, 3, 3, 3]);
  });

  it("a worker's own reset (prom-client reset(), remove(), a count that went down) keeps what it had counted", async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const plain = w.counter('app_plain_total');
    const labelled = w.counter('app_routes_total', ['route']);
    const histogram = new client.Histogram({ name: 'app_seconds', help: 's', buckets: [1], registers: [w.registry] });
    plain.inc(5);
    labelled.inc({ route: '/a' }, 7);
    labelled.inc({ route: '/b' }, 1);
    histogram.observe(0.5);
    histogram.observe(2);
    await w.answer(state);
    const before = await scrape(state);
    plain.reset();
    plain.inc(2);
    labelled.remove({ route: '/a' });
    histogram.reset();
    histogram.observe(0.5);
    await w.answer(state);
    const after = await scrape(state);
    expect(after.get('app_plain_total')).toBe(7);
    expect(after.get('app_routes_total{route="/a"}')).toBe(7);
    expect(after.get('app_routes_total{route="/b"}')).toBe(1);
    expect(after.get('app_seconds_count')).toBe(3);
    expect(after.get('app_seconds_bucket{le="1"}')).toBe(2);
    expect(after.get('app_seconds_sum')).toBe(3);
    for (const [series, value] of before) expect(after.get(series), series).toBeGreaterThanOrEqual(value);
    // The series comes back: counted on from what was kept.
    labelled.inc({ route: '/a' }, 1);
    await w.answer(state);
    expect((await scrape(state)).get('app_routes_total{route="/a"}')).toBe(8);
  });

  it("a histogram's _sum with negative observations is their sum, across scrapes and the worker's exit; _count and buckets still never go down", async () => {
    const state = new AppMetrics();
    const w1 = new Worker(1);
    const h1 = new client.Histogram({ name: 'app_delta', help: 'd', buckets: [0], registers: [w1.registry] });
    h1.observe(10);
    await w1.answer(state);
    expect((await scrape(state)).get('app_delta_sum')).toBe(10);
    // Its sum goes down alone (count and buckets grow): observations, not a reset.
    h1.observe(-8);
    await w1.answer(state);
    let merged = await scrape(state);
    expect(merged.get('app_delta_sum')).toBe(2);
    expect(merged.get('app_delta_count')).toBe(2);
    await state.forget(new Set());
    merged = await scrape(state);
    expect(merged.get('app_delta_sum')).toBe(2);
    expect(merged.get('app_delta_count')).toBe(2);
    expect(merged.get('app_delta_bucket{le="0"}')).toBe(1);
    // Its replacement's observations are added to what was kept.
    const w2 = new Worker(2);
    const h2 = new client.Histogram({ name: 'app_delta', help: 'd', buckets: [0], registers: [w2.registry] });
    h2.observe(-5);
    await w2.answer(state);
    h2.observe(1);
    await w2.answer(state);
    merged = await scrape(state);
    expect(merged.get('app_delta_sum')).toBe(-2);
    expect(merged.get('app_delta_count')).toBe(4);
    // A reset the count shows still keeps the whole group, the sum at what it was.
    h2.reset();
    h2.observe(3);
    await w2.answer(state);
    merged = await scrape(state);
    expect(merged.get('app_delta_sum')).toBe(1);
    expect(merged.get('app_delta_count')).toBe(5);
  });

  it('series kept for gone workers are one sum per series, at most maxKept of them: a label per process does not grow the primary, and held counters still never go down', async () => {
    const dropped: number[] = [];
    const state = new AppMetrics(undefined, { maxKept: 40, onDropped: (max) => dropped.push(max) });
    let last = 0;
    for (let age = 1; age <= 60; age++) {
      const w = new Worker(age);
      // A bounded series every worker has, and a group of series with a label per process.
      w.counter('app_hits_total').inc(2);
      w.counter('app_pids_total', ['pid']).inc({ pid: String(age) });
      new client.Histogram({ name: 'app_seconds', help: 's', buckets: [1], labelNames: ['pid'], registers: [w.registry] }).observe({ pid: String(age) }, 0.5);
      await w.answer(state);
      // Replaced: gone before the next one comes (max_requests, max_memory).
      await state.forget(new Set());
      const merged = await scrape(state);
      const hits = merged.get('app_hits_total')!;
      expect(hits, `after worker ${age}`).toBeGreaterThanOrEqual(last);
      last = hits;
      expect(merged.size).toBeLessThanOrEqual(40 + 3);
    }
    const merged = await scrape(state);
    expect(merged.get('app_hits_total')).toBe(120);
    expect(state.heldSeries).toBeLessThanOrEqual(40 + 3);
    expect(dropped).toEqual([40]);
    expect(state.dropped).toBeGreaterThan(0);
    // A histogram's samples of one label set are held whole or not at all.
    const pids = new Set([...merged.keys()].filter((k) => k.startsWith('app_seconds')).map((k) => k.match(/pid="(\d+)"/)![1]));
    expect(pids.size).toBeGreaterThan(0);
    for (const pid of pids) {
      for (const sample of [`app_seconds_bucket{le="1",pid="${pid}"}`, `app_seconds_bucket{le="+Inf",pid="${pid}"}`, `app_seconds_sum{pid="${pid}"}`, `app_seconds_count{pid="${pid}"}`]) expect(merged.has(sample), sample).toBe(true);
    }
    // A series already held goes on counting what gone workers counted.
    const w = new Worker(61);
    w.counter('app_hits_total').inc(5);
    await w.answer(state);
    await state.forget(new Set());
    expect((await scrape(state)).get('app_hits_total')).toBe(125);
  });

  it('the bound of series kept follows the most series the live workers had at once (twice that, within minKept and maxKept): a label per process stops there, an app with more series than minKept keeps them all', async () => {
    const dropped: number[] = [];
    const state = new AppMetrics(undefined, { minKept: 10, maxKept: 1000, onDropped: (bound) => dropped.push(bound) });
    expect(state.keptBound).toBe(10);
    // Two live workers with 100 series every worker has (routes) and 20 with a label per process.
    const live = new Map<number, Worker>();
    const replace = async (age: number) => {
      live.delete(age - 2);
      const w = new Worker(age);
      const routes = w.counter('app_routes_total', ['route']);
      for (let i = 0; i < 100; i++) routes.inc({ route: `/r${i}` }, age);
      const pids = w.counter('app_pids_total', ['pid', 'n']);
      for (let i = 0; i < 20; i++) pids.inc({ pid: String(age), n: String(i) });
      live.set(age, w);
      // Gone before its replacement answers (max_requests, max_memory).
      await state.forget(new Set(live.keys()));
      for (const each of live.values()) await each.answer(state);
    };
    await replace(1);
    await replace(2);
    // 100 shared series and 2 × 20 of their own.
    expect(state.keptBound).toBe(2 * 140);
    let routes = 0;
    for (let age = 3; age <= 40; age++) {
      await replace(age);
      const merged = await scrape(state);
      const sum = [...merged].filter(([k]) => k.startsWith('app_routes_total')).reduce((n, [, v]) => n + v, 0);
      expect(sum, `after worker ${age}`).toBeGreaterThanOrEqual(routes);
      routes = sum;
    }
    expect(state.keptBound).toBe(280);
    expect(state.heldSeries).toBeLessThanOrEqual(280);
    expect(dropped).toEqual([280]);
    // Every route series is held (the first kept), and each counts what every worker counted.
    const merged = await scrape(state);
    const counted = (i: number) => merged.get(`app_routes_total{route="/r${i}"}`);
    for (let i = 0; i < 100; i++) expect(counted(i)).toBe((40 * 41) / 2);
  });

  it("a worker's last answer, sent unasked as it exits, is used: in place of one it was asked for, and kept once it is gone", async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const hits = w.counter('app_hits_total');
    hits.inc(2);
    await w.answer(state);
    // Asked, and the answer never comes: its stop counts on, then it sends its last answer as it exits.
    state.ask(1, ++ids);
    hits.inc(3);
    let result = '';
    await w.encoder.encode({ t: 'metrics', id: LAST_ANSWER_ID, epoch: 0, known: 0 }, await w.registry.getMetricsAsJSON(), async (part) => {
      result = state.part(1, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart);
      return true;
    });
    expect(result).toBe('done');
    expect((await scrape(state)).get('app_hits_total')).toBe(5);
    await state.forget(new Set());
    expect((await scrape(state)).get('app_hits_total')).toBe(5);
  });

  it('takes one unasked last answer from a worker: more (app code can send anything) are ignored, however many', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const hits = w.counter('app_hits_total');
    hits.inc(2);
    const sendLast = async () => {
      const results: string[] = [];
      await w.encoder.encode({ t: 'metrics', id: LAST_ANSWER_ID, epoch: 0, known: 0 }, await w.registry.getMetricsAsJSON(), async (part) => {
        results.push(state.part(1, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart));
        return true;
      });
      return results;
    };
    expect(state.lastAnswer(1)).toBe(null);
    expect(await sendLast()).toContain('done');
    expect(state.lastAnswer(1)).toBe('used');
    hits.inc(40);
    for (let i = 0; i < 5; i++) expect((await sendLast()).every((r) => r === 'ignored')).toBe(true);
    expect((await scrape(state)).get('app_hits_total')).toBe(2);
  });

  it('gauges and summary quantiles are not kept: a gone worker takes them along', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const summary = new client.Summary({ name: 'app_latency', help: 'l', percentiles: [0.5], registers: [w.registry] });
    summary.observe(3);
    await w.answer(state);
    await state.forget(new Set());
    const merged = await scrape(state);
    expect(merged.has('app_latency{quantile="0.5"}')).toBe(false);
    expect(merged.get('app_latency_count')).toBe(1);
    expect(merged.get('app_latency_sum')).toBe(3);
  });

  it('no merged counter ever goes down over a random life of workers coming, going, resetting and missing scrapes', async () => {
    const state = new AppMetrics();
    const live = new Map<number, { w: Worker; c: client.Counter; p: client.Counter; h: client.Histogram }>();
    let age = 0;
    const spawn = () => {
      const w = new Worker(++age);
      const c = w.counter('app_hits_total', ['route']);
      const p = w.counter('app_plain_total');
      const h = new client.Histogram({ name: 'app_seconds', help: 's', buckets: [0.1, 1], labelNames: ['route'], registers: [w.registry] });
      live.set(age, { w, c, p, h });
    };
    spawn();
    spawn();
    let last = new Map<string, number>();
    // A fixed sequence (no Math.random): the same life every run.
    let seed = 7;
    // mulberry32: every action comes up (an LCG's low bits cycle).
    const next = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n | 0;
    };
    for (let step = 0; step < 200; step++) {
      for (const { c, p, h } of live.values()) {
        const route = `/r${next(5)}`;
        c.inc({ route }, next(3));
        p.inc(next(3));
        h.observe({ route }, next(3) / 2);
      }
      const action = next(10);
      const ages = [...live.keys()];
      const pick = ages[next(ages.length)]!;
      if (action === 0 && live.size > 1) live.delete(pick);
      else if (action === 1) spawn();
      else if (action === 2) live.get(pick)!.c.reset();
      else if (action === 3) live.get(pick)!.h.reset();
      else if (action === 4) live.get(pick)!.c.remove({ route: '/r1' });
      // Reset to 0 and counted on: the series stays, its value goes down.
      else if (action === 5) live.get(pick)!.p.reset();
      await state.forget(new Set(live.keys()));
      for (const [a, { w }] of live) {
        // Some workers miss this scrape: asked, never answering in time.
        if (next(4) === 0) {
          state.ask(a, ++ids);
          state.abandon(a);
        } else await w.answer(state);
      }
      const now = await scrape(state);
      // Not `_sum`: it goes down with a reset its group's counts do not show (and with negative observations).
      for (const [series, value] of last) if (/^app_(hits|plain)_total|^app_seconds_(bucket|count)/.test(series)) expect(now.get(series) ?? 0, `${series} at step ${step}`).toBeGreaterThanOrEqual(value);
      last = now;
    }
  });
});

describe('series by number (wire.ts)', () => {
  it('definitions travel once; a series that moves keeps its number; a primary that lost track gets them all again', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const c = w.counter('app_hits_total', ['route']);
    for (let i = 0; i < 20; i++) c.inc({ route: `/${i}` }, i);
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(20);
    c.inc({ route: '/new' }, 1);
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(1);
    // prom-client lists /5 after /new once it is removed and made again: it moved.
    c.remove({ route: '/5' });
    c.inc({ route: '/5' }, 1);
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(0);
    expect((await scrape(state)).get('app_hits_total{route="/5"}')).toBe(6);
    // An answer given up halfway: the primary asks for every definition next time.
    state.ask(1, ++ids);
    state.abandon(1);
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(21);
    expect((await scrape(state)).get('app_hits_total{route="/19"}')).toBe(19);
  });

  it('an answer whose numbers the primary never had definitions for is not used, and the next one defines everything', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    w.counter('app_hits_total').inc(3);
    await w.answer(state);
    const id = ++ids;
    const { epoch } = state.ask(1, id);
    const stray: ScrapePart = { t: 'metrics', id, epoch, last: true, families: [{ name: 'app_hits_total', help: 'h', type: 'counter', aggregator: 'sum', defs: [], values: [99, 1] }] };
    expect(state.part(1, stray)).toBe('failed');
    expect((await scrape(state)).get('app_hits_total')).toBe(3);
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(1);
  });

  it("a series number as high as the wire allows costs what one does: the worker's numbers are not an array's length", async () => {
    const state = new AppMetrics();
    const id = ++ids;
    const { epoch } = state.ask(1, id);
    const high: ScrapePart = { t: 'metrics', id, epoch: epoch + 1, last: true, families: [{ name: 'app_hits_total', help: 'h', type: 'counter', aggregator: 'sum', defs: [2 ** 31 - 1, null, {}], values: [2 ** 31 - 1, 5] }] };
    expect(state.part(1, high)).toBe('done');
    expect((await scrape(state)).get('app_hits_total')).toBe(5);
    // Its exit drops its definitions: a loop over 2^31 slots (~50 s) fails by the test's timeout.
    await state.forget(new Set());
    expect((await scrape(state)).get('app_hits_total')).toBe(5);
  });

  it("a family's samples carry its own name and its type's suffixes only: no family writes another's samples", async () => {
    const state = new AppMetrics();
    const id = ++ids;
    const { epoch } = state.ask(1, id);
    let n = 0;
    const family = (name: string, type: string, samples: string[]) => {
      const numbers = samples.map(() => n++);
      return { name, help: 'h', type, aggregator: 'sum', defs: samples.flatMap((sample, i) => [numbers[i]!, sample, {}]), values: numbers.flatMap((k) => [k, 1]) };
    };
    const part = {
      t: 'metrics',
      id,
      epoch: epoch + 1,
      last: true,
      families: [family('app_x', 'counter', ['app_x', 'app_x_total']), family('hostd', 'gauge', ['hostd_requests_total']), family('app_h', 'histogram', ['app_h_bucket', 'app_h_other'])],
    } as ScrapePart;
    expect(state.part(1, part)).toBe('done');
    expect([...(await scrape(state)).keys()].sort()).toEqual(['app_h_bucket', 'app_x']);
  });

  it('100k series go in parts of bounded size, and the primary merges them without holding its event loop', async () => {
    const state = new AppMetrics();
    const w = new Worker(1);
    const c = w.counter('app_series_total', ['route', 'code']);
    for (let i = 0; i < 100_000; i++) c.inc({ route: `/r${i % 20_000}`, code: String(200 + Math.floor(i / 20_000)) }, i);
    await w.answer(state);
    expect(w.parts.length).toBeGreaterThan(40);
    for (const part of w.parts) expect(JSON.stringify(part).length).toBeLessThan(200_000);
    // Second time: numbers and values only.
    await w.answer(state);
    expect(defsIn(w.parts)).toBe(0);
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const text = (await state.render(['prometheus'])).get('prometheus')!;
    clearInterval(ticking);
    expect(text.split('\n').length).toBe(100_000 + 3);
    expect(text).toContain('app_series_total{code="204",route="/r19999"} 99999\n');
    // The render gave the event loop back along the way (timers ran).
    expect(turns).toBeGreaterThan(1);
  });
});

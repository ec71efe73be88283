/**
 * The metrics endpoint's waits for workers, judged in the primary's awake time: an endpoint
 * in this process, on 127.0.0.1, with a source standing for the primary (its awake clock
 * ticked as the core ticks it) and a worker answering through the real encoder.
 */
import client from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseToPrimary, type ToWorker } from '../../../src/runtime/ipc.ts';
import { ScrapeEncoder } from '../../../src/runtime/metrics/encoder.ts';
import { histogram } from '../../../src/runtime/metrics/histogram.ts';
import { LAST_ANSWER_ID, type ScrapePart, type ScrapeRequest } from '../../../src/runtime/metrics/wire.ts';
import { awakeAt, awakeClock, awakeSeen, observe, ticked } from '../../../src/runtime/primary/core/awake.ts';
import { ABANDON_MS, MetricsEndpoint, type MetricsSource, within } from '../../../src/runtime/primary/metrics.ts';
import type { WorkerView } from '../../../src/runtime/primary/worker-record.ts';
import { waitUntil } from '../../helpers/run.ts';

const realNow = performance.now.bind(performance);
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.restoreAllMocks();
});

/** The value of one sample, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const WORKER: WorkerView = {
  id: 1,
  age: 1,
  pid: 4242,
  generation: 1,
  state: 'serving',
  forkedAt: 0,
  readyAt: 0,
  lastHeartbeat: 0,
  connections: 0,
  stats: { requests: 0, inFlight: 0, rssBytes: 0, heapUsedBytes: 0, elu: 0 },
};

/**
 * A primary for the endpoint: one serving worker, the requests sent to it, and the waits
 * that ended. `stall(ms)` is a SIGSTOP of that long: real time (performance.now() included)
 * jumps and the tick comes late.
 */
async function primary(worker: () => WorkerView = () => WORKER) {
  let shift = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => realNow() + shift);
  const clock = awakeClock();
  const tick = () => {
    observe(clock, performance.now());
    ticked(clock, performance.now(), 100);
  };
  tick();
  const ticker = setInterval(tick, 100);
  const sent: ScrapeRequest[] = [];
  const collected: [number, boolean][] = [];
  let rounds = 0;
  const source: MetricsSource = {
    counters: { requests: 0, boots: 1, proxyErrors: 0, exits: new Map(), reloads: { success: 0, failure: 0 }, hooks: {} },
    startedAt: new Date(),
    workers: () => {
      rounds++;
      return [worker()];
    },
    waiting: () => 0,
    queue: () => histogram([1]),
    generation: () => 1,
    target: () => 1,
    send: (_age, message: ToWorker) => {
      sent.push(message as ScrapeRequest);
      return true;
    },
    collecting: () => {},
    collected: (age, answered) => collected.push([age, answered]),
    channels: () => [1],
    awake: () => awakeSeen(clock, performance.now()),
    log: () => {},
  };
  const endpoint = new MetricsEndpoint(source);
  const url = `${await endpoint.open('127.0.0.1:0')}/metrics`;
  cleanups.push(() => {
    clearInterval(ticker);
    endpoint.close();
  });
  return {
    endpoint,
    url,
    sent,
    collected,
    rounds: () => rounds,
    stall: (ms: number) => (shift += ms),
  };
}

describe("the metrics endpoint's waits, in awake time (a stalled primary blames no worker)", () => {
  it('a collection in flight while the primary was stopped longer than ABANDON_MS is not given up on its resume: the worker is not asked again and its answer is used', async () => {
    const p = await primary();
    // A scrape asks the worker, which does not answer within the scrape's wait.
    let text = await (await fetch(p.url)).text();
    expect(p.sent).toHaveLength(1);
    expect(value(text, 'hostd_scrape_errors_total')).toBe(1);
    p.stall(2 * ABANDON_MS);
    const rounds = p.rounds();
    const next = fetch(p.url).then((r) => r.text());
    // The round began (it reads the workers first, and decides about collections in flight at once).
    await waitUntil(() => p.rounds() > rounds, 'the next scrape to begin its round');
    const registry = new client.Registry();
    new client.Counter({ name: 'app_hits_total', help: 'h', registers: [registry] }).inc(3);
    const request = p.sent[0]!;
    await new ScrapeEncoder().encode(request, await registry.getMetricsAsJSON(), async (part) => {
      p.endpoint.answer(1, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart);
      return true;
    });
    text = await next;
    expect(p.sent).toHaveLength(1);
    expect(p.collected).toEqual([[1, true]]);
    expect(value(text, 'app_hits_total')).toBe(3);
    expect(value(text, 'hostd_scrape_errors_total')).toBe(1);
  });
});

/**
 * A worker of `registry` answering the endpoint through the real encoder: `answer(request)`,
 * or its unasked last answer, `held` parts of it kept back until `rest()`.
 */
function appWorker(endpoint: MetricsEndpoint, registry: client.Registry) {
  const encoder = new ScrapeEncoder();
  const deliver = (part: ScrapePart) => endpoint.answer(1, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart);
  return {
    answer: async (request: ScrapeRequest) => {
      await encoder.encode(request, await registry.getMetricsAsJSON(), async (part) => {
        deliver(part);
        return true;
      });
    },
    /** Sends its last answer but for its parts after the first `sent`; resolves with the parts held back. */
    last: async (sent = Infinity) => {
      const parts: ScrapePart[] = [];
      await encoder.encode({ t: 'metrics', id: LAST_ANSWER_ID, epoch: 0, known: 0 }, await registry.getMetricsAsJSON(), async (part) => {
        parts.push(part);
        return true;
      });
      for (const part of parts.slice(0, sent)) deliver(part);
      return { parts: parts.length, rest: () => parts.slice(sent).forEach(deliver) };
    },
  };
}

describe("a stopping worker's last answer answers the scrapes after it", () => {
  it('a scrape between its last answer and its channel closing does not ask it, counts no error and uses the last answer', async () => {
    let state: WorkerView['state'] = 'serving';
    const p = await primary(() => ({ ...WORKER, state }));
    const registry = new client.Registry();
    const hits = new client.Counter({ name: 'app_hits_total', help: 'h', registers: [registry] });
    hits.inc(3);
    const w = appWorker(p.endpoint, registry);
    const first = fetch(p.url).then((r) => r.text());
    await waitUntil(() => p.sent.length === 1, 'the worker to be asked');
    await w.answer(p.sent[0]!);
    let text = await first;
    expect(value(text, 'app_hits_total')).toBe(3);
    expect(value(text, 'hostd_scrape_errors_total')).toBe(0);
    // It stops: counts on while it drains, then sends its last answer as it exits, and answers nothing more.
    state = 'stopping';
    hits.inc(2);
    await w.last();
    text = await (await fetch(p.url)).text();
    expect(p.sent).toHaveLength(1);
    expect(value(text, 'app_hits_total')).toBe(5);
    expect(value(text, 'hostd_scrape_errors_total')).toBe(0);
  });

  it('a scrape while its last answer is coming waits for the rest of it, without asking it: the answer is used and no error counted', async () => {
    const p = await primary(() => ({ ...WORKER, state: 'stopping' }));
    const registry = new client.Registry();
    // More series than one part carries: the last answer comes in several.
    const series = new client.Counter({ name: 'app_series_total', help: 's', labelNames: ['n'], registers: [registry] });
    for (let i = 0; i < 20_000; i++) series.inc({ n: String(i) });
    const w = appWorker(p.endpoint, registry);
    const last = await w.last(1);
    expect(last.parts).toBeGreaterThan(1);
    const rounds = p.rounds();
    const scrape = fetch(p.url).then((r) => r.text());
    await waitUntil(() => p.rounds() > rounds, 'the scrape to begin its round');
    last.rest();
    const text = await scrape;
    expect(p.sent).toHaveLength(0);
    expect(text.match(/^app_series_total\{/gm)).toHaveLength(20_000);
    expect(value(text, 'hostd_scrape_errors_total')).toBe(0);
  });

  it('a last answer that failed is counted at each scrape while its channel is open, and the worker is not asked', async () => {
    const p = await primary(() => ({ ...WORKER, state: 'stopping' }));
    p.endpoint.answer(1, { t: 'metrics', id: LAST_ANSWER_ID, epoch: 1, last: true, families: null, failed: true });
    expect(value(await (await fetch(p.url)).text(), 'hostd_scrape_errors_total')).toBe(1);
    expect(value(await (await fetch(p.url)).text(), 'hostd_scrape_errors_total')).toBe(2);
    expect(p.sent).toHaveLength(0);
  });
});

describe('within(): a wait in awake time', () => {
  it('a timer that fires with less awake time gone than its wait waits on for the rest: an answer meanwhile is used', async () => {
    // A primary that ran a tenth of the time: 50 ms of awake time take 500 real ms.
    const t0 = realNow();
    const awake = () => (realNow() - t0) / 10;
    const answer = new Promise<string>((resolve) => setTimeout(() => resolve('answered'), 200));
    const never = new Promise<string>(() => {});
    expect(await within([answer, never], 50, awake)).toEqual(['answered', undefined]);
  });
});

describe('awakeSeen(): awake time read outside the core', () => {
  it('counts an overdue tick as sleep, as the next event will, without taking the credit from it', () => {
    const clock = awakeClock();
    ticked(clock, 0, 100);
    expect(awakeSeen(clock, 60)).toBe(60);
    // Stopped from 60 to 30 s: the tick due at 100 comes at 30,000.
    expect(awakeSeen(clock, 30_000)).toBe(100);
    expect(clock).toEqual({ asleep: 0, tickDue: 100 });
    // The core's next event still sees the stall, and agrees.
    expect(observe(clock, 30_000)).toBe(29_900);
    expect(awakeAt(clock, 30_000)).toBe(100);
    ticked(clock, 30_000, 100);
    expect(awakeSeen(clock, 30_050)).toBe(150);
  });
});

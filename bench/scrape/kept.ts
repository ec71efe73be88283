/**
 * The primary's memory per app series kept for exited workers (app-state.ts, MAX_KEPT): workers
 * with a label per process (`pid`) each answer once and exit, so every series they had is kept.
 * Heap in use after a full GC, before and after, over the series held. Run alone:
 *
 *     node --expose-gc --import tsx bench/scrape/kept.ts [series per worker] [workers] [counter|histogram|both]
 *
 * Label sets of a counter, of a histogram (4 buckets: 7 samples a label set) or of both, with
 * a route label of 10 to 15 characters, as an app with a pid label has them.
 */
import { parseToPrimary } from '../../src/runtime/ipc.ts';
import { AppMetrics } from '../../src/runtime/metrics/app-state.ts';
import { ScrapeEncoder } from '../../src/runtime/metrics/encoder.ts';
import type { ScrapePart } from '../../src/runtime/metrics/wire.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const perWorker = Number(process.argv[2] ?? 20_000);
const workers = Number(process.argv[3] ?? 10);
const kind = process.argv[4] ?? 'both';
const BUCKETS = [0.1, 0.5, 1, 5];

/** prom-client's getMetricsAsJSON() of worker `pid`: `routes` label sets of a counter and of a histogram. */
function registry(pid: number, routes: number): unknown[] {
  const counter = { name: 'app_jobs_total', help: 'Jobs.', type: 'counter', aggregator: 'sum', values: [] as unknown[] };
  const histogram = { name: 'app_job_seconds', help: 'Job time.', type: 'histogram', aggregator: 'sum', values: [] as unknown[] };
  for (let i = 0; i < routes; i++) {
    const labels = { pid: String(pid), route: `/api/v1/r${i}` };
    counter.values.push({ value: i + 1, labels });
    for (const le of [...BUCKETS, '+Inf']) histogram.values.push({ value: i + 1, labels: { ...labels, le }, metricName: 'app_job_seconds_bucket' });
    histogram.values.push({ value: i * 0.3, labels, metricName: 'app_job_seconds_sum' });
    histogram.values.push({ value: i + 1, labels, metricName: 'app_job_seconds_count' });
  }
  return kind === 'counter' ? [counter] : kind === 'histogram' ? [histogram] : [counter, histogram];
}

async function main(): Promise<void> {
  const heap = () => {
    gc!();
    gc!();
    return process.memoryUsage().heapUsed;
  };
  const state = new AppMetrics(() => {}, { minKept: Number.MAX_SAFE_INTEGER, maxKept: Number.MAX_SAFE_INTEGER });
  // One worker answered and exited first: the lasting structures (families, the worker map) are in the baseline.
  const routes = Math.round(perWorker / (kind === 'counter' ? 1 : kind === 'histogram' ? BUCKETS.length + 3 : BUCKETS.length + 4));
  let id = 0;
  const answerAndExit = async (age: number) => {
    const encoder = new ScrapeEncoder();
    const request = { t: 'metrics' as const, id: ++id, ...state.ask(age, id) };
    await encoder.encode(request, registry(10_000 + age, routes), async (part) => {
      state.part(age, parseToPrimary(JSON.parse(JSON.stringify(part))) as ScrapePart);
      return true;
    });
    await state.forget(new Set());
  };
  await answerAndExit(0);
  await state.render(['prometheus']);
  const before = heap();
  const heldBefore = state.heldSeries;
  for (let age = 1; age <= workers; age++) await answerAndExit(age);
  // A render, so the scratch a scrape writes is counted too.
  await state.render(['prometheus']);
  const after = heap();
  const held = state.heldSeries - heldBefore;
  const perSeries = (after - before) / held;
  process.stdout.write(
    `${kind}: ${held} series held for ${workers} exited workers: ${((after - before) / 2 ** 20).toFixed(1)} MiB of heap, ${perSeries.toFixed(0)} bytes a series; ` +
      `at 100,000: ${((perSeries * 1e5) / 2 ** 20).toFixed(0)} MiB, at 1,000,000: ${((perSeries * 1e6) / 2 ** 20).toFixed(0)} MiB (Node ${process.version})\n`,
  );
}

await main();

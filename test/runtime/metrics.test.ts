/**
 * `metrics_bind`: real scrapes over loopback of a running `hostd run`, hostd's own metrics
 * and an app's prom-client metrics merged across workers.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { continueStopped, promProject, sampleValue, startWithMetrics } from '../helpers/metrics.ts';
import { project } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil, workerPids } from '../helpers/run.ts';

const CONFIG = (body = '', metricsBind = '127.0.0.1:0') => `import { defineConfig } from 'hostd';
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  metrics_bind: '${metricsBind}',
  timeout: 2,
  on_starting: () => {},
  post_worker_init: () => {},
  ${body}
});
`;

const PLAIN_APP = "export default (req, res) => res.end('hello ' + process.pid);\n";

/** Counts its requests in a prom-client counter (per worker) and a histogram; a gauge with the `max` aggregator. */
const PROM_APP = `import client from 'prom-client';
const hits = new client.Counter({ name: 'app_hits_total', help: 'Hits.' });
const sizes = new client.Histogram({ name: 'app_size_bytes', help: 'Sizes.', buckets: [10, 100] });
const biggest = new client.Gauge({ name: 'app_pid', help: 'The largest worker pid.', aggregator: 'max' });
biggest.set(process.pid);
export default (req, res) => {
  hits.inc();
  sizes.observe(50);
  res.end(String(process.pid));
};
`;

const appProject = (workers: number) => promProject({ 'app.mjs': PROM_APP, 'hostd.config.ts': CONFIG(`workers: ${workers},`) });

interface Scrape {
  readonly status: number;
  readonly type: string | null;
  readonly text: string;
}

async function scrape(url: string, accept?: string): Promise<Scrape> {
  const response = await fetch(url, accept ? { headers: { accept } } : {});
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}


const start = (dir: string) => startWithMetrics(dir);

describe('metrics_bind', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    continueStopped(stopped);
    await run?.kill();
    run = undefined;
  });
  const stopped: number[] = [];

  it("serves hostd's metrics with their types and labels; requests_total grows by the requests made; other paths are 404", async () => {
    const dir = project({ 'app.mjs': PLAIN_APP, 'hostd.config.ts': CONFIG('workers: 2,') });
    const started = await start(dir);
    run = started.run;
    const first = await scrape(started.metrics);
    expect(first.status).toBe(200);
    expect(first.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of [
      ['hostd_workers', 'gauge'],
      ['hostd_requests_total', 'counter'],
      ['hostd_requests_in_flight', 'gauge'],
      ['hostd_connections_waiting', 'gauge'],
      ['hostd_worker_exits_total', 'counter'],
      ['hostd_worker_boots_total', 'counter'],
      ['hostd_reloads_total', 'counter'],
      ['hostd_hook_duration_seconds', 'histogram'],
      ['hostd_start_time_seconds', 'gauge'],
      ['hostd_generation', 'gauge'],
      ['hostd_scrape_errors_total', 'counter'],
      ['hostd_app_series_dropped_total', 'counter'],
      ['hostd_worker_requests_in_flight', 'gauge'],
      ['hostd_worker_resident_memory_bytes', 'gauge'],
      ['hostd_worker_heap_used_bytes', 'gauge'],
      ['hostd_worker_event_loop_utilization_ratio', 'gauge'],
    ]) {
      expect(first.text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(sampleValue(first.text, 'hostd_workers{state="serving"}')).toBe(2);
    expect(sampleValue(first.text, 'hostd_worker_boots_total')).toBe(2);
    expect(sampleValue(first.text, 'hostd_generation')).toBe(1);
    expect(sampleValue(first.text, 'hostd_connections_waiting')).toBe(0);
    expect(Math.abs(sampleValue(first.text, 'hostd_start_time_seconds')! - Date.now() / 1000)).toBeLessThan(120);
    // post_worker_init ran once in each worker, reported with a heartbeat.
    const pids = workerPids(run.pid);
    const inits = await waitUntil(async () => {
      const text = (await scrape(started.metrics)).text;
      return sampleValue(text, 'hostd_hook_duration_seconds_count{hook="post_worker_init"}') === 2 && text;
    }, 'post_worker_init counted twice');
    expect(sampleValue(inits, 'hostd_hook_duration_seconds_bucket{hook="post_worker_init",le="+Inf"}')).toBe(2);
    // A hook of the primary's, timed there.
    expect(sampleValue(inits, 'hostd_hook_duration_seconds_count{hook="on_starting"}')).toBe(1);
    expect(sampleValue(inits, 'hostd_hook_duration_seconds_bucket{hook="on_starting",le="60"}')).toBe(1);
    for (const pid of pids) {
      const rss = inits.match(new RegExp(`^hostd_worker_resident_memory_bytes\\{worker="[12]",pid="${pid}"\\} (\\d+)$`, 'm'));
      expect(Number(rss?.[1])).toBeGreaterThan(1024 * 1024);
      expect(inits).toMatch(new RegExp(`^hostd_worker_event_loop_utilization_ratio\\{worker="[12]",pid="${pid}"\\} [\\d.e-]+$`, 'm'));
    }

    const before = sampleValue((await scrape(started.metrics)).text, 'hostd_requests_total')!;
    for (let i = 0; i < 25; i++) await (await fetch(started.url)).text();
    await waitUntil(async () => sampleValue((await scrape(started.metrics)).text, 'hostd_requests_total') === before + 25, 'hostd_requests_total to grow by 25');

    expect((await scrape(started.metrics.replace(/\/metrics$/, '/other'))).status).toBe(404);
    expect((await fetch(started.metrics, { method: 'POST' })).status).toBe(405);
    const head = await fetch(started.metrics, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('hostd_connection_queue_seconds: how long each connection waited for a worker, sub-millisecond waits in their own buckets', async () => {
    const app = "import { writeFileSync } from 'node:fs';\nexport default (req, res) => { if (req.url === '/block') { writeFileSync(new URL('./blocking', import.meta.url), ''); const end = Date.now() + 300; while (Date.now() < end); } res.end('ok'); };\n";
    const dir = project({ 'app.mjs': app, 'hostd.config.ts': CONFIG('workers: 1,') });
    const started = await start(dir);
    run = started.run;
    const text = (await scrape(started.metrics)).text;
    expect(text).toContain('# TYPE hostd_connection_queue_seconds histogram\n');
    expect(text).toContain('hostd_connection_queue_seconds_bucket{le="0.0001"} ');
    const count = (t: string) => sampleValue(t, 'hostd_connection_queue_seconds_count')!;
    const before = count(text);
    // Each fetch a connection of its own, taken by an idle worker.
    for (let i = 0; i < 10; i++) await (await fetch(started.url, { headers: { connection: 'close' } })).text();
    // Then one that waits behind a request blocking the only worker for 300 ms.
    const blocking = fetch(`${started.url}/block`, { headers: { connection: 'close' } });
    await waitUntil(() => existsSync(join(dir, 'blocking')), 'the worker to be blocked');
    await (await fetch(started.url, { headers: { connection: 'close' } })).text();
    await (await blocking).text();
    const after = (await scrape(started.metrics)).text;
    expect(count(after) - before).toBe(12);
    // The one that waited: above 0.1 s, not counted in the buckets below.
    expect(sampleValue(after, 'hostd_connection_queue_seconds_bucket{le="0.1"}')!).toBeLessThan(count(after));
    expect(sampleValue(after, 'hostd_connection_queue_seconds_bucket{le="+Inf"}')).toBe(count(after));
    expect(sampleValue(after, 'hostd_connection_queue_seconds_sum')!).toBeGreaterThan(0.1);
  });

  it('counts worker exits by reason after a SIGKILL, and reloads by result', async () => {
    const dir = project({ 'app.mjs': PLAIN_APP, 'hostd.config.ts': CONFIG('workers: 1,') });
    const started = await start(dir);
    run = started.run;
    const [pid] = workerPids(run.pid);
    process.kill(pid!, 'SIGKILL');
    await waitUntil(async () => {
      const text = (await scrape(started.metrics)).text;
      return sampleValue(text, 'hostd_worker_exits_total{reason="killed"}') === 1 && sampleValue(text, 'hostd_worker_boots_total') === 2;
    }, 'an exit with reason killed and a second boot');

    run.signal('SIGHUP');
    await run.waitForOutput(/reloaded: generation 2 is serving/);
    let text = (await scrape(started.metrics)).text;
    expect(sampleValue(text, 'hostd_reloads_total{result="success"}')).toBe(1);
    expect(sampleValue(text, 'hostd_generation')).toBe(2);

    // A config that no longer validates: the reload fails.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'hostd.config.ts'), CONFIG('workers: 1, timeout: "soon",'));
    run.signal('SIGHUP');
    await run.waitForOutput(/reload: the config is invalid/);
    text = (await scrape(started.metrics)).text;
    expect(sampleValue(text, 'hostd_reloads_total{result="failure"}')).toBe(1);
    expect(sampleValue(text, 'hostd_reloads_total{result="success"}')).toBe(1);
    await waitUntil(async () => sampleValue((await scrape(started.metrics)).text, 'hostd_worker_exits_total{reason="reload"}') === 1, 'the old worker to exit (reload)');
  });

  it("merges the app's prom-client metrics across workers: counters and histograms summed, gauges by their aggregator", async () => {
    const started = await start(appProject(2));
    run = started.run;
    const pids = new Set<string>();
    let made = 0;
    // A new connection per request, so that both workers serve some.
    for (; made < 40 && (pids.size < 2 || made < 10); made++) pids.add(await (await fetch(started.url, { headers: { connection: 'close' } })).text());
    expect(pids.size).toBe(2);
    await waitUntil(async () => sampleValue((await scrape(started.metrics)).text, 'hostd_requests_total') === made, () => `hostd_requests_total to reach ${made}`);
    const text = (await scrape(started.metrics)).text;
    // Each worker counted its own requests: the sum is all of them.
    expect(sampleValue(text, 'app_hits_total')).toBe(made);
    expect(text).toContain('# TYPE app_hits_total counter\n');
    expect(sampleValue(text, 'app_size_bytes_count')).toBe(made);
    expect(sampleValue(text, 'app_size_bytes_bucket{le="100"}')).toBe(made);
    expect(sampleValue(text, 'app_size_bytes_bucket{le="10"}')).toBe(0);
    expect(sampleValue(text, 'app_pid')).toBe(Math.max(...[...pids].map(Number)));
    expect(sampleValue(text, 'hostd_scrape_errors_total')).toBe(0);

    const om = await scrape(started.metrics, 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5');
    expect(om.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.text.endsWith('# EOF\n')).toBe(true);
    expect(om.text).toContain('# TYPE hostd_requests counter\n');
    expect(om.text).toContain('# TYPE app_hits counter\n');
    expect(om.text).toMatch(/^app_hits_total \d+$/m);
  });

  it('leaves out a worker that does not answer within 1 s, counts it, and answers anyway', async () => {
    const started = await start(appProject(2));
    run = started.run;
    for (let i = 0; i < 10; i++) await (await fetch(started.url, { headers: { connection: 'close' } })).text();
    const [frozen] = workerPids(run.pid);
    process.kill(frozen!, 'SIGSTOP');
    stopped.push(frozen!);
    const began = Date.now();
    const text = (await scrape(started.metrics)).text;
    const took = Date.now() - began;
    expect(took).toBeLessThan(5000);
    expect(sampleValue(text, 'hostd_scrape_errors_total')).toBe(1);
    // The other worker still answered.
    expect(text).toContain('# TYPE app_hits_total counter\n');
  });

  it('a metrics_bind that is taken aborts the start (exit 1), naming it; no worker is started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const dir = project({ 'app.mjs': PLAIN_APP, 'hostd.config.ts': CONFIG('workers: 1,', `127.0.0.1:${port}`) });
      run = startHostd(dir);
      expect((await run.exited).code).toBe(1);
      expect(run.output).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`);
      expect(run.output).not.toMatch(/Booting worker/);
    } finally {
      taken.close();
    }
  });
});

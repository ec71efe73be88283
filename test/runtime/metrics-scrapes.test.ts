/**
 * Issue 24's metrics items against a running `hostd run`, over loopback: scrapes of a large
 * registry (item 5), a flood of metrics connections (6), merged counters across worker
 * exits and missed scrapes (7), gauges set to NaN or ±Inf (8).
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GATE_MODULE, probe, release } from '../helpers/gates.ts';
import { continueStopped, promProject, sampleValue, startWithMetrics } from '../helpers/metrics.ts';
import { type Hostd, hooksLog, records, waitUntil, workerPids } from '../helpers/run.ts';

const CONFIG = (body: string) => `import { defineConfig } from 'hostd';
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  metrics_bind: '127.0.0.1:0',
  ${body}
});
`;

const appProject = (app: string, config: string) => promProject({ 'app.mjs': app, 'hostd.config.ts': CONFIG(config), 'gate.mjs': GATE_MODULE });


async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
}

const start = (dir: string, prefix?: readonly string[]) => startWithMetrics(dir, { prefix, readyMs: 30_000 });

/** 100k series in one counter (a route and a code label), and a count of the times the registry was read. */
const BIG_APP = `import client from 'prom-client';
const series = new client.Counter({ name: 'app_series_total', help: 'Series.', labelNames: ['route', 'code'] });
for (let i = 0; i < 100_000; i++) series.inc({ route: '/r' + (i % 20_000), code: String(200 + Math.floor(i / 20_000)) });
const reads = new client.Counter({ name: 'app_registry_reads_total', help: 'Times the registry was read.' });
const read = client.register.getMetricsAsJSON.bind(client.register);
client.register.getMetricsAsJSON = () => { reads.inc(); return read(); };
export default (req, res) => res.end('ok');
`;

/** Reading its registry holds the event loop for 1.5 s (a collect function standing in for a huge registry). */
const SLOW_REGISTRY_APP = `import client from 'prom-client';
new client.Gauge({ name: 'app_slow', help: 'Slow to read.', collect() {
  const until = Date.now() + 1500;
  while (Date.now() < until);
  this.set(1);
} });
export default (req, res) => res.end(String(process.pid));
`;

const HITS_APP = `import client from 'prom-client';
const hits = new client.Counter({ name: 'app_hits_total', help: 'Hits.' });
const latency = new client.Histogram({ name: 'app_seconds', help: 'Latency.', buckets: [1] });
export default (req, res) => {
  hits.inc();
  latency.observe(0.5);
  res.end(String(process.pid));
};
`;

const ODD_GAUGES_APP = `import client from 'prom-client';
const g = new client.Gauge({ name: 'app_ratio', help: 'A ratio.', labelNames: ['k'] });
g.set({ k: 'nan' }, NaN);
g.set({ k: 'inf' }, Infinity);
g.set({ k: 'neg' }, -Infinity);
new client.Gauge({ name: 'app_plain', help: 'Plain.' }).set(NaN);
export default (req, res) => res.end('ok');
`;

/** `/slow` counts a step at gate `step`, and its response at gate `finish`: a request held across a reload's drain. */
const DRAIN_APP = `import client from 'prom-client';
import { gate } from './gate.mjs';
const served = new client.Counter({ name: 'app_served_total', help: 'Responses.' });
const steps = new client.Counter({ name: 'app_steps_total', help: 'Steps of slow requests.' });
export default async (req, res) => {
  if (req.url === '/slow') {
    await gate('step');
    steps.inc();
    await gate('finish');
  }
  served.inc();
  res.end(String(process.pid));
};
`;

describe('metrics_bind under load (issue 24)', () => {
  let run: Hostd | undefined;
  const stopped: number[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    continueStopped(stopped);
    await run?.kill();
    run = undefined;
  });

  it('item 5: 10 concurrent scrapes of 100k series per worker share one reading of each registry, and each has the app metrics', async () => {
    const started = await start(appProject(BIG_APP, 'workers: 2, timeout: 10,'));
    run = started.run;
    // The first answers define every series (slower): wait until both are in, and a scrape got both in time.
    let errors = -1;
    const first = await waitUntil(async () => {
      const text = await scrape(started.metrics);
      const settled = sampleValue(text, 'app_series_total{code="204",route="/r19999"}') === 2 && sampleValue(text, 'hostd_scrape_errors_total') === errors;
      errors = sampleValue(text, 'hostd_scrape_errors_total')!;
      return settled && text;
    }, 'both workers to answer a scrape in time', 30_000);
    const reads = sampleValue(first, 'app_registry_reads_total')!;
    const bodies = await Promise.all(Array.from({ length: 10 }, () => scrape(started.metrics)));
    // One collection for the ten: the same answer, with at most one more reading per worker.
    const after = sampleValue(bodies[0]!, 'app_registry_reads_total')!;
    expect(after).toBeGreaterThanOrEqual(reads);
    expect(after).toBeLessThanOrEqual(reads + 2);
    for (const body of bodies) {
      expect(body).toBe(bodies[0]);
      expect(body.match(/^app_series_total\{/gm)?.length).toBe(100_000);
    }
  }, 60_000);

  it('item 5: a worker that holds its event loop reading its registry for longer than timeout is not killed for it', async () => {
    const started = await start(appProject(SLOW_REGISTRY_APP, 'workers: 2, timeout: 1,'));
    run = started.run;
    const pids = workerPids(run.pid).sort();
    expect(pids).toHaveLength(2);
    // The first scrape waits 1 s and leaves them out; their answers come at 1.5 s and are used from then on.
    await waitUntil(async () => {
      if (/WORKER TIMEOUT/.test(run!.output)) throw new Error(`a worker was killed for timeout:\n${run!.output}`);
      return sampleValue(await scrape(started.metrics), 'app_slow') === 2;
    }, 'both workers to answer', 15_000);
    const text = await scrape(started.metrics);
    expect(sampleValue(text, 'hostd_worker_exits_total{reason="timeout"}')).toBe(0);
    expect(run.output).not.toMatch(/WORKER TIMEOUT/);
    expect(workerPids(run.pid).sort()).toEqual(pids);
  }, 60_000);

  it('item 6: 400 idle metrics connections under `ulimit -n 256` take no descriptor the app or a replacement worker needs, and are closed', async () => {
    const started = await start(appProject(HITS_APP, "workers: 2, loglevel: 'debug',"), ['sh', '-c', 'ulimit -n 256 && exec "$@"', 'sh']);
    run = started.run;
    const { port } = new URL(started.metrics);
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      sockets.push(socket);
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      await new Promise<void>((resolve) => {
        socket.once('connect', resolve);
        socket.once('close', () => resolve());
      });
    }
    // New app connections are answered.
    for (let i = 0; i < 20; i++) expect((await fetch(started.url, { headers: { connection: 'close' } })).status).toBe(200);
    // A crashed worker is replaced.
    const before = workerPids(run.pid);
    const victim = before[0]!;
    process.kill(victim, 'SIGKILL');
    const replacement = await waitUntil(() => workerPids(run!.pid).find((pid) => pid !== victim && !before.includes(pid)), 'a replacement worker', 15_000);
    await run.waitForOutput(new RegExp(`\\(pid ${replacement}\\) is ready`), 15_000);
    // Refused at once, and said so (not once per connection).
    const refusals = run.output.match(/metrics_bind: closed \d+ new connections? at once/g) ?? [];
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(2);
    // The idle ones it kept are closed after 5 s; then scrapes are served again.
    await Promise.race([Promise.all(closed), new Promise((_, reject) => setTimeout(() => reject(new Error('idle metrics connections still open after 15 s')), 15_000))]);
    expect(await scrape(started.metrics)).toContain('# TYPE hostd_workers gauge');
  }, 60_000);

  it('item 6: a request head trickled in a line at a time is cut off like an idle connection (5 s)', async () => {
    const started = await start(appProject(HITS_APP, 'workers: 1,'));
    run = started.run;
    const { port } = new URL(started.metrics);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    // A header line every 500 ms keeps the connection from being idle, never finishing the head.
    const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 500);
    try {
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('a trickled head still open after 10 s')), 10_000))]);
    } finally {
      clearInterval(trickle);
    }
    expect(await scrape(started.metrics)).toContain('# TYPE hostd_workers gauge');
  }, 30_000);

  it('item 7: merged counters and histograms never go down: a worker scaled down, a worker that misses a scrape, a reload, a crash', async () => {
    const started = await start(appProject(HITS_APP, 'workers: 2, timeout: 30,'));
    run = started.run;
    const hit = async (n: number) => {
      for (let i = 0; i < n; i++) await (await fetch(started.url, { headers: { connection: 'close' } })).text();
    };
    const settled = (n: number) =>
      waitUntil(async () => {
        const text = await scrape(started.metrics);
        return sampleValue(text, 'app_hits_total') === n && sampleValue(text, 'app_seconds_count') === n && text;
      }, `app_hits_total to read ${n}`);
    await hit(40);
    await settled(40);

    // Scale down: one worker leaves with what it counted.
    run.signal('SIGTTOU');
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'hostd_worker_exits_total{reason="shutdown"}') === 1, 'a worker to retire');
    let text = await scrape(started.metrics);
    expect(sampleValue(text, 'app_hits_total')).toBe(40);
    expect(sampleValue(text, 'app_seconds_bucket{le="1"}')).toBe(40);

    // The worker left does not answer (stopped): its last answer stands.
    const [frozen] = workerPids(run.pid);
    process.kill(frozen!, 'SIGSTOP');
    stopped.push(frozen!);
    text = await scrape(started.metrics);
    expect(sampleValue(text, 'hostd_scrape_errors_total')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(text, 'app_hits_total')).toBe(40);
    process.kill(frozen!, 'SIGCONT');

    // A reload replaces every worker; a crash replaces one.
    run.signal('SIGHUP');
    await run.waitForOutput(/reloaded: generation 2 is serving/, 20_000);
    expect(sampleValue(await scrape(started.metrics), 'app_hits_total')).toBe(40);
    await hit(10);
    await settled(50);
    // A worker of generation 2: the first generation's may still be leaving (reason reload, not killed).
    await waitUntil(() => workerPids(started.run.pid).length === 2, "the first generation's workers to be gone");
    const [crashed] = workerPids(run.pid);
    process.kill(crashed!, 'SIGKILL');
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'hostd_worker_exits_total{reason="killed"}') === 1, 'the killed worker to be counted');
    expect(sampleValue(await scrape(started.metrics), 'app_hits_total')).toBe(50);
  }, 90_000);

  it("what a worker counts while a reload drains it is in the scrapes: asked while it drains, and its last answer sent as it exits", async () => {
    const dir = appProject(DRAIN_APP, 'workers: 1,');
    const started = await start(dir);
    run = started.run;
    const log = hooksLog(dir);
    for (let i = 0; i < 3; i++) await probe(started.url, '/');
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'app_served_total') === 3, 'app_served_total to read 3');
    const slow = probe(started.url, '/slow', 25_000);
    await waitUntil(() => records(log).includes('step waiting'), 'the slow request to be in flight');
    run.signal('SIGHUP');
    await run.waitForOutput(/reloaded: generation 2 is serving/, 20_000);
    expect(sampleValue(await scrape(started.metrics), 'hostd_workers{state="stopping"}')).toBe(1);
    // Counted by the draining worker: a scrape asks it.
    release(dir, 'step');
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'app_steps_total') === 1, 'the step counted while draining to be scraped');
    // Counted as its drain ends, right before it exits: its last answer brings it.
    release(dir, 'finish');
    expect(Number(await slow)).toBeGreaterThan(0);
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'hostd_worker_exits_total{reason="reload"}') === 1, 'the drained worker to exit');
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'app_served_total') === 4, 'the response of the drain to be scraped', 5000);
    const text = await scrape(started.metrics);
    expect(sampleValue(text, 'app_served_total')).toBe(4);
    expect(sampleValue(text, 'app_steps_total')).toBe(1);
    expect(sampleValue(text, 'hostd_workers{state="stopping"}')).toBe(0);
  });

  it('item 8: a gauge set to NaN or ±Inf is written as NaN, +Inf, -Inf, and its family is there', async () => {
    const started = await start(appProject(ODD_GAUGES_APP, 'workers: 1,'));
    run = started.run;
    const text = await scrape(started.metrics);
    expect(text).toContain('# TYPE app_ratio gauge\n');
    expect(text).toContain('app_ratio{k="nan"} NaN\n');
    expect(text).toContain('app_ratio{k="inf"} +Inf\n');
    expect(text).toContain('app_ratio{k="neg"} -Inf\n');
    expect(text).toContain('app_plain NaN\n');
  });
});

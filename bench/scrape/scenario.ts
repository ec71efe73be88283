/**
 * Scrapes of a large registry (issue 24, item 5): hostd with 2 workers of 100k series each
 * (bench/scrape/app.mjs). While the app serves paced requests on 4 keep-alive connections,
 * 0, 1 or 10 scrapes of `metrics_bind` start together every second (bench/scrape/probe.mjs,
 * two processes on the load generator's CPU: reading scrapes never delays the measuring of
 * latency); we record each request's latency and each scrape. Then the
 * cost of one scrape per series, from /proc: CPU of the primary and of the workers over 10
 * scrapes one after the other, with no requests.
 *
 * BENCH_SCRAPE_BEFORE=path/to/dist/cli.js adds another build of hostd (the code before a
 * change) as a second target, measured in the same rounds, in rotating order; it is named
 * BENCH_SCRAPE_BEFORE_NAME in the results.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { workerPids } from '../../test/helpers/proc.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { LOAD_CPU, pinned, SERVER_CPUS } from '../lib/cpus.ts';
import { median, quantile, round } from '../lib/stats.ts';
import { measuredEnv, ROOT } from '../lib/targets.ts';

export const CONCURRENCIES = [0, 1, 10] as const;
const SERIES_PER_WORKER = 100_000;
const WORKERS = 2;

export interface ScrapeRow {
  readonly target: string;
  /** Scrapes started together every second. */
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly scrapes: number;
  /** Scrapes answered 200 with both workers' app metrics. */
  readonly complete: number;
  readonly scrape_p50_ms: number | null;
  readonly scrape_max_ms: number | null;
  /** Workers killed for `timeout` during these rounds. */
  readonly worker_timeouts: number;
}

export interface ScrapeCost {
  readonly target: string;
  readonly scrapes: number;
  /** Scrapes that had both workers' app metrics (the CPU figures mean a scrape's cost only when all did). */
  readonly complete?: number;
  readonly series: number;
  readonly scrape_ms: number;
  /** CPU per series per scrape, in µs. */
  readonly primary_us_per_series: number;
  readonly workers_us_per_series: number;
  readonly bytes: number;
}

export interface ScrapeResults {
  readonly date: string;
  readonly node: string;
  readonly cpus: string;
  readonly pinning: string;
  readonly rounds: number;
  readonly seconds: number;
  /** The machine's 1-minute load average before and after the rounds: how much else ran on it. */
  readonly load?: readonly [number, number];
  readonly rows: readonly ScrapeRow[];
  readonly cost: readonly ScrapeCost[];
}

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly metrics: string;
  output(): string;
}


function start(name: string, cli: string): Promise<Running> {
  const [command, args] = pinned(SERVER_CPUS, process.execPath, [cli, 'run', '-c', join(ROOT, 'bench/scrape/hostd.config.ts')]);
  const child = spawn(command, args, { cwd: ROOT, env: measuredEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const seen = (data: Buffer) => {
      output = (output + data).slice(-200_000);
      const app = /Listening at: (http:\/\/\S+)/.exec(output)?.[1];
      const metrics = /Metrics at: (\S+)/.exec(output)?.[1];
      if (app && metrics && /hostd is ready/.test(output)) {
        child.stdout!.off('data', seen);
        child.stderr!.off('data', seen);
        const keep = (d: Buffer) => (output = (output + d).slice(-200_000));
        child.stdout!.on('data', keep);
        child.stderr!.on('data', keep);
        resolve({ name, child, url: `${app}/`, metrics, output: () => output });
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before serving:\n${output}`)));
  });
}

function stop(running: Running): Promise<void> {
  return new Promise((resolve) => {
    if (running.child.exitCode !== null || running.child.signalCode !== null) return resolve();
    running.child.once('exit', () => resolve());
    running.child.kill('SIGTERM');
  });
}

interface Probe {
  readonly latencies: number[];
  readonly errors: number;
  readonly scrapes: { ms: number; ok: boolean; complete: boolean; bytes: number }[];
}

/** Runs bench/scrape/probe.mjs on the load generator's CPU; resolves with what it printed. */
function probeProcess<T>(args: string[]): Promise<T> {
  const [command, commandArgs] = pinned(LOAD_CPU, process.execPath, [join(ROOT, 'bench/scrape/probe.mjs'), ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env: measuredEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`the probe exited ${code} with: ${out.slice(0, 500)}`));
      }
    });
  });
}

/** The app's latency for `seconds` while `concurrency` scrapes start every second, each side in its own process. */
async function probe(running: Running, seconds: number, concurrency: number): Promise<Probe> {
  const [latency, scraped] = await Promise.all([
    probeProcess<Omit<Probe, 'scrapes'>>(['latency', running.url, String(seconds)]),
    concurrency > 0 ? probeProcess<Pick<Probe, 'scrapes'>>(['scrape', running.metrics, String(seconds), String(concurrency)]) : { scrapes: [] },
  ]);
  return { ...latency, ...scraped };
}

async function get(url: string): Promise<string> {
  const response = await fetch(url);
  return response.text();
}

/** A scrape with both workers' app metrics: the last series counted twice. */
const BOTH = /^app_series_total\{[^}]*r19999[^}]*\} 2$/m;

/** Until a scrape has both workers' app metrics (their first answers define every series). */
async function warm(running: Running): Promise<void> {
  for (const deadline = Date.now() + 60_000; ; ) {
    if (BOTH.test(await get(running.metrics))) return;
    if (Date.now() > deadline) throw new Error(`${running.name}: no scrape with both workers' app metrics within 60 s:\n${running.output()}`);
  }
}

const timeouts = (running: Running) => running.output().match(/WORKER TIMEOUT/g)?.length ?? 0;

async function cost(running: Running, scrapes: number): Promise<ScrapeCost> {
  const primary = running.child.pid!;
  const workers = workerPids(primary);
  const beforePrimary = cpuSeconds([primary]);
  const beforeWorkers = cpuSeconds(workers);
  const times: number[] = [];
  let bytes = 0;
  let complete = 0;
  for (let i = 0; i < scrapes; i++) {
    const began = performance.now();
    const text = await get(running.metrics);
    times.push(performance.now() - began);
    bytes = text.length;
    if (BOTH.test(text)) complete++;
  }
  const series = SERIES_PER_WORKER * WORKERS;
  const per = (seconds: number) => round((seconds * 1e6) / (scrapes * series), 3);
  return {
    target: running.name,
    scrapes,
    complete,
    series,
    scrape_ms: round(median(times)),
    primary_us_per_series: per(cpuSeconds([primary]) - beforePrimary),
    workers_us_per_series: per(cpuSeconds(workers) - beforeWorkers),
    bytes,
  };
}

export async function scrapeScenario(rounds: number, seconds: number, log: (line: string) => void): Promise<Omit<ScrapeResults, 'date' | 'node' | 'cpus' | 'pinning'>> {
  const targets: [string, string][] = [['hostd', join(ROOT, 'dist/cli.js')]];
  const before = process.env.BENCH_SCRAPE_BEFORE;
  if (before) targets.unshift([process.env.BENCH_SCRAPE_BEFORE_NAME ?? 'hostd before', before]);
  log(`\n9. scrapes of 100k series per worker (2 workers): app latency with 0, 1 and 10 scrapes a second; ${rounds} rounds × ${seconds} s; ${targets.map(([n, cli]) => `${n} (${cli.slice(ROOT.length + 1) || cli})`).join(', ')}; NODE_EXTRA_CA_CERTS unset for them`);
  const running: Running[] = [];
  try {
    for (const [name, cli] of targets) running.push(await start(name, cli));
    for (const r of running) await warm(r);
    const loadBefore = loadavg()[0]!;
    const combos = running.flatMap((r) => CONCURRENCIES.map((c) => [r, c] as const));
    const samples = combos.map(() => ({ latencies: [] as number[], errors: 0, scrapes: [] as Probe['scrapes'], timeouts: 0 }));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < combos.length; k++) {
        const i = (round + k) % combos.length;
        const [r, c] = combos[i]!;
        const killed = timeouts(r);
        const result = await probe(r, seconds, c);
        const s = samples[i]!;
        s.latencies.push(...result.latencies);
        s.errors += result.errors;
        s.scrapes.push(...result.scrapes);
        s.timeouts += timeouts(r) - killed;
      }
      log(`   round ${round + 1}/${rounds} done`);
    }
    const load = [round(loadBefore, 2), round(loadavg()[0]!, 2)] as const;
    const rows: ScrapeRow[] = combos.map(([r, c], i) => {
      const s = samples[i]!;
      const times = s.scrapes.map((x) => x.ms);
      return {
        target: r.name,
        concurrency: c,
        requests: s.latencies.length,
        errors: s.errors,
        p50_ms: round(quantile(s.latencies, 0.5), 2),
        p99_ms: round(quantile(s.latencies, 0.99), 2),
        max_ms: round(Math.max(...s.latencies), 1),
        scrapes: s.scrapes.length,
        complete: s.scrapes.filter((x) => x.complete).length,
        scrape_p50_ms: times.length ? round(median(times)) : null,
        scrape_max_ms: times.length ? round(Math.max(...times)) : null,
        worker_timeouts: s.timeouts,
      };
    });
    for (const row of rows) {
      log(
        `   ${row.target}, ${row.concurrency} scrape${row.concurrency === 1 ? '' : 's'}/s: p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, max ${row.max_ms} ms over ${row.requests} requests` +
          (row.scrapes ? `; ${row.complete}/${row.scrapes} scrapes complete, p50 ${row.scrape_p50_ms} ms, max ${row.scrape_max_ms} ms` : '') +
          (row.worker_timeouts ? `; ${row.worker_timeouts} workers killed for timeout` : ''),
      );
    }
    const costs: ScrapeCost[] = [];
    for (const r of running) {
      await warm(r);
      const c = await cost(r, 10);
      costs.push(c);
      log(`   ${c.target}: one scrape of ${c.series.toLocaleString('en')} series: ${c.scrape_ms} ms (${c.complete} of ${c.scrapes} complete); CPU per series: primary ${c.primary_us_per_series} µs, workers ${c.workers_us_per_series} µs; ${c.bytes.toLocaleString('en')} bytes`);
    }
    return { rounds, seconds, load, rows, cost: costs };
  } finally {
    for (const r of running) await stop(r);
  }
}

/**
 * `npm run bench`: what hostd costs per request, and whether it drops anything on a
 * deploy, measured side by side with what users would otherwise run, in one run:
 *
 *  1. throughput and latency: bare node:cluster, one node:http process, hostd (no hooks,
 *     no-op request hooks, a realistic post_request) and PM2 in cluster mode, all serving
 *     the same handler with 2 workers. Every round measures each once, in rotating order,
 *     so drift over the run hits all alike; ratios to node:cluster are taken per round.
 *  2. SIGTERM to exit when idle, resident memory.
 *  3. failed requests during three reloads under load: hostd (SIGHUP) and `pm2 reload`.
 *  4. start-up on Node 20 and Node 26 (bench/startup): cold starts to the first 200 against
 *     node:cluster, a worker replacement, `hostd --version`, `--help` and `check` against
 *     `node -e ''`; `npm run bench:startup` runs it alone.
 *  5. the cost of metrics: no-op request hooks with `metrics_bind` set and scraped every
 *     second against the same without it, in alternating rounds.
 *  6. dispatch: a new connection per request, 5% of requests burning 50 ms of CPU, against
 *     node:cluster (bench/dispatch).
 *  7. WebSockets: echo messages per second against ws under node:cluster, and SIGTERM to exit
 *     with 1,000 open sockets (bench/websockets).
 *  8. peak workers and memory during a reload, `reload_batch` "all" against 1 (bench/reload-memory).
 *  9. scrapes of 100k series per worker: the app's latency with 0, 1 and 10 scrapes a second, and
 *     what a scrape costs per series (bench/scrape; its own results file, scrape-<date>.json).
 * 10. behind a proxy: a new connection per request with a PROXY header vs without, and keep-alive
 *     with a hook reading ctx.client vs not (bench/proxy; its own results file, proxy-<date>.json).
 * 11. failed requests during three upgrades (SIGUSR2) under load, and their p99 against three reloads'
 *     (bench/upgrade; its own results file, upgrade-<date>.json, shown beside section 3).
 *
 * The load generator and the servers run on separate CPUs when `taskset` allows
 * (bench/lib/cpus.ts; BENCH_PIN=0 turns it off). Writes bench/results/<date>T<hhmmss>.json and
 * regenerates docs/performance.md (bench/report.ts). Prints; never asserts.
 * BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_STARTS and BENCH_NODE_LINES tune it.
 * BENCH_ONLY=metrics (or startup, dispatch, websockets, reload-memory, scrape) runs that section
 * alone and only prints (no results file, no report); `npm run bench:scrape` runs section 9 and
 * records it. BENCH_ONLY=proxy (or upgrade) runs section 10 (or 11) and records it (its own
 * results file, and the report's section). Every process it starts runs without
 * NODE_EXTRA_CA_CERTS (bench/lib/targets.ts).
 */
import { get } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureStartup } from './startup.ts';
import { dispatchScenario } from './dispatch/scenario.ts';
import { proxyScenario } from './proxy/scenario.ts';
import { reloadMemoryScenario } from './reload-memory/scenario.ts';
import { scrapeScenario } from './scrape/scenario.ts';
import { upgradeScenario } from './upgrade/scenario.ts';
import { webSocketScenario } from './websockets/scenario.ts';
import { PINNING } from './lib/cpus.ts';
import { withCpu } from './lib/cpu.ts';
import { GENERATOR, load, type LoadResult } from './lib/load.ts';
import { median, medianRatio, round } from './lib/stats.ts';

const roundRatio = (ratio: number | null) => (ratio === null ? null : round(ratio, 3));
import { cluster, getOnce, hostd, pm2, ROOT, type Running, rssMiB, single, type Target } from './lib/targets.ts';
import { latestRun, printJudged, resultsFile, scenarioFile, steadiness, writeReport, type Results, type ScenarioName } from './report.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const STARTS = Number(process.env.BENCH_STARTS ?? 9);

const log = (line: string) => process.stdout.write(`${line}\n`);

const HOSTD_PLAIN = hostd('hostd, no hooks', 'plain.ts');
const HOSTD_NOOP = hostd('hostd, no-op request hooks', 'noop-hooks.ts');
const HOSTD_TIMING = hostd('hostd, timing post_request', 'timing-hook.ts');
const HOSTD_METRICS = hostd('hostd, no-op request hooks, metrics scraped every second', 'noop-hooks-metrics.ts');
const ONLY = process.env.BENCH_ONLY ?? null;
const THROUGHPUT: Target[] = [cluster, single, HOSTD_PLAIN, HOSTD_NOOP, HOSTD_TIMING, pm2];

async function throughput(): Promise<{ rows: Results['throughput']; memory: Results['memory'] }> {
  log(`\n1. throughput: ${THROUGHPUT.length} targets × ${ROUNDS} rounds × ${SECONDS} s, ${CONNECTIONS} connections, ${GENERATOR}`);
  const running: Running[] = [];
  try {
    for (const target of THROUGHPUT) running.push(await target.start());
    for (const r of running) await load(r.url, 2, CONNECTIONS); // warm-up: JIT, connections
    const samples: LoadResult[][] = THROUGHPUT.map(() => []);
    const cpu: number[][] = THROUGHPUT.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < THROUGHPUT.length; k++) {
        const i = (round + k) % THROUGHPUT.length;
        const [result, perRequest] = await withCpu(() => [running[i]!.pid, ...running[i]!.workers()], () => load(running[i]!.url, SECONDS, CONNECTIONS));
        samples[i]!.push(result);
        if (perRequest !== null) cpu[i]!.push(perRequest);
      }
      log(`   round ${round + 1}/${ROUNDS}: ${THROUGHPUT.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!.rps)}`).join(' · ')}`);
    }
    const base = samples[0]!;
    const rows = THROUGHPUT.map((target, i) => {
      const s = samples[i]!;
      return {
        target: target.name,
        rps: Math.round(median(s.map((x) => x.rps))),
        p50_ms: round(median(s.map((x) => x.p50)), 3),
        p99_ms: round(median(s.map((x) => x.p99)), 3),
        rps_ratio: roundRatio(medianRatio(s.map((x) => x.rps), base.map((x) => x.rps)))!,
        cpu_us_per_request: round(median(cpu[i]!), 1),
        cpu_ratio: roundRatio(medianRatio(cpu[i]!, cpu[0]!)),
        p99_ratio: roundRatio(medianRatio(s.map((x) => x.p99), base.map((x) => x.p99))),
        errors: s.reduce((n, x) => n + x.errors, 0),
        samples: s.map((x) => ({ rps: Math.round(x.rps), p50_ms: x.p50, p99_ms: x.p99 })),
      };
    });
    // hostd over PM2, per round.
    const pm2Index = THROUGHPUT.indexOf(pm2);
    const noopIndex = THROUGHPUT.indexOf(HOSTD_NOOP);
    const overPm2 = roundRatio(medianRatio(samples[noopIndex]!.map((x) => x.rps), samples[pm2Index]!.map((x) => x.rps)))!;
    const memory = [cluster, HOSTD_PLAIN, pm2].map((target) => {
      const r = running[THROUGHPUT.indexOf(target)]!;
      return { target: target.name, primary_mib: round(rssMiB(r.pid)), worker_mib: round(median(r.workers().map(rssMiB))) };
    });
    return { rows: rows.map((row) => (row.target === HOSTD_NOOP.name ? { ...row, over_pm2: overPm2 } : row)), memory };
  } finally {
    for (const r of running) await r.stop();
  }
}


/** SIGTERM to exit when idle, each of a fresh start (the start-up section measures the starts, per Node line). */
async function stops(): Promise<Results['startup']> {
  log(`\n2. SIGTERM to exit when idle: ${STARTS} stops each`);
  const rows: Results['startup'] = [];
  for (const target of [cluster, single, HOSTD_PLAIN]) {
    const stopped: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const running = await target.start();
      while ((await getOnce(running.url)) !== 200);
      stopped.push(await running.stop('SIGTERM'));
    }
    rows.push({ target: target.name, cold_start_ms: null, idle_stop_ms: round(median(stopped)) });
    log(`   ${target.name}: idle stop ${round(median(stopped))} ms`);
  }
  return rows;
}

async function reloads(): Promise<Results['reloads']> {
  log(`\n3. failed requests during 3 reloads under load (${CONNECTIONS} connections)`);
  const rows: Results['reloads'] = [];
  for (const target of [HOSTD_PLAIN, pm2]) {
    const running = await target.start();
    try {
      await load(running.url, 1, CONNECTIONS);
      const measured = load(running.url, 12, CONNECTIONS);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        await running.reload();
      }
      const result = await measured;
      rows.push({ target: target.name, reloads: 3, requests: result.requests, failed: result.errors });
      log(`   ${target.name}: ${result.errors} failed of ${result.requests} requests`);
    } finally {
      await running.stop();
    }
  }
  return rows;
}

/** Scrapes `url` every second until stopped; counts the scrapes that did not answer 200. */
function scrapeEverySecond(url: string): { stop: () => { scrapes: number; failed: number } } {
  let scrapes = 0;
  let failed = 0;
  const timer = setInterval(() => {
    scrapes++;
    get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) failed++;
      res.resume();
    }).on('error', () => failed++);
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      return { scrapes, failed };
    },
  };
}

async function metricsCost(): Promise<Results['metrics']> {
  log(`\n5. the cost of metrics_bind scraped every second: ${ROUNDS} rounds × ${SECONDS} s each, ${CONNECTIONS} connections`);
  const targets = [HOSTD_NOOP, HOSTD_METRICS];
  const running: Running[] = [];
  try {
    for (const target of targets) running.push(await target.start());
    const metricsUrl = /Metrics at: (\S+)/.exec(running[1]!.output())?.[1];
    if (metricsUrl === undefined) throw new Error(`${HOSTD_METRICS.name} printed no "Metrics at" line:\n${running[1]!.output()}`);
    const scraper = scrapeEverySecond(metricsUrl);
    for (const r of running) await load(r.url, 2, CONNECTIONS);
    const samples: LoadResult[][] = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < 2; k++) {
        const i = (round + k) % 2;
        samples[i]!.push(await load(running[i]!.url, SECONDS, CONNECTIONS));
      }
      log(`   round ${round + 1}/${ROUNDS}: without ${Math.round(samples[0]!.at(-1)!.rps)} · with ${Math.round(samples[1]!.at(-1)!.rps)} req/s`);
    }
    const { scrapes, failed } = scraper.stop();
    const ratio = roundRatio(medianRatio(samples[1]!.map((x) => x.rps), samples[0]!.map((x) => x.rps)))!;
    const result = {
      without_rps: Math.round(median(samples[0]!.map((x) => x.rps))),
      with_rps: Math.round(median(samples[1]!.map((x) => x.rps))),
      ratio,
      scrapes,
      failed_scrapes: failed,
    };
    log(`   without: ${result.without_rps} req/s · with metrics scraped every second: ${result.with_rps} req/s · median per-round ratio ${ratio} (${scrapes} scrapes, ${failed} failed)`);
    return result;
  } finally {
    for (const r of running) await r.stop();
  }
}

/** Makes sure dist/ is built (npm run bench builds it first). */
function ensureBuilt(): Promise<void> {
  return new Promise((resolve, reject) => {
    spawn(process.execPath, [join(ROOT, 'dist/cli.js'), '--version'], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error('dist/ is not built: run npm run build'))));
  });
}

await ensureBuilt();
/** Sections 6 to 11; each prints as it goes. */
const SCENARIOS = {
  dispatch: () => dispatchScenario(Math.max(4, ROUNDS / 2), SECONDS, 16, log),
  websockets: () => webSocketScenario(Math.max(4, ROUNDS / 2), SECONDS, log),
  'reload-memory': () => reloadMemoryScenario(log),
  scrape: () => scrapeScenario(Math.max(3, Math.round(ROUNDS / 4)), Math.max(5, SECONDS), log),
  // Every round: its goals (0.95×, 0.97×) are a few percent wide, and this machine's rounds vary by more.
  proxy: () => proxyScenario(ROUNDS, SECONDS, CONNECTIONS, log),
  upgrade: () => upgradeScenario(Math.max(3, Math.round(ROUNDS / 5)), CONNECTIONS, log),
};

/** Writes a scenario's own results file (never over another run's) in bench/results. */
function writeScenario(name: ScenarioName, date: string, measured: object): string {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', scenarioFile(name, date));
  writeFileSync(file, `${JSON.stringify({ date, node: process.version, cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`, pinning: PINNING, ...measured }, null, 2)}\n`, { flag: 'wx' });
  return file.slice(ROOT.length + 1);
}

if (ONLY === 'proxy' || ONLY === 'upgrade') {
  const date = new Date().toISOString();
  log(`hostd bench (${ONLY} only), ${date}: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${PINNING}`);
  log(`\nwrote ${writeScenario(ONLY, date, await SCENARIOS[ONLY]())}`);
  // The page's section comes from the latest file of the scenario; the rest from the latest full run, as before.
  writeReport(JSON.parse(readFileSync(latestRun(), 'utf8')) as Results);
  log('wrote docs/performance.md');
  process.exit(0);
}
if (ONLY !== null) {
  log(`hostd bench (${ONLY} only), Node ${process.version}; ${PINNING}`);
  if (ONLY === 'metrics') await metricsCost();
  else if (ONLY === 'startup') await measureStartup(STARTS, log);
  else if (Object.hasOwn(SCENARIOS, ONLY)) await SCENARIOS[ONLY as keyof typeof SCENARIOS]();
  else throw new Error(`BENCH_ONLY=${ONLY}: expected metrics, startup, ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(0);
}
const date = new Date().toISOString();
log(`hostd bench, ${date}: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${PINNING}`);
// Node reads the whole bundle of certificates at every start when it is set: not in the processes the bench starts.
const EXTRA_CA_CERTS = Boolean(process.env.NODE_EXTRA_CA_CERTS);
if (EXTRA_CA_CERTS) log('NODE_EXTRA_CA_CERTS is set here; the bench unsets it for every process it starts, hostd and baselines alike');
const { rows, memory } = await throughput();
const starts = await stops();
const reloadRows = await reloads();
const upgrades = await SCENARIOS.upgrade();
log("\n4. start-up on each Node line: cold starts, a worker replacement, hostd's commands vs node -e ''");
const startupLines = await measureStartup(STARTS, log);
const metrics = await metricsCost();
const dispatch = await SCENARIOS.dispatch();
const websockets = await SCENARIOS.websockets();
const reloadMemory = await SCENARIOS['reload-memory']();
const scrape = await SCENARIOS.scrape();
const proxy = await SCENARIOS.proxy();

const results: Results = {
  date,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30) },
  node: process.version,
  node_extra_ca_certs: EXTRA_CA_CERTS,
  generator: GENERATOR,
  pinning: PINNING,
  settings: { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, starts: STARTS },
  throughput: rows,
  memory,
  startup: starts,
  reloads: reloadRows,
  startup_lines: startupLines,
  metrics,
  ...(dispatch === null ? {} : { dispatch }),
  websockets,
  reload_memory: reloadMemory,
};
// The report reads these sections from the latest scrape-<date>.json and proxy-<date>.json, which runs of them alone write too.
writeScenario('scrape', date, scrape);
writeScenario('proxy', date, proxy);
writeScenario('upgrade', date, upgrades);
const file = join(ROOT, 'bench', resultsFile(date));
// 'wx': a run never replaces another's results.
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`, { flag: 'wx' });
log(`\nwrote ${file.slice(ROOT.length + 1)}`);
const targets = writeReport(results);
log('wrote docs/performance.md and docs/performance.svg\n');
printJudged(targets);
log(steadiness(results));

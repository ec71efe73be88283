/**
 * Turns a benchmark run (bench/results/<date>T<hhmm>.json) into docs/performance.md and
 * docs/performance.svg, and judges it against the targets. `npm run bench` calls it;
 * `npm run bench:report [results.json]` re-renders from a saved run.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckTiming } from './check.ts';
import type { DispatchRow } from './dispatch/scenario.ts';
import type { ReloadMemoryRow } from './reload-memory/scenario.ts';
import type { ProxyResults } from './proxy/scenario.ts';
import type { UpgradeResults } from './upgrade/scenario.ts';
import type { ScrapeResults } from './scrape/scenario.ts';
import type { WebSocketResults } from './websockets/scenario.ts';
import { renderStartup, startGoals as lineStartGoals } from './startup/report.ts';
import type { StartupResults } from './startup/scenario.ts';
import { quantile, roundRatios } from './lib/stats.ts';

const ROOT = join(import.meta.dirname, '..');

export interface Results {
  date: string;
  machine: { cpus: number; model: string; memory_gib: number };
  node: string;
  /** Whether NODE_EXTRA_CA_CERTS was set (absent in results from before it was recorded). */
  node_extra_ca_certs?: boolean;
  generator: string;
  pinning: string;
  settings: { rounds: number; seconds: number; connections: number; starts: number };
  throughput: {
    target: string;
    rps: number;
    p50_ms: number;
    p99_ms: number;
    rps_ratio: number;
    /** CPU time of all its processes per request served, in µs (absent in results from before it was measured). */
    cpu_us_per_request?: number;
    /** The median of per-round ratios of that to node:cluster's. */
    cpu_ratio?: number | null;
    /** null when the load generator could not resolve the latencies (see medianRatio). */
    p99_ratio: number | null;
    errors: number;
    over_pm2?: number;
    samples: { rps: number; p50_ms: number; p99_ms: number }[];
  }[];
  memory: { target: string; primary_mib: number; worker_mib: number }[];
  /** `replacement_ms`: a worker killed to its replacement serving (the 1-worker row, absent before it was measured). */
  startup: { target: string; cold_start_ms: number | null; idle_stop_ms: number | null; replacement_ms?: number }[];
  reloads: { target: string; reloads: number; requests: number; failed: number }[];
  /** The commands against `node -e ''` on the machine's Node (absent since start-up is measured per line, `startup_lines`). */
  check?: CheckTiming;
  /** Start-up on each Node line (bench/startup; absent in results from before it was measured). */
  startup_lines?: StartupResults;
  /** No-op request hooks with metrics_bind scraped every second vs without (absent in results from before it was measured). */
  metrics?: { without_rps: number; with_rps: number; ratio: number; scrapes: number; failed_scrapes: number };
  /** Connection-per-request load with 5% slow requests (absent without wrk, and in results from before it was measured). */
  dispatch?: DispatchRow[];
  websockets?: WebSocketResults;
  reload_memory?: ReloadMemoryRow[];
}

export interface Judged {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  /** null when it could not be measured with this load generator. */
  readonly met: boolean | null;
}

const NOOP = 'hostd, no-op request hooks';

/** Issue 16's start goals: cold start against node:cluster's, a worker replacement against a fresh `node app.js` start. */
function startGoals(r: Results): Judged[] {
  const cold = (name: string) => r.startup.find((s) => s.target === name)?.cold_start_ms ?? null;
  const cluster = cold('node:cluster');
  const hostd = cold('hostd, no hooks');
  const single = cold('node:http (1 process)');
  const replaced = r.startup.find((s) => s.replacement_ms !== undefined)?.replacement_ms;
  const goals: Judged[] = [];
  if (cluster !== null && hostd !== null) {
    const x = hostd / cluster;
    goals.push({ name: 'cold start to first 200, 2 workers, vs node:cluster', goal: '≤ 1.15×', measured: `${x.toFixed(2)}×`, met: x <= 1.15 });
  }
  if (replaced !== undefined && single !== null) {
    const x = replaced / single;
    goals.push({ name: 'worker replacement (SIGKILL to serving), vs a fresh `node app.js` start', goal: '≤ 1.2×', measured: `${x.toFixed(2)}×`, met: x <= 1.2 });
  }
  return goals;
}

/** The start-up run the page shows with `r`: the newest of its own and bench/results/startup-*.json measured after it; null for results from before. */
export function startupOf(r: Results): { results: StartupResults; file: string } | null {
  const dir = join(ROOT, 'bench/results');
  const newest = readdirSync(dir)
    .filter((f) => STARTUP_FILE.test(f))
    .sort()
    .at(-1);
  const own = r.startup_lines === undefined ? null : { results: r.startup_lines, file: resultsFile(r.date) };
  if (newest === undefined) return own;
  const saved = JSON.parse(readFileSync(join(dir, newest), 'utf8')) as StartupResults;
  return saved.date > r.date && saved.date > (own?.results.date ?? '') ? { results: saved, file: `results/${newest}` } : own;
}

/** The command goals of results that measured commands on the machine's Node only. */
function checkGoals(check: CheckTiming | undefined): Judged[] {
  if (check === undefined) return [];
  if (check.commands === undefined) return [{ name: "`hostd check` over `node -e ''`", goal: '≤ 60 ms', measured: `${check.difference_ms} ms`, met: check.difference_ms <= 60 }];
  return check.commands.flatMap((c) => (c.goal === null ? [] : [{ name: `\`${c.command}\` vs \`node -e ''\``, goal: `≤ ${c.goal}×`, measured: `${c.ratio.toFixed(2)}×`, met: c.ratio <= c.goal }]));
}

export function judge(r: Results): Judged[] {
  const noop = r.throughput.find((t) => t.target === NOOP)!;
  const startup = startupOf(r);
  const stop = r.startup.find((s) => s.target.startsWith('hostd') && s.idle_stop_ms !== null)!;
  const reload = r.reloads.find((x) => x.target.startsWith('hostd'))!;
  return [
    { name: 'req/s with no-op request hooks, vs bare node:cluster', goal: '≥ 0.98×', measured: `${noop.rps_ratio.toFixed(3)}×`, met: noop.rps_ratio >= 0.98 },
    { name: 'req/s with no-op request hooks, vs PM2 cluster', goal: '≥ 1.0×', measured: `${noop.over_pm2!.toFixed(3)}×`, met: noop.over_pm2! >= 1 },
    { name: 'p99 latency with no-op request hooks, vs bare node:cluster', goal: '≤ 1.10×', measured: ratio(noop.p99_ratio), met: noop.p99_ratio === null ? null : noop.p99_ratio <= 1.1 },
    { name: 'failed requests across 3 reloads under load', goal: '0', measured: String(reload.failed), met: reload.failed === 0 },
    ...(startup === null ? checkGoals(r.check) : []),
    { name: 'SIGTERM to exit, idle', goal: '≤ 150 ms', measured: `${stop.idle_stop_ms} ms`, met: stop.idle_stop_ms! <= 150 },
    ...(startup === null ? startGoals(r) : lineStartGoals(startup.results)),
    ...(r.metrics === undefined
      ? []
      : [{ name: 'req/s with metrics_bind scraped every second, vs without', goal: '≥ 0.99×', measured: `${r.metrics.ratio.toFixed(3)}×`, met: r.metrics.ratio >= 0.99 }]),
    ...dispatchGoals(r),
    ...webSocketGoals(r),
  ];
}

const LEAST_BUSY = 'hostd, dispatch: least_busy';

function dispatchGoals(r: Results): Judged[] {
  const slow = r.dispatch?.find((d) => d.target === LEAST_BUSY && (d.mix ?? 'slow') === 'slow');
  const fast = r.dispatch?.find((d) => d.target === LEAST_BUSY && d.mix === 'fast');
  return [
    ...(slow === undefined
      ? []
      : [
          {
            name: 'dispatch, 5% slow requests, connection per request: p99 vs node:cluster, at ≥ 1.0× its req/s',
            goal: '≤ 0.7×',
            measured: `${ratio(slow.p99_ratio)} at ${slow.rps_ratio.toFixed(3)}× req/s`,
            met: slow.p99_ratio === null ? null : slow.p99_ratio <= 0.7 && slow.rps_ratio >= 1,
          },
        ]),
    ...(fast === undefined ? [] : [{ name: 'req/s with a new connection per request, vs node:cluster', goal: '≥ 1.0×', measured: `${fast.rps_ratio.toFixed(3)}×`, met: fast.rps_ratio >= 1 }]),
  ];
}

function webSocketGoals(r: Results): Judged[] {
  const ws = r.websockets;
  if (ws === undefined) return [];
  const closes = ws.stop.find((x) => x.app.startsWith('closes'))!;
  const ignores = ws.stop.find((x) => x.app.startsWith('ignores'))!;
  return [
    { name: 'SIGTERM to exit, 1,000 WebSockets the app closes on draining', goal: '≤ 1 s', measured: `${closes.stop_ms} ms`, met: closes.stop_ms <= 1000 },
    {
      name: 'SIGTERM to exit, 1,000 WebSockets the app leaves open',
      goal: `≤ graceful_timeout + 1 s (${ignores.graceful_timeout_s + 1} s)`,
      measured: `${ignores.stop_ms} ms`,
      met: ignores.stop_ms <= (ignores.graceful_timeout_s + 1) * 1000,
    },
  ];
}

/** The middle half (25th to 75th percentile) of a target's per-round req/s ratios to node:cluster. */
function middleHalf(r: Results, target: Results['throughput'][number]): [number, number] {
  const ratios = roundRatios(
    target.samples.map((s) => s.rps),
    r.throughput[0]!.samples.map((s) => s.rps),
  );
  return [quantile(ratios, 0.25), quantile(ratios, 0.75)];
}

/**
 * How steady this run was: a goal inside the round-to-round spread is not settled by one
 * run, and a reader should know when a run was too noisy to judge a few percent.
 */
export function steadiness(r: Results): string {
  const noop = r.throughput.find((t) => t.target === NOOP)!;
  const [low, high] = middleHalf(r, noop);
  const cluster = r.throughput[0]!.samples.map((s) => s.rps);
  const wobble = (quantile(cluster, 0.75) - quantile(cluster, 0.25)) / 2 / quantile(cluster, 0.5);
  const verdict = low >= 0.98 ? 'the whole middle half clears the 0.98× goal' : high < 0.98 ? 'the whole middle half is under the 0.98× goal' : 'the 0.98× goal lies inside it, so this run alone does not settle it';
  return (
    `Steadiness of this run: node:cluster's req/s moved ±${(wobble * 100).toFixed(1)}% round to round (half the interquartile range, over the median); ` +
    `the middle half of the per-round no-op-hooks ratios is ${low.toFixed(3)}–${high.toFixed(3)}×: ${verdict}.`
  );
}

const ratio = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(3)}×`);

const verdict = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : '**missed**');

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A horizontal bar chart of median req/s per target, with the ratio to node:cluster. */
export function renderChart(r: Results): string {
  const rows = r.throughput;
  const width = 760;
  const label = 230;
  const bar = 24;
  const gap = 10;
  const top = 44;
  const height = top + rows.length * (bar + gap) + 30;
  const max = Math.max(...rows.map((t) => t.rps)) * 1.15;
  const scale = (v: number) => ((width - label - 20) * v) / max;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">Requests per second (median of ${r.settings.rounds} rounds, 2 workers, ${r.settings.connections} connections)</text>`,
    `<text x="12" y="38" fill="#555">${escapeXml(`${r.machine.cpus} × ${r.machine.model}, Node ${r.node}, ${r.generator}`)}</text>`,
  ];
  rows.forEach((t, i) => {
    const y = top + i * (bar + gap);
    const color = t.target.startsWith('hostd') ? '#2f6fdb' : t.target === 'node:cluster' ? '#555555' : '#9a9a9a';
    parts.push(
      `<text x="${label - 8}" y="${y + bar * 0.68}" text-anchor="end">${escapeXml(t.target)}</text>`,
      `<rect x="${label}" y="${y}" width="${scale(t.rps).toFixed(1)}" height="${bar}" fill="${color}" rx="2"/>`,
      `<text x="${(label + scale(t.rps) + 6).toFixed(1)}" y="${y + bar * 0.68}">${t.rps.toLocaleString('en')} (${t.rps_ratio.toFixed(2)}×)</text>`,
    );
  });
  parts.push(`<text x="12" y="${height - 10}" fill="#555">ratio: median of per-round ratios to node:cluster</text>`, '</svg>', '');
  return parts.join('\n');
}

const HOT_PATH = `## The request hot path

What hostd does for a request, and why it costs what it costs
(\`src/runtime/worker/requests.ts\`, \`src/runtime/primary/dispatcher.ts\`).

**Per connection.** The primary accepts it as a bare libuv handle (no \`net.Socket\` is made in
the primary, and no byte is read there), picks a ready worker (\`dispatch\`) and hands the handle
over the IPC channel: one \`sendmsg\` with the descriptor, as node:cluster's round-robin does; the
worker wraps it in its \`net.Socket\`. From then on the connection belongs to the worker; requests
on a kept-alive connection never touch the primary. Under \`least_busy\` a worker gets a new
connection only once it took its last one (node:cluster's round-robin waits the same way), and
tells the primary how many connections it closed (batched: at most one message per 10 ms).

**Per request, with no request hook, no access log and no probe** (the default). The worker's
HTTP server parses the request (Node's llhttp) and calls hostd's handler, which is the app
behind a \`try\`: \`try { app(req, res) } catch { answer 500 }\`, plus a check of what the app
returned (a rejected promise is answered with 500 too). No hook lookup, no context object, no
timer, no listener. With \`max_requests\` set, one counter increment. The handler is chosen once
when the worker boots; draining swaps in a variant that adds \`Connection: close\`, so the normal
path never checks a flag.

**With probes** (\`readiness_path\`, \`liveness_path\`): one or two string comparisons of
\`req.url\` before the above.

**With request hooks, an access log or \`host.on('request')\`.** One context object per request
(a small class, so V8 keeps one shape), one \`close\` listener (a shared function, no closure),
two \`performance.now()\` calls. \`request_id\` is computed only if a hook reads it (a UUID is the
only costly thing a hook context holds). Hooks are called synchronously; a promise exists only
if a hook returns one. \`post_request\` and the access log run on the response's \`close\`.

Why it has this shape: a CPU profile of one worker under wrk (\`node --cpu-prof\`, self time per
request) of the first version (an async function per request, a closure per response, two
context objects, an eager UUID, a tracked promise for \`post_request\`) put its cost in
allocations and garbage collection, and the shape above removes them. Calling the app from the
end of the \`pre_request\` loop kept V8 from inlining it there as it does on the plain path, so
the handler calls the app itself once the hooks have run. A \`ServerResponse\` subclass that
carries the context in a field, to save the \`close\` listener, was tried and dropped: Express
replaces the response's prototype, so \`post_request\` never ran for Express apps; a test now
runs both request hooks around each framework in \`examples/\`. What remains with no-op hooks
is the two clock reads (\`duration_ms\`) and the context object: the "hostd, no-op request
hooks" row against "hostd, no hooks" above is its measured cost, and CPU per request shows it
without the noise of req/s.

**The access log** is formatted by a function compiled once from \`access_log_format\`, and lines
are written in one \`write\` per event-loop turn.
`;

const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

/** The scenarios that keep their own results file (they also run alone), each the latest run of it or null. */
export interface OwnFiles {
  readonly scrape: ScrapeResults | null;
  readonly proxy: ProxyResults | null;
  readonly upgrade: UpgradeResults | null;
}

export function renderReport(r: Results, history: readonly Results[] = [r], own: OwnFiles = { scrape: null, proxy: null, upgrade: null }): string {
  const judged = judge(r);
  const startup = startupOf(r);
  return `# Performance

<!-- Generated by \`npm run bench\` (bench/run.ts, bench/report.ts) from bench/${resultsFile(r.date)}; run it again rather than editing this file. -->

Measured on one machine in one run, ${r.date.slice(0, 10)}: ${r.machine.cpus} × ${r.machine.model},
${r.machine.memory_gib} GiB, Node ${r.node}, load from ${r.generator} on the same machine; ${r.pinning}.${caCertsNote(r, startup !== null)}
Every target serves the same handler (\`bench/app.mjs\`): node:cluster, hostd and PM2 with 2 workers, node:http as one
process. Each round measures each target once for ${r.settings.seconds} s with
${r.settings.connections} keep-alive connections, in rotating order, so drift over the run hits all alike;
ratios are taken per round, then the median over ${r.settings.rounds} rounds is reported.

## Targets

${table(
  ['target', 'goal', 'measured', ''],
  judged.map((j) => [j.name, j.goal, j.measured, verdict(j.met)]),
)}

${steadiness(r)}

## Throughput and latency

![Requests per second](performance.svg)

${table(
  ['target', 'req/s', 'p50 ms', 'p99 ms', '× req/s', 'middle half', `last ${history.length} runs`, '× p99', 'CPU µs/req', '× CPU', 'errors'],
  r.throughput.map((t) => {
    const past = ratioSpread(history, t.target);
    return [
      t.target,
      t.rps.toLocaleString('en'),
      t.p50_ms,
      t.p99_ms,
      t.rps_ratio.toFixed(3),
      middleHalf(r, t).map((x) => x.toFixed(3)).join('–'),
      past === null ? '' : past.map((x) => x.toFixed(3)).join('–'),
      ratio(t.p99_ratio).replace('×', ''),
      t.cpu_us_per_request ?? '',
      t.cpu_ratio == null ? '' : t.cpu_ratio.toFixed(3),
      t.errors,
    ];
  }),
)}

"× req/s", "× p99" and "× CPU" are the medians of the per-round ratios to node:cluster; "middle
half" is the 25th to 75th percentile of the per-round req/s ratios; "last N runs" is the lowest
and highest "× req/s" of this run and the ones before it (every run is kept in bench/results).
"CPU µs/req" is the CPU time of all the target's processes (primary, workers; PM2's daemon)
per request served, from /proc: it does not depend on how the machine shares its cores, and is
what hosting costs. The per-round figures are in the results file.${r.generator.startsWith('autocannon') ? ' autocannon records latency in whole milliseconds, so a sub-millisecond latency reads 0 and p99 ratios are coarse; with `wrk` installed the bench uses it, with microsecond resolution.' : ''}

${pinningNote(r)}

${startup === null ? '' : `${renderStartup(startup.results, startup.file)}\n`}## ${startup === null ? 'Start, stop, memory' : 'Stop, memory'}

${
  startup === null
    ? table(
        ['target', 'cold start to first 200 (ms)', 'SIGTERM to exit, idle (ms)'],
        r.startup.filter((s) => s.cold_start_ms !== null).map((s) => [s.target, s.cold_start_ms!, s.idle_stop_ms!]),
      )
    : table(
        ['target', 'SIGTERM to exit, idle (ms)'],
        r.startup.filter((s) => s.idle_stop_ms !== null).map((s) => [s.target, s.idle_stop_ms!]),
      )
}

Median of ${r.settings.starts} ${startup === null ? 'starts. Cold start is from spawning the process to the first 200\nresponse; hostd\'s includes loading its TypeScript config in the primary and in each worker.\n' : 'stops, each of a fresh start. '}"Idle" means no open connection. A kept-alive idle connection adds up to \`DRAIN_IDLE_MS\` (250
ms, src/runtime/worker/connections.ts): a draining worker closes an idle connection only after
it stayed idle that long, so a client about to reuse it is not reset.
${startup === null ? `${replacementNote(r)}${startCostNote(r)}` : ''}
${table(
  ['target', 'primary RSS (MiB)', 'worker RSS (MiB, median)'],
  r.memory.map((m) => [m.target, m.primary_mib, m.worker_mib]),
)}

Measured after the throughput rounds. For PM2, "primary" is PM2's daemon.

## Deploys: failed requests during reloads

${table(
  ['target', 'reloads', 'requests', 'failed'],
  r.reloads.map((x) => [x.target, x.reloads, x.requests.toLocaleString('en'), x.failed]),
)}

${r.settings.connections} keep-alive connections for 12 s; three reloads (hostd: SIGHUP, waiting for
"reloaded: generation N is serving"; PM2: \`pm2 reload\`, which returns once every instance was
replaced). A failure is a connection error, a reset, a timeout or a non-2xx answer.
${upgradeSection(own.upgrade)}
${
  startup !== null || r.check === undefined
    ? ''
    : `## \`hostd check\`

\`hostd check\` on this repository's \`hostd.config.ts\` takes ${r.check.hostd_check_ms} ms against
${r.check.node_e_ms} ms for \`node -e ''\`: ${r.check.difference_ms} ms more (median of ${r.check.rounds} paired runs).
${commandsTable(r.check)}
`
}${
  r.metrics === undefined
    ? ''
    : `
## The cost of metrics

No-op request hooks with \`metrics_bind\` set and scraped every second: ${r.metrics.with_rps.toLocaleString('en')} req/s,
against ${r.metrics.without_rps.toLocaleString('en')} req/s without it (medians); the median of the per-round ratios is
${r.metrics.ratio.toFixed(3)}× (goal: ≥ 0.99×). ${r.metrics.scrapes} scrapes, ${r.metrics.failed_scrapes} failed. Workers batch their counts
into the heartbeat: a request costs a counter increment and no message.
`
}
${scenarios(r)}${scrapeSection(own.scrape)}${proxySection(own.proxy)}
${HOT_PATH}`;
}

/** The scrape scenario (bench/scrape), from its own results file: it runs alone too (`npm run bench:scrape`). */
function scrapeSection(s: ScrapeResults | null): string {
  if (s === null) return '';
  const ms = (v: number | null) => (v === null ? '' : String(v));
  return `
## Scrapes of a large registry

From bench/results/${scrapeFile(s.date)} (\`npm run bench:scrape\`, ${s.date.slice(0, 10)}; ${s.cpus}, Node ${s.node}; ${s.pinning}; NODE_EXTRA_CA_CERTS unset).
hostd with 2 workers, \`timeout: 2\`, and an app with 100,000 series in its prom-client registry in each
worker (one counter with 100,000 label values, bench/scrape/app.mjs): a scrape merges 200,000. The app
gets 800 requests/s, paced, on 4 keep-alive connections, while 0, 1 or 10 scrapes start together every
second (bench/scrape/probe.mjs, on the load generator's CPU); ${s.rounds} rounds of ${s.seconds} s each, in rotating order.
${
    s.rows.some((x) => x.target !== 'hostd')
      ? `The targets other than "hostd" are another build of hostd measured in the same rounds (BENCH_SCRAPE_BEFORE: the code before a change, named by its commit).\n`
      : ''
  }A scrape is complete when it has both workers' app metrics; "requests" falls short of ${(800 * s.rounds * s.seconds).toLocaleString('en')} when requests
waited (each connection sends its next one when the last is answered).${
    s.load === undefined ? '' : ` The machine's load average was ${s.load[0]} before the rounds and ${s.load[1]} after (${s.cpus.split(' ')[0]} CPUs): other work shared it, which both targets met alike.`
  }

${table(
  ['target', 'scrapes a second', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'complete scrapes', 'scrape p50 ms', 'scrape max ms', 'workers killed'],
  s.rows.map((x) => [x.target, x.concurrency, x.requests.toLocaleString('en'), x.p50_ms, x.p99_ms, x.max_ms, x.scrapes ? `${x.complete} of ${x.scrapes}` : '', ms(x.scrape_p50_ms), ms(x.scrape_max_ms), x.worker_timeouts]),
)}

One scrape at a time with no requests (median of ${s.cost[0]?.scrapes ?? 0}), and the CPU it costs per series merged, from /proc; the CPU
is a scrape's cost only where every scrape was complete (a worker that does not answer in time costs the primary nothing).

${table(
  ['target', 'series', 'complete', 'one scrape (ms)', 'primary CPU (µs/series)', 'workers CPU (µs/series)', 'answer (bytes)'],
  s.cost.map((c) => [c.target, c.series.toLocaleString('en'), c.complete === undefined ? '' : `${c.complete} of ${c.scrapes}`, c.scrape_ms, c.primary_us_per_series, c.workers_us_per_series, c.bytes.toLocaleString('en')]),
)}
`;
}

/** Upgrades beside the reloads (bench/upgrade), from its own results file: it runs alone too (`BENCH_ONLY=upgrade`). */
function upgradeSection(u: UpgradeResults | null): string {
  if (u === null) return '';
  const kinds = (['reload', 'upgrade'] as const).map((what) => {
    const rows = u.rows.filter((x) => x.what === what);
    const sum = (f: (x: (typeof rows)[number]) => number) => rows.reduce((n, x) => n + f(x), 0);
    return { what, events: sum((x) => x.events), requests: sum((x) => x.requests), failed: sum((x) => x.failed), p99: rows.map((x) => x.p99_ms), last: Math.max(...rows.map((x) => x.last_event_done_s)) };
  });
  const upgrade = kinds[1]!;
  return `
### Upgrades (SIGUSR2) beside reloads

From bench/results/${scenarioFile('upgrade', u.date)} (\`BENCH_ONLY=upgrade npm run bench\`, ${u.date.slice(0, 10)}; ${u.cpus}, Node ${u.node}; ${u.pinning}).

${table(
  ['event', 'events', 'requests', 'failed', 'p99 ms, by round'],
  kinds.map((k) => [k.what === 'upgrade' ? 'upgrade: SIGUSR2, a new primary' : 'reload: SIGHUP, new workers', k.events, k.requests.toLocaleString('en'), k.failed, k.p99.join(', ')]),
)}

Failed requests across ${upgrade.events} upgrades under load: ${upgrade.failed} (goal: 0), ${verdict(upgrade.failed === 0)}. The p99
during the upgrades is ${u.p99_ratio === null ? 'n/a' : `${u.p99_ratio.toFixed(2)}×`} the p99 during the reloads (the median of ${u.rounds} per-round ratios).
Each round starts hostd (2 workers, \`bench/app.mjs\`) twice, once per kind, in alternating order, and sends three events
under ${u.connections} keep-alive connections for ${u.load_seconds} s, each 2.5 s after the one before finished (the last one
done at most ${Math.max(kinds[0]!.last, upgrade.last)} s into the load). An upgrade is sent to the primary the one before
started and is done when the new primary logs that it serves; the old one then drains as on SIGTERM. The listening
sockets stay the same, so a connection arriving meanwhile waits in the backlog. What an upgrade costs beyond a
reload: a whole Node process more to start (the new primary loads hostd and the config), on the core the serving
workers use here.
`;
}

/** The proxy scenario (bench/proxy), from its own results file: it runs alone too (`BENCH_ONLY=proxy`). */
function proxySection(p: ProxyResults | null): string {
  if (p === null) return '';
  const [protocol, client] = [p.comparisons.find((c) => c.name === 'proxy_protocol'), p.comparisons.find((c) => c.name === 'client')];
  return `
## Behind a proxy

From bench/results/${scenarioFile('proxy', p.date)} (\`BENCH_ONLY=proxy npm run bench\`, ${p.date.slice(0, 10)}; ${p.cpus}, Node ${p.node}; ${p.pinning}; NODE_EXTRA_CA_CERTS unset for hostd).
hostd with 2 workers serving \`bench/app.mjs\`; each comparison starts both configurations and measures them in
alternating order, ${p.rounds} rounds of ${p.seconds} s each${p.rounds_per_start === undefined ? ' on one start of each' : `, both started again every ${p.rounds_per_start} rounds (one start can run slow for its whole life, header or not: see below)`}; the ratios are the medians of the per-round ratios. The machine's load average
was ${p.load[0]} before the rounds and ${p.load[1]} after (${p.cpus.split(' ')[0]} CPUs): other work shared it, which both sides met alike.
"CPU µs/req" is the CPU time of hostd's processes (primary and workers) per request, from /proc: it does not depend on how the
machine shares its cores.${p.generator.startsWith('autocannon') ? ' autocannon (the keep-alive rows) reports latency in whole milliseconds.' : ''}

${table(
  ['what is measured', 'load', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors', '× req/s', '× CPU', 'goal', ''],
  p.comparisons.flatMap((c) => [
    [c.baseline.target, c.load, c.baseline.rps.toLocaleString('en'), c.baseline.p50_ms, c.baseline.p99_ms, c.baseline.cpu_us_per_request, c.baseline.errors, '', '', '', ''],
    [c.measured.target, '(the same)', c.measured.rps.toLocaleString('en'), c.measured.p50_ms, c.measured.p99_ms, c.measured.cpu_us_per_request, c.measured.errors, `${c.rps_ratio.toFixed(3)}×`, ratio(c.cpu_ratio), `≥ ${c.goal}×`, verdict(c.rps_ratio >= c.goal)],
  ]),
)}

Where hostd's CPU is the limit (here it shares its core with other work), req/s goes as the inverse of the CPU ratio:

${p.comparisons.map((c) => `- ${c.measured.target}: ${c.rps_ratio.toFixed(3)}× req/s, goal ≥ ${c.goal}× ${verdict(c.rps_ratio >= c.goal)}; ${ratio(c.cpu_ratio)} CPU per request${c.cpu_ratio === null ? '' : `, so about ${(1 / c.cpu_ratio).toFixed(3)}× req/s where hostd's CPU is the limit: ${verdict(1 / c.cpu_ratio >= c.goal)}`}.`).join('\n')}
${protocol === undefined ? '' : PROXY_PROTOCOL_NOTE}${client === undefined ? '' : CLIENT_NOTE}`;
}

const PROXY_PROTOCOL_NOTE = `
**\`proxy_protocol\`.** The load generator (bench/proxy/connect.mjs, Node's raw \`node:net\` sockets on the load
generator's CPU) opens a connection, writes one payload, reads the answer until hostd closes the connection
(\`Connection: close\`) and opens the next, 16 connections at a time, as a TCP balancer in front would. The
payloads are built by the bench: with \`proxy_protocol\` on, a PROXY v1 header (\`proxyV1()\`, 1,024 different clients
in turn) followed by the request, in one write; with it off, the same request alone. So the only difference is
the header; neither row has errors, which shows each side got what it expected (a header hostd does not expect is a bad
request; a missing one closes the connection).

Where the time goes. The worker looks at each new connection in one call to hostd's native helper (\`intake\`)
before the socket reads anything: \`getpeername\` (the peer, checked against \`forwarded_allow_ips\` by its number, no
string made), a peek at the bytes waiting, and, when they begin with a whole header, a \`recv\` that takes just the
header (\`MSG_TRUNC\`: dropped in the kernel, not copied). The request stays in the kernel, and Node's HTTP parser reads
it natively, as on a connection without a header. The v1 header is parsed field by field off the peeked bytes (two
strings made, the addresses). A header not all there yet is read through the socket's stream (about 1% of connections
here). What the header said is kept in one object set once, the socket's \`_peername\` (what \`remoteAddress\` reads): an
instance of hostd's own class, which also holds what hostd reads (\`client\`, \`tls\`).

The cost per connection, measured with both kinds of connection served by one worker in alternating batches
(\`npx tsx bench/proxy/intake-cost.ts\`, which cancels what one process start does to another): 3.0, 3.7 and 4.9 µs of
CPU on about 113 µs (1.027× to 1.042×) in three runs of 40 batches of 2,000 connections, 2026-12-07 05:52
(bench/results/intake-cost-2026-12-07T055207.json and the two after it). Of that, three system calls (\`getpeername\`,
the peek, the take: \`strace -c\` counts no other difference) and about 1 µs of JavaScript (the parse, and the client
set on the socket); the rest is spread thin over the kernel and V8 (\`perf\`). The full rows above cost more per
request (1.039× to 1.078× CPU since 05:00): there each target's worker sees one kind of connection only, and each
start of a target is its own. How fast the load generator makes connections matters too: with the payloads built per
request, slower for the header, the same measure gave about 3 µs more. Before 2026-12-07 05:00 the worker read the
header and the request in one \`recv\` and gave the request to the parser through the socket's JavaScript data path:
about 1.5 µs more per connection, measured side by side in one worker. Earlier steps, each measured in these rows:
Node's \`getpeername\` made an object and three strings for the trust check; a WeakMap entry per connection cost about
0.6 µs.

The full-hostd ratio moves more from one start of the two targets to the next than from round to round. V8 CPU profiles
of fresh starts had one slow start of each target, with or without a header, costing about 35 µs more per request in
the system calls that write the response (loopback TCP delivery, waking the load generator on the other CPU). So both
targets are started again every few rounds. Runs on record, 24 rounds each: 0.963× and 0.965× (2026-12-07, 00:40 and
00:54, one start each), 0.888× (02:45, one start), 0.859× (03:34, a start every 4 rounds, on a machine slower then:
148 µs of CPU per request without a header against about 101 µs otherwise). Since the header is taken alone (05:00),
a start every 4 rounds: 0.953× (1.068× CPU, 04:58), 0.952× (1.070×, 05:13), 0.943× (1.078×, 05:35), and with the one
object per socket 0.953× (1.058×, 05:52) and 0.974× (1.039×, 06:00). So the goal is met, by a thin margin and not in
every run (4 of those 5; their median 0.953×); where hostd's CPU alone were the limit, 1.04× to 1.07× CPU would give
0.93× to 0.96×. Two ideas measured and dropped: a look
again after one turn of the event loop for a header not there yet, and \`TCP_DEFER_ACCEPT\` on the listening socket
(0.79× to 0.95×).
The primary does the same work with or without a header.
`;

const CLIENT_NOTE = `
**\`ctx.client\`.** Keep-alive requests, each with \`X-Forwarded-For\`, from 127.0.0.1, which the default
\`forwarded_allow_ips\` trusts: reading \`ctx.client\` checks the peer against the list, walks the header from the right
and checks the hop it finds (\`src/runtime/proxy/forwarded.ts\`), once per request. The baseline is the same
\`pre_request\` hook reading \`ctx.req\` instead; a request whose hooks never read the client pays nothing for it.

Where the time goes: it finds \`X-Forwarded-For\`,
\`X-Forwarded-Proto\` and \`Forwarded\` in \`req.rawHeaders\` (\`forwardingHeaders\`: Node's \`req.headers\`, an object
built on first use, is never made for it) and walks the header from the right without splitting it, checking each
IPv4 hop in one pass. It was 11 µs of CPU per request before profiles led to that and three other changes: node:net's
\`BlockList\` makes a native \`SocketAddress\` for every check (1.3 µs each, and garbage to collect), so IPv4 addresses
are matched in JavaScript; an object spread V8 built on its slow path; a WeakMap entry per request where a symbol on
the request does; and since 2026-12-07 02:00 what the connection says of its client (its peer, scheme, TLS verdict and
whether \`forwarded_allow_ips\` trusts it) is judged once per connection, on its first request that asks, and kept on
the socket: a kept-alive request walks only its own headers. What is left is about 0.1 µs per request in-process
(\`requestClient\` on a kept connection with \`X-Forwarded-For\` from a trusted peer, against 0.3 µs before), under 1%
of a request this cheap: 0.994× and 1.003× req/s (1.001× and 1.008× CPU per request, 24 rounds each) in the two runs
on record since, and 1.001× in one whose other half a build on the same machine disturbed (not kept), where the four
before gave 0.976×, 0.993×, 0.960× and 0.943×.
`;

export type ScenarioName = 'scrape' | 'proxy' | 'upgrade';

/**
 * The latest results of a scenario that keeps its own file (`<name>-<date>.json`: it also runs
 * alone), or null when there is none.
 */
function latestScenario<T>(name: ScenarioName): T | null {
  const dir = join(ROOT, 'bench/results');
  const pattern = new RegExp(`^${name}-\\d{4}-\\d{2}-\\d{2}T\\d{6}\\.json$`);
  const last = readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .at(-1);
  return last === undefined ? null : (JSON.parse(readFileSync(join(dir, last), 'utf8')) as T);
}

/** `scrape-2026-12-06T181500.json`: one file per run of a scenario, named by when it began. */
export function scenarioFile(name: ScenarioName, date: string): string {
  return `${name}-${date.slice(0, 10)}T${date.slice(11, 13)}${date.slice(14, 16)}${date.slice(17, 19)}.json`;
}

export const latestScrape = () => latestScenario<ScrapeResults>('scrape');
export const scrapeFile = (date: string) => scenarioFile('scrape', date);
export const latestProxy = () => latestScenario<ProxyResults>('proxy');

/** What NODE_EXTRA_CA_CERTS (a bundle of certificates every Node start reads) did to this run's figures. */
function caCertsNote(r: Results, startupRows: boolean): string {
  if (r.startup_lines !== undefined) return '\nEvery process this run started ran without NODE_EXTRA_CA_CERTS (the bench unsets it).';
  const rest = r.node_extra_ca_certs ? ' It was set for the rest of this run, which adds about 60 ms to every Node start and nothing per request.' : '';
  if (startupRows) return `\nThe start-up rows, on each Node line, come from their own run (below), without NODE_EXTRA_CA_CERTS.${rest}`;
  return r.node_extra_ca_certs ? '\nNODE_EXTRA_CA_CERTS was set, which adds about 60 ms to every Node start: start times and `hostd check` include it.' : '';
}

/** Where hostd's start goes beyond Node's, from this run's own rows (issue 16 asked for the breakdown). */
function startCostNote(r: Results): string {
  if (r.check === undefined) return '';
  const check = r.check;
  const ms = (command: string) => check.commands?.find((c) => c.command === command)?.ms;
  const config = ms('hostd check --no-app');
  const worker = ms('node dist/worker.js');
  if (config === undefined || worker === undefined) return '';
  const over = (x: number) => `${Math.round((x - check.node_e_ms) * 10) / 10} ms`;
  return `
Where a start goes beyond Node's own (from the \`hostd check\` rows below, without NODE_EXTRA_CA_CERTS): the primary
loads the CLI and resolves the config before it forks, which \`hostd check --no-app\` measures: ${over(config)} over
\`node -e ''\`; each worker then loads its own code, ${over(worker)} over \`node -e ''\` (\`node dist/worker.js\`),
before it evaluates its config for the hooks and loads the app. In a CPU profile (\`node --cpu-prof\`), most of both is Node's ES module
loader compiling and linking hostd's chunks; in the primary also zod's schema and commander. node:cluster's workers
start on \`node app.js\` alone.
`;
}

/** The worker replacement measure, for results that have it. */
function replacementNote(r: Results): string {
  const row = r.startup.find((s) => s.replacement_ms !== undefined);
  const single = r.startup.find((s) => s.target === 'node:http (1 process)')?.cold_start_ms;
  if (row === undefined || single == null) return '';
  return `
A worker replacement, from SIGKILL to the replacement answering (hostd with one worker, so the
request sent right after the kill waits in the primary for the replacement): ${row.replacement_ms} ms, against
${single} ms for a fresh \`node app.js\` start to its first 200 (the single-process target):
${(row.replacement_ms! / single).toFixed(2)}×. Median of ${r.settings.starts}.
`;
}

/** What the CPU placement of this run means for the figures. */
function pinningNote(r: Results): string {
  if (/^load generator on/.test(r.pinning)) {
    return `What the pinning means here: the load generator has CPUs of its own and the servers share the rest, so on a
${r.machine.cpus}-CPU machine ${r.machine.cpus <= 2 ? 'every server runs on one core: "2 workers" adds no parallelism, req/s compares the cost of hosting on that core (which is why one node:http process can match the 2-worker cluster), and p99 includes two workers taking turns on it' : 'the servers share fewer cores than they would alone'}. Unpinned, the load generator competes with the servers and p99 mostly measures the scheduler.
CPU per request holds either way.`;
  }
  return 'The servers and the load generator share every CPU (no pinning): req/s and p99 include their competition; CPU per request does not.';
}

/** The commands people run by hand against a bare Node start, for results that have them. */
function commandsTable(check: CheckTiming): string {
  if (check.commands === undefined) return '';
  const rows = check.commands.map((c) => ['`' + c.command + '`', c.ms, `${c.ratio.toFixed(2)}×`, c.goal === null ? '' : `≤ ${c.goal}×`]);
  return [
    '',
    table(['command', 'ms (median)', "ratio to `node -e ''`", 'goal'], rows),
    '',
    'Through the bin (`dist/bin.cjs`), as a user runs them, without NODE_EXTRA_CA_CERTS; each ratio is the median of',
    "per-round ratios. A bare `--version` or `--help` is answered by the bin alone (CommonJS, so no ES module loader, and",
    'nothing else of hostd loaded). `hostd check` also loads the app in a child process, a second Node start, which',
    '`--no-app` skips.',
    ...(check.commands.some((c) => c.command === 'node dist/worker.js')
      ? [
          '`node dist/worker.js` loads the code of a worker and exits (it runs only under `hostd run`): what every worker start',
          'pays before its config and its app. A worker loads no validation (no settings table, no zod): it replays the config',
          "the primary validated, for its hooks. `node dist/index.js` is hostd's public API alone, what a config's",
          "`import ... from 'hostd'` loads.",
        ]
      : []),
  ].join('\n');
}

/** Sections 6 to 8 of the run, for the results that have them. */
function scenarios(r: Results): string {
  const parts: string[] = [];
  if (r.dispatch !== undefined) {
    const rr = r.dispatch.find((d) => d.target === 'hostd, dispatch: round_robin' && (d.mix ?? 'slow') === 'slow');
    parts.push(`## Dispatch: which worker gets a connection

A new connection per request (wrk with \`Connection: close\`, 16 at a time), so that every
request is dispatched (bench/dispatch). In the "5% slow" rounds every 20th request burns 50 ms
of CPU in the worker: a slow request blocks its worker's event loop, and what matters is where
the next connections go meanwhile. In the "all fast" rounds no request is slow: the cost of
handing a connection over, against node:cluster's.

${table(
  ['requests', 'target', 'req/s', 'ratio', 'p50 (ms)', 'p99 (ms)', 'p99 ratio', 'errors'],
  r.dispatch.map((d) => [(d.mix ?? 'slow') === 'slow' ? '5% slow' : 'all fast', d.target, d.rps.toLocaleString('en'), `${d.rps_ratio.toFixed(3)}×`, d.p50_ms, d.p99_ms, ratio(d.p99_ratio), d.errors]),
)}

node:cluster's round-robin hands a worker a connection only once it took the last one (its
acknowledgement comes from the worker's event loop), so a blocked worker gets none.
${rr === undefined ? '' : `A blind rotation (\`dispatch: round_robin\`) queues connections behind the blocked worker: ${rr.rps_ratio.toFixed(2)}× node:cluster's throughput at ${ratio(rr.p99_ratio)} its p99. `}\`least_busy\`, the default, waits the same way and then
picks the worker holding the fewest open connections. With 5% of requests taking 50 ms of CPU
and two workers on this machine's cores, the slow requests themselves are the p99, and no
choice of worker makes them shorter: the goal of 0.7× node:cluster's p99 is out of reach in
this scenario.
`);
  }
  if (r.websockets !== undefined) {
    const ws = r.websockets;
    parts.push(`## WebSockets

${table(
  ['target', 'echoes/s', 'ratio'],
  ws.echo.map((e) => [e.target, e.messages_per_second.toLocaleString('en'), `${e.ratio.toFixed(3)}×`]),
)}

64 sockets, each sending a 64-byte message and waiting for its echo, again and again; the
clients run in the benchmark's own process (bench/websockets). Once upgraded, a WebSocket
belongs to its worker as under node:cluster: hostd adds nothing per message.

${table(
  ['app', 'open WebSockets', 'graceful_timeout', 'SIGTERM to exit (ms)'],
  ws.stop.map((x) => [`${x.app}`, x.sockets.toLocaleString('en'), `${x.graceful_timeout_s} s`, x.stop_ms]),
)}

An app that closes its sockets on \`host.on('draining')\` lets hostd finish the drain as soon as
the last one is gone; one that ignores it keeps them until \`graceful_timeout\`, when hostd
destroys them (median of 3 stops each).
`);
  }
  if (r.reload_memory !== undefined) {
    parts.push(`## Memory during a reload

${table(
  ['reload_batch', 'workers', 'most workers alive', 'peak RSS, primary + workers (MiB)', 'before the reload (MiB)', 'failed requests'],
  r.reload_memory.map((m) => [m.reload_batch, m.workers, m.peak_workers, m.peak_rss_mib, m.steady_rss_mib, m.failed_requests]),
)}

A SIGHUP reload under light load (one request at a time), sampled every 20 ms from /proc
(bench/reload-memory). With \`"all"\` the whole new generation boots beside the old one
(twice \`workers\`); with N, N new workers at a time (\`workers\` + N), for a pod whose memory
limit has no room for a second generation.
`);
  }
  return parts.join('\n');
}

/**
 * The lowest and highest req/s ratio of `target` over `runs` (this run and the ones before
 * it), or null when no run has it.
 */
export function ratioSpread(runs: readonly Results[], target: string): [number, number] | null {
  const ratios = runs.flatMap((run) => run.throughput.filter((t) => t.target === target).map((t) => t.rps_ratio));
  return ratios.length === 0 ? null : [Math.min(...ratios), Math.max(...ratios)];
}

/** The runs in bench/results up to and including `r`, the last `n` of them, oldest first. */
export function recentRuns(r: Results, n = 5): Results[] {
  const dir = join(ROOT, 'bench/results');
  const files = readdirSync(dir)
    .filter((f) => RUN_FILE.test(f))
    .sort()
    .filter((f) => f <= resultsFile(r.date).slice('results/'.length));
  const runs = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Results).filter((run) => Array.isArray(run.throughput));
  return runs.slice(-n);
}

/** Writes docs/performance.md and docs/performance.svg; returns the judged targets. */
export function writeReport(r: Results): Judged[] {
  writeFileSync(join(ROOT, 'docs', 'performance.md'), renderReport(r, recentRuns(r), { scrape: latestScrape(), proxy: latestProxy(), upgrade: latestScenario<UpgradeResults>('upgrade') }));
  writeFileSync(join(ROOT, 'docs', 'performance.svg'), renderChart(r));
  return judge(r);
}

/** One line per target, for the terminal. */
export function printJudged(judged: readonly Judged[]): void {
  for (const t of judged) console.log(`${t.met === null ? 'n/a    ' : t.met ? 'met    ' : 'MISSED '} ${t.name}: ${t.measured} (goal ${t.goal})`);
}

/** A run's results file: by date, or date and time (to the minute in older runs, to the second since), with an optional note after a dash. */
const RUN_FILE = /^\d{4}-\d{2}-\d{2}(T\d{4,6})?(-.*)?\.json$/;

/** A start-up run's results file (bench/startup.ts). */
const STARTUP_FILE = /^startup-\d{4}-\d{2}-\d{2}T\d{6}\.json$/;

/** `results/startup-2026-12-06T200712.json`: a start-up run's file, named as a run's. */
export function startupFile(date: string): string {
  return resultsFile(date).replace('results/', 'results/startup-');
}

/** `results/2026-11-23T200712.json`: one file per run, named by when it began (to the second), in the order they ran. */
export function resultsFile(date: string): string {
  return `results/${date.slice(0, 10)}T${date.slice(11, 13)}${date.slice(14, 16)}${date.slice(17, 19)}.json`;
}

/** The latest full run's results file. */
export function latestRun(): string {
  return join(
    ROOT,
    'bench/results',
    readdirSync(join(ROOT, 'bench/results'))
      .filter((f) => RUN_FILE.test(f))
      .sort()
      .at(-1)!,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const file = process.argv[2] ?? latestRun();
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  printJudged(writeReport(results));
  console.log(steadiness(results));
}

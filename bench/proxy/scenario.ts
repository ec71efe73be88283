/**
 * Behind a proxy (issue 25): what believing a proxy costs, each against the same hostd without
 * it, in alternating rounds of one run.
 *
 *  - `proxy_protocol`: a new connection per request (bench/proxy/connect.mjs, raw sockets,
 *    16 at a time), every one beginning with a PROXY v1 header, against `proxy_protocol` off
 *    and the same generator sending the same requests without the header. Goal ≥ 0.95×.
 *  - `ctx.client`: keep-alive requests (the harness's generator) carrying `X-Forwarded-For`
 *    from 127.0.0.1, which the default `forwarded_allow_ips` trusts, with a pre_request hook
 *    that reads `ctx.client` (so the header is walked), against the same hook not reading it.
 *    Goal ≥ 0.97×.
 *
 * hostd with 2 workers serving bench/app.mjs, NODE_EXTRA_CA_CERTS unset; servers and load
 * generator pinned apart as in the rest of the bench. Besides req/s, the CPU time of hostd's
 * processes per request, which does not depend on how the machine shares its cores.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { proxyV1 } from '../../src/runtime/proxy/proxy-protocol.ts';
import { withCpu } from '../lib/cpu.ts';
import { LOAD_CPU, pinned } from '../lib/cpus.ts';
import { GENERATOR, load, type LoadResult } from '../lib/load.ts';
import { median, medianRatio, round } from '../lib/stats.ts';
import { hostd, measuredEnv, ROOT, type Running, type Target } from '../lib/targets.ts';

/** Connections in flight in the connection-per-request rounds (as the dispatch scenario's). */
const CONNECT_CONCURRENCY = 16;
/** Distinct PROXY headers the generator cycles through (clients with their own address and port). */
const HEADERS = 1024;
/**
 * Rounds measured on one start of the two targets before both are started again. On this
 * machine one start of a target can run slow for as long as it lives, with or without a
 * header: V8 profiles of such starts (2026-12-07) put about 35 µs more per request in the
 * system calls writing the response (loopback delivery, waking the load generator), outside
 * hostd's code. With one start per comparison, which target landed slow decided the ratio;
 * with a start every few rounds, the per-round ratios' median spans several.
 */
const ROUNDS_PER_START = 4;
/** What every keep-alive request carries: one client behind one trusted proxy. */
const FORWARDED = { 'X-Forwarded-For': '203.0.113.7' };

export interface ProxyRow {
  readonly target: string;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** CPU time of hostd's processes (primary and workers) per request served, in µs. */
  readonly cpu_us_per_request: number;
  /** Failed connections, timeouts and non-200 answers, over all rounds. */
  readonly errors: number;
  readonly samples: readonly number[];
}

export interface ProxyComparison {
  readonly name: 'proxy_protocol' | 'client';
  /** What the load was. */
  readonly load: string;
  readonly baseline: ProxyRow;
  readonly measured: ProxyRow;
  /** The median of the per-round req/s ratios, measured over baseline. */
  readonly rps_ratio: number;
  /** The median of the per-round CPU-per-request ratios. */
  readonly cpu_ratio: number | null;
  /** The lowest req/s ratio that meets the goal. */
  readonly goal: number;
}

export interface ProxyResults {
  readonly date: string;
  readonly node: string;
  readonly cpus: string;
  readonly pinning: string;
  readonly rounds: number;
  /** Rounds per start of the two targets (absent: one start for all rounds, results before 2026-12-07 03:50). */
  readonly rounds_per_start?: number;
  readonly seconds: number;
  /** The keep-alive rounds' generator. */
  readonly generator: string;
  /** The machine's 1-minute load average before and after the rounds: how much else ran on it. */
  readonly load: readonly [number, number];
  readonly comparisons: readonly ProxyComparison[];
}

type Measure = (running: Running) => Promise<LoadResult>;

/** The request every connection sends, after its header if it has one. */
function request(port: number): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
}

/** The payloads of the connection-per-request rounds: with a PROXY v1 header from a different client each, or the bare request. */
function payloads(port: number, withHeader: boolean): string[] {
  return Array.from({ length: HEADERS }, (_, i) => {
    const header = withHeader ? proxyV1({ address: `203.0.113.${(i % 254) + 1}`, port: 1024 + i }, { address: '127.0.0.1', port }).toString('latin1') : '';
    return header + request(port);
  });
}

/** Runs bench/proxy/connect.mjs on the load generator's CPU for `seconds`. */
function connectLoad(url: string, seconds: number, withHeader: boolean): Promise<LoadResult> {
  const { hostname, port } = new URL(url);
  const [command, args] = pinned(LOAD_CPU, process.execPath, [join(ROOT, 'bench/proxy/connect.mjs'), hostname, port, String(seconds), String(CONNECT_CONCURRENCY)]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: measuredEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const r = JSON.parse(out) as { requests: number; errors: number; rps: number; p50: number; p99: number };
        resolve({ rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, requests: r.requests });
      } catch {
        reject(new Error(`bench/proxy/connect.mjs exited ${code} with: ${out.slice(0, 500)}`));
      }
    });
    // A generator that failed early is reported by its exit, not by a broken pipe here.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(payloads(Number(port), withHeader)));
  });
}

/** The two targets in alternating order for `rounds` rounds; the second against the first, per round. */
async function compare(
  name: ProxyComparison['name'],
  what: string,
  goal: number,
  targets: readonly [Target, Target],
  measures: readonly [Measure, Measure],
  rounds: number,
  log: (line: string) => void,
): Promise<ProxyComparison> {
  let running: Running[] = [];
  const stopAll = async () => {
    for (const r of running) await r.stop();
    running = [];
  };
  try {
    const samples: LoadResult[][] = [[], []];
    const cpu: number[][] = [[], []];
    for (let n = 0; n < rounds; n++) {
      if (n % ROUNDS_PER_START === 0) {
        // Fresh processes for both, started in turn: a start can land slow for a whole run (ROUNDS_PER_START), so the rounds span several.
        await stopAll();
        for (const i of n % (2 * ROUNDS_PER_START) === 0 ? [0, 1] : [1, 0]) running[i] = await targets[i]!.start();
        // Warm-up: JIT, and the workers' first connections.
        for (let i = 0; i < 2; i++) await measures[i]!(running[i]!);
      }
      for (let k = 0; k < 2; k++) {
        const i = (n + k) % 2;
        const [result, perRequest] = await withCpu(() => [running[i]!.pid, ...running[i]!.workers()], () => measures[i]!(running[i]!));
        samples[i]!.push(result);
        if (perRequest !== null) cpu[i]!.push(perRequest);
      }
      log(`   round ${n + 1}/${rounds}: ${targets.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!.rps)} req/s`).join(' · ')}`);
    }
    const [baseline, measured] = targets.map((target, i): ProxyRow => {
      const s = samples[i]!;
      return {
        target: target.name,
        rps: Math.round(median(s.map((x) => x.rps))),
        p50_ms: round(median(s.map((x) => x.p50)), 3),
        p99_ms: round(median(s.map((x) => x.p99)), 3),
        cpu_us_per_request: round(median(cpu[i]!), 1),
        errors: s.reduce((sum, x) => sum + x.errors, 0),
        samples: s.map((x) => Math.round(x.rps)),
      };
    }) as [ProxyRow, ProxyRow];
    const rpsRatio = round(medianRatio(samples[1]!.map((x) => x.rps), samples[0]!.map((x) => x.rps))!, 3);
    const cpuRatio = medianRatio(cpu[1]!, cpu[0]!);
    const comparison: ProxyComparison = { name, load: what, baseline, measured, rps_ratio: rpsRatio, cpu_ratio: cpuRatio === null ? null : round(cpuRatio, 3), goal };
    for (const row of [baseline, measured]) log(`   ${row.target}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ${row.cpu_us_per_request} µs CPU/request, ${row.errors} errors`);
    log(`   ${rpsRatio >= goal ? 'met   ' : 'MISSED'} ${measured.target} vs ${baseline.target}: ${rpsRatio}× req/s (goal ≥ ${goal}×), ${comparison.cpu_ratio}× CPU per request`);
    return comparison;
  } finally {
    await stopAll();
  }
}

export async function proxyScenario(rounds: number, seconds: number, connections: number, log: (line: string) => void): Promise<Omit<ProxyResults, 'date' | 'node' | 'cpus' | 'pinning'>> {
  const env = measuredEnv();
  const before = loadavg()[0]!;
  log(`\n10. behind a proxy: ${rounds} rounds × ${seconds} s per target, alternating, both started again every ${ROUNDS_PER_START} rounds; hostd with 2 workers, NODE_EXTRA_CA_CERTS unset for hostd`);
  log(`   a new connection per request (bench/proxy/connect.mjs, ${CONNECT_CONCURRENCY} at a time): a PROXY v1 header on each vs none`);
  const proxyProtocol = await compare(
    'proxy_protocol',
    `a new connection per request, ${CONNECT_CONCURRENCY} at a time (bench/proxy/connect.mjs)`,
    0.95,
    [hostd('proxy_protocol off, no header', '../proxy/proxy-off.ts', env), hostd('proxy_protocol on, PROXY v1 header', '../proxy/proxy-on.ts', env)],
    [(r) => connectLoad(r.url, seconds, false), (r) => connectLoad(r.url, seconds, true)],
    rounds,
    log,
  );
  log(`   keep-alive, ${connections} connections (${GENERATOR}), X-Forwarded-For on every request: a pre_request hook reading ctx.client vs not`);
  const keepAlive: Measure = (r) => load(r.url, seconds, connections, [], FORWARDED);
  const client = await compare(
    'client',
    `${connections} keep-alive connections (${GENERATOR}), \`X-Forwarded-For: ${FORWARDED['X-Forwarded-For']}\` on every request`,
    0.97,
    [hostd('pre_request not reading ctx.client', '../proxy/client-unread.ts', env), hostd('pre_request reading ctx.client', '../proxy/client-read.ts', env)],
    [keepAlive, keepAlive],
    rounds,
    log,
  );
  return { rounds, rounds_per_start: ROUNDS_PER_START, seconds, generator: GENERATOR, load: [before, loadavg()[0]!], comparisons: [proxyProtocol, client] };
}

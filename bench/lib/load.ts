/**
 * The load generator: wrk when it is installed (a C program, light on a shared CPU), else
 * autocannon from npm (BENCH_LOAD=autocannon forces it). Both give requests per second,
 * latency percentiles and errors.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LOAD_CPU, pinned } from './cpus.ts';

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Connection errors, timeouts and non-2xx answers. */
  readonly errors: number;
  readonly requests: number;
}

const ROOT = join(import.meta.dirname, '..', '..');

function wrkInstalled(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version prints its version and exits 1.
    return (error as { status?: number }).status === 1;
  }
}

export const WRK = process.env.BENCH_LOAD !== 'autocannon' && wrkInstalled();
export const GENERATOR = WRK ? execFileSync('sh', ['-c', 'wrk --version 2>&1 | head -1 || true'], { encoding: 'utf8' }).trim().split(' Copyright')[0]! : 'autocannon 9 (npm)';

function milliseconds(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN);
}

function parseWrk(out: string): LoadResult {
  const latency = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`).exec(out);
    return m ? milliseconds(m[1]!, m[2]!) : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: latency('50'),
    p99: latency('99'),
    errors: (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0) + non2xx,
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
  };
}

function parseAutocannon(out: string): LoadResult {
  const r = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total };
}

function command(url: string, seconds: number, connections: number, wrkArgs: readonly string[], headers: Readonly<Record<string, string>>): [string, string[]] {
  const pairs = Object.entries(headers);
  return WRK
    ? ['wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...pairs.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), ...wrkArgs, url]]
    : [process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), ...pairs.flatMap(([k, v]) => ['-H', `${k}=${v}`]), url]];
}

/**
 * Loads `url` for `seconds` with `connections` keep-alive connections and waits for the result.
 * `wrkArgs` (a script) are for wrk only: a scenario that needs them needs wrk. `headers` go on
 * every request, with either generator.
 */
export function load(url: string, seconds: number, connections: number, wrkArgs: readonly string[] = [], headers: Readonly<Record<string, string>> = {}): Promise<LoadResult> {
  const [cmd, args] = pinned(LOAD_CPU, ...command(url, seconds, connections, wrkArgs, headers));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(WRK ? parseWrk(out) : parseAutocannon(out));
      } catch (error) {
        reject(new Error(`could not read the load generator's output: ${(error as Error).message}\n${out}`));
      }
    });
  });
}

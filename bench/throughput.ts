/**
 * `npm run bench`: throughput and p99 latency of hostd against a bare node:cluster
 * serving the same handler (bench/app.mjs), measured side by side in one run. Every
 * target runs for the whole benchmark; each round measures each target once, in a
 * rotating order, so drift over the run hits all of them alike. Ratios to node:cluster
 * are taken per round, then the median over rounds is reported.
 *
 * Load: wrk when it is installed (lighter on a shared CPU), else autocannon (npm).
 * Writes bench/results/throughput-<date>.json. Prints; never asserts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);

interface Target {
  readonly name: string;
  readonly args: string[];
  /** How the target tells its port, from its output. */
  readonly port: RegExp;
}

const TARGETS: Target[] = [
  { name: 'node:cluster', args: [join(ROOT, 'bench/targets/cluster.mjs'), '2'], port: /listening (\d+)/ },
  { name: 'hostd, no hooks', args: [CLI, 'run', '-c', join(ROOT, 'bench/configs/plain.ts')], port: /Listening at: http:\/\/127\.0\.0\.1:(\d+)/ },
  { name: 'hostd, no-op request hooks', args: [CLI, 'run', '-c', join(ROOT, 'bench/configs/noop-hooks.ts')], port: /Listening at: http:\/\/127\.0\.0\.1:(\d+)/ },
];

interface Sample {
  readonly rps: number;
  readonly p99: number;
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
}
const WRK = hasWrk();

function start(target: Target): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, target.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let port: string | undefined;
    const seen = (data: Buffer) => {
      output += data;
      port ??= target.port.exec(output)?.[1];
      const ready = target.name === 'node:cluster' ? port : port && /hostd is ready/.test(output) ? port : undefined;
      if (ready) {
        child.stdout!.off('data', seen);
        child.stderr!.off('data', seen);
        resolve({ child, url: `http://127.0.0.1:${ready}/` });
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${target.name} exited (${code}) before it was ready:\n${output}`)));
  });
}

function load(url: string, seconds: number): Sample {
  if (WRK) {
    const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const unit = { us: 0.001, ms: 1, s: 1000 }[p99?.[2] as 'us' | 'ms' | 's'] ?? NaN;
    return { rps, p99: Number(p99?.[1]) * unit };
  }
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(CONNECTIONS), '-d', String(seconds), url], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const result = JSON.parse(out) as { requests: { average: number }; latency: { p99: number } };
  return { rps: result.requests.average, p99: result.latency.p99 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const generator = WRK ? execFileSync('sh', ['-c', 'wrk --version 2>&1 | head -1 || true'], { encoding: 'utf8' }).trim() : 'autocannon 9 (npm)';
console.log(`hostd bench: ${ROUNDS} rounds × ${SECONDS} s per target, ${CONNECTIONS} connections, ${generator}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}\n`);

const running = await Promise.all(TARGETS.map(start));
const samples = TARGETS.map(() => [] as Sample[]);
try {
  for (const { url } of running) load(url, 2); // warm-up: JIT and connection setup
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < TARGETS.length; k++) {
      const i = (round + k) % TARGETS.length;
      samples[i]!.push(load(running[i]!.url, SECONDS));
    }
    process.stdout.write(`round ${round + 1}/${ROUNDS}: ${TARGETS.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!.rps)} req/s`).join(', ')}\n`);
  }
} finally {
  for (const { child } of running) child.kill('SIGTERM');
}

const rows = TARGETS.map((target, i) => {
  const s = samples[i]!;
  const rpsRatio = median(s.map((x, r) => x.rps / samples[0]![r]!.rps));
  const p99Ratio = median(s.map((x, r) => x.p99 / samples[0]![r]!.p99));
  return { target: target.name, rps: Math.round(median(s.map((x) => x.rps))), p99_ms: +median(s.map((x) => x.p99)).toFixed(3), rps_ratio: +rpsRatio.toFixed(3), p99_ratio: +p99Ratio.toFixed(3) };
});

console.log(`\n${'target'.padEnd(30)}${'req/s'.padStart(10)}${'p99 ms'.padStart(10)}${'× req/s'.padStart(10)}${'× p99'.padStart(10)}`);
for (const r of rows) console.log(`${r.target.padEnd(30)}${String(r.rps).padStart(10)}${String(r.p99_ms).padStart(10)}${r.rps_ratio.toFixed(3).padStart(10)}${r.p99_ratio.toFixed(3).padStart(10)}`);
console.log('\nratios are medians of per-round ratios to node:cluster; issue 3 targets: ≥ 0.98× req/s and ≤ 1.10× p99 with no-op request hooks');

const result = { date: new Date().toISOString(), node: process.version, cpus: `${cpus().length} × ${cpus()[0]?.model}`, generator, rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, rows, samples: Object.fromEntries(TARGETS.map((t, i) => [t.name, samples[i]])) };
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, `bench/results/throughput-${result.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file.slice(ROOT.length + 1)}`);

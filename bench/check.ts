/**
 * `npm run bench:check`: wall time of `hostd check` on the repository's hostd.config.ts,
 * minus `node -e ''`, from paired runs (one of each, interleaved, so drift hits both alike).
 * The budget is 60 ms over `node -e ''`; this prints and records, it does not assert.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, round } from './lib/stats.ts';
import { ROOT } from './lib/targets.ts';

export interface CheckTiming {
  readonly rounds: number;
  readonly node_e_ms: number;
  readonly hostd_check_ms: number;
  /** The median of the paired differences. */
  readonly difference_ms: number;
}

const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSTD_'))), NO_COLOR: '1' };

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: 'pipe' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

export function measureCheck(rounds: number): CheckTiming {
  // Warm-up: the page cache and jiti's transform cache.
  for (let i = 0; i < 3; i++) time(['dist/cli.js', 'check']);
  const baseline: number[] = [];
  const check: number[] = [];
  const differences: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = time(['-e', '']);
    const c = time(['dist/cli.js', 'check']);
    baseline.push(b);
    check.push(c);
    differences.push(c - b);
  }
  return { rounds, node_e_ms: round(median(baseline)), hostd_check_ms: round(median(check)), difference_ms: round(median(differences)) };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 40);
  console.log(`hostd check vs node -e '': ${rounds} paired rounds`);
  const result = measureCheck(rounds);
  console.log(`  node -e ''    ${result.node_e_ms} ms (median)`);
  console.log(`  hostd check   ${result.hostd_check_ms} ms (median)`);
  console.log(`  difference    ${result.difference_ms} ms (median of paired differences; budget 60 ms)`);
  const date = new Date().toISOString();
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/check-${date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify({ date, node: process.version, cpus: `${cpus().length} × ${cpus()[0]?.model}`, ...result, budget_ms: 60 }, null, 2)}\n`);
  console.log(`  wrote ${file.slice(ROOT.length + 1)}`);
}

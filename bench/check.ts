/**
 * `npm run bench:check`: how long the commands people run by hand take against a bare Node
 * start (`node -e ''`), from interleaved rounds (each round runs every command once, so drift
 * hits all alike), as the median of per-round ratios: `hostd --version`, `--help`, and
 * `hostd check` on the repository's hostd.config.ts with and without loading its app. Run as a
 * user runs them, through the bin (dist/bin.cjs). Without NODE_EXTRA_CA_CERTS, which adds
 * about 60 ms to every Node start and hides the ratio; and, when it is set, with it too.
 * Prints and records a results file per run; never asserts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, medianRatio, round } from './lib/stats.ts';
import { ROOT } from './lib/targets.ts';

export interface CommandTiming {
  readonly command: string;
  readonly ms: number;
  /** The median of per-round ratios to `node -e ''`. */
  readonly ratio: number;
  /** The goal for that ratio (issue 16), or null for one measured to explain another. */
  readonly goal: number | null;
}

export interface CheckTiming {
  readonly rounds: number;
  readonly node_e_ms: number;
  readonly hostd_check_ms: number;
  /** The median of the paired differences, `hostd check` minus `node -e ''`. */
  readonly difference_ms: number;
  /** Every command measured (absent in results from before they were). */
  readonly commands?: readonly CommandTiming[];
  /** The same with NODE_EXTRA_CA_CERTS as it was set, when it was. */
  readonly with_extra_ca_certs?: { readonly node_e_ms: number; readonly commands: readonly CommandTiming[] } | null;
}

/** `status`: the exit code a run must end with (0 unless said). */
export const COMMANDS: readonly { command: string; args: string[]; goal: number | null; status?: number }[] = [
  { command: 'hostd --version', args: ['dist/bin.cjs', '--version'], goal: 1.2 },
  { command: 'hostd --help', args: ['dist/bin.cjs', '--help'], goal: 1.2 },
  { command: 'hostd check', args: ['dist/bin.cjs', 'check'], goal: 2 },
  { command: 'hostd check --no-app', args: ['dist/bin.cjs', 'check', '--no-app'], goal: null },
  // What every worker start pays before its config and app: its own code, loaded and refusing to run outside `hostd run`.
  { command: 'node dist/worker.js', args: ['dist/worker.js'], goal: null, status: 2 },
  { command: 'node dist/index.js', args: ['dist/index.js'], goal: null },
];

export function environment(extraCaCerts: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSTD_') && k !== 'NODE_EXTRA_CA_CERTS')), NO_COLOR: '1' };
  if (extraCaCerts !== undefined) env.NODE_EXTRA_CA_CERTS = extraCaCerts;
  return env;
}

function time(node: string, args: string[], env: NodeJS.ProcessEnv, status = 0): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(node, args, { cwd: ROOT, env, stdio: 'pipe' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== status) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

/** Every command against `node -e ''`, run with the Node at `node`, in `rounds` interleaved rounds. */
export function measure(rounds: number, env: NodeJS.ProcessEnv, node = process.execPath): { node_e_ms: number; commands: CommandTiming[]; samples: { base: number[]; of: number[][] } } {
  // Warm-up: the page cache and hostd's caches.
  for (let i = 0; i < 3; i++) for (const c of COMMANDS) time(node, c.args, env, c.status);
  const base: number[] = [];
  const of: number[][] = COMMANDS.map(() => []);
  for (let i = 0; i < rounds; i++) {
    base.push(time(node, ['-e', ''], env));
    COMMANDS.forEach((c, k) => of[k]!.push(time(node, c.args, env, c.status)));
  }
  return {
    node_e_ms: round(median(base)),
    commands: COMMANDS.map((c, k) => ({ command: c.command, ms: round(median(of[k]!)), ratio: round(medianRatio(of[k]!, base)!, 3), goal: c.goal })),
    samples: { base, of },
  };
}

export function measureCheck(rounds: number): CheckTiming {
  const plain = measure(rounds, environment(undefined));
  const check = COMMANDS.findIndex((c) => c.command === 'hostd check');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  const withExtra = extra ? measure(Math.max(5, Math.round(rounds / 2)), environment(extra)) : null;
  return {
    rounds,
    node_e_ms: plain.node_e_ms,
    hostd_check_ms: plain.commands[check]!.ms,
    difference_ms: round(median(plain.samples.of[check]!.map((ms, i) => ms - plain.samples.base[i]!))),
    commands: plain.commands,
    with_extra_ca_certs: withExtra && { node_e_ms: withExtra.node_e_ms, commands: withExtra.commands },
  };
}

/** Lines for the terminal. */
export function describeCheck(t: CheckTiming): string[] {
  const lines = [`  node -e ''              ${t.node_e_ms} ms (median)`];
  for (const c of t.commands ?? []) lines.push(`  ${c.command.padEnd(22)} ${String(c.ms).padStart(6)} ms  ${c.ratio.toFixed(2)}×${c.goal === null ? '' : `  (goal ≤ ${c.goal}×)`}`);
  if (t.with_extra_ca_certs) {
    lines.push(`  with NODE_EXTRA_CA_CERTS (as set here): node -e '' ${t.with_extra_ca_certs.node_e_ms} ms`);
    for (const c of t.with_extra_ca_certs.commands) lines.push(`  ${c.command.padEnd(22)} ${String(c.ms).padStart(6)} ms  ${c.ratio.toFixed(2)}×`);
  }
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
  console.log(`hostd's commands vs node -e '': ${rounds} interleaved rounds, without NODE_EXTRA_CA_CERTS${process.env.NODE_EXTRA_CA_CERTS ? ' (and with it, as it is set here: it adds about 60 ms to every Node start)' : ''}`);
  const result = measureCheck(rounds);
  for (const line of describeCheck(result)) console.log(line);
  const date = new Date().toISOString();
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  // One file per run, never overwritten.
  const file = join(ROOT, `bench/results/check-${date.slice(0, 10)}T${date.slice(11, 13)}${date.slice(14, 16)}${date.slice(17, 19)}.json`);
  writeFileSync(file, `${JSON.stringify({ date, node: process.version, cpus: `${cpus().length} × ${cpus()[0]?.model}`, ...result }, null, 2)}\n`, { flag: 'wx' });
  console.log(`  wrote ${file.slice(ROOT.length + 1)}`);
}

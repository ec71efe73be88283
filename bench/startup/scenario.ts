/**
 * Start-up on each Node line (package.json's nodeLines, binaries from scripts/node-lines.ts):
 * cold starts to the first 200 with 2 workers (node:cluster, hostd with its caches warm, with
 * a config text its caches have never seen, and with no cache at all), a worker replacement
 * against a fresh `node app.js` start, and the commands people run by hand against
 * `node -e ''` (bench/check.ts). The baselines also with node:http required rather than
 * imported (bench/targets/*-require.mjs), which hostd's own code does. Every round starts each
 * target once, in rotating order, and ratios are taken per round. Every process runs without
 * NODE_EXTRA_CA_CERTS (measuredEnv) and
 * the servers on the CPUs the other sections give them (bench/lib/cpus.ts).
 *
 * Besides wall time, the CPU time of each process of a start at its first 200 (from /proc,
 * every thread): with the servers on one core a start's wall time is about their sum, and
 * per process it says where a start goes. One more start of each line is profiled
 * (`node --cpu-prof`, workers too) and summarised by what ran.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandTiming, measure } from '../check.ts';
import { pinned, SERVER_CPUS } from '../lib/cpus.ts';
import { median, medianRatio, round } from '../lib/stats.ts';
import { getOnce, measuredEnv, ROOT } from '../lib/targets.ts';

export interface StartTiming {
  readonly target: string;
  /** Spawn to the first 200, median. */
  readonly ms: number;
  /** The median of per-round ratios to node:cluster's (replacement: to `node app.js`'s). */
  readonly ratio: number;
  /** CPU time of all its processes at the first 200, median; by process, primary first. */
  readonly cpu_ms: number;
  /** The median of per-round ratios of that to node:cluster's (replacement: to `node app.js`'s). */
  readonly cpu_ratio: number;
  readonly cpu_ms_by_process: readonly number[];
  readonly samples: readonly number[];
}

export interface ProfileShare {
  readonly what: string;
  readonly ms: number;
}

export interface StartupLine {
  readonly line: string;
  readonly node: string;
  readonly node_e_ms: number;
  readonly starts: readonly StartTiming[];
  readonly commands: readonly CommandTiming[];
  /** Self time by what ran, in a profiled start with warm caches: the primary's and one worker's. */
  readonly profile: { readonly primary: readonly ProfileShare[]; readonly worker: readonly ProfileShare[] } | null;
}

export interface StartupResults {
  readonly date: string;
  readonly machine: string;
  readonly pinning: string;
  readonly rounds: number;
  readonly lines: readonly StartupLine[];
}

export const CLUSTER = 'node:cluster';
export const CLUSTER_REQUIRE = 'node:cluster, node:http required';
export const SINGLE = 'node:http, 1 process (`node app.js`)';
export const SINGLE_REQUIRE = 'node:http, 1 process, node:http required';
export const WARM = 'hostd, caches warm';
export const UNSEEN = 'hostd, a config text its caches have never seen';
export const NO_CACHE = 'hostd, no cache at all';
export const REPLACEMENT = 'worker replacement (SIGKILL to serving)';

const HOSTD_READY = /Listening at: http:\/\/127\.0\.0\.1:(\d+)/;

/** Threads' CPU time of a process, in ms (/proc schedstat, ns); 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly ms: number;
  readonly cpu: number[];
}

/** Starts `args` with `node`, waits for its port and its first 200; the CPU of each of its processes then. */
function start(node: string, args: readonly string[], port: RegExp, env: NodeJS.ProcessEnv = measuredEnv()): Promise<Started> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const [command, commandArgs] = pinned(SERVER_CPUS, node, args);
    const child = spawn(command, commandArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let found = false;
    const seen = async (data: Buffer) => {
      output += data;
      const p = port.exec(output)?.[1];
      if (found || p === undefined) return;
      found = true;
      const url = `http://127.0.0.1:${p}/`;
      while ((await getOnce(url)) !== 200);
      const ms = performance.now() - began;
      resolve({ child, url, ms, cpu: [child.pid!, ...children(child.pid!)].map(cpuMs) });
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => {
      if (!found) reject(new Error(`${args.join(' ')} exited (${code}) before serving:\n${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A project beside the repository's bench/ (hostd linked in its node_modules) whose config text no cache has seen. */
class Projects {
  private readonly root = mkdtempSync(join(tmpdir(), 'hostd-bench-startup-'));
  private made = 0;

  constructor() {
    mkdirSync(join(this.root, 'node_modules'));
    symlinkSync(ROOT, join(this.root, 'node_modules', 'hostd'), 'dir');
    writeFileSync(join(this.root, 'package.json'), '{ "type": "module" }\n');
  }

  /** A new config (TypeScript, as bench/configs/plain.ts) of its own text. */
  fresh(workers: number): string {
    const file = join(this.root, `config-${++this.made}.ts`);
    writeFileSync(file, `import { defineConfig } from 'hostd';\n\n// ${process.pid}.${this.made}.${Math.random()}\nexport default defineConfig({ app: ${JSON.stringify(join(ROOT, 'bench/app.mjs'))}, bind: '127.0.0.1:0', workers: ${workers} });\n`);
    return file;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

interface Target {
  readonly name: string;
  /** One measure: a start to its first 200 (ms and CPU), or for the replacement the kill to serving again. */
  run(node: string): Promise<{ ms: number; cpu: number[] }>;
}

function startTarget(name: string, args: (node: string) => readonly string[], port: RegExp, env?: NodeJS.ProcessEnv): Target {
  return {
    name,
    async run(node) {
      const started = await start(node, args(node), port, env);
      await stop(started.child);
      return { ms: started.ms, cpu: started.cpu };
    },
  };
}

function targets(projects: Projects): Target[] {
  const cli = join(ROOT, 'dist', 'bin.cjs');
  return [
    startTarget(CLUSTER, () => [join(ROOT, 'bench/targets/cluster.mjs'), '2'], /listening (\d+)/),
    startTarget(SINGLE, () => [join(ROOT, 'bench/targets/single.mjs')], /listening (\d+)/),
    startTarget(CLUSTER_REQUIRE, () => [join(ROOT, 'bench/targets/cluster-require.mjs'), '2'], /listening (\d+)/),
    startTarget(SINGLE_REQUIRE, () => [join(ROOT, 'bench/targets/single-require.mjs')], /listening (\d+)/),
    startTarget(WARM, () => [cli, 'run', '-c', join(ROOT, 'bench/configs/plain.ts')], HOSTD_READY),
    startTarget(UNSEEN, () => [cli, 'run', '-c', projects.fresh(2)], HOSTD_READY),
    // hostd's own code not compiled from Node's cache either (Node 22.1+; the same as the row above on 20).
    startTarget(NO_CACHE, () => [cli, 'run', '-c', projects.fresh(2)], HOSTD_READY, { ...measuredEnv(), NODE_DISABLE_COMPILE_CACHE: '1' }),
    {
      // A request sent right after the kill waits in the primary for the replacement. A fresh
      // instance each time: a slot that keeps failing is restarted with a growing backoff.
      name: REPLACEMENT,
      async run(node) {
        const started = await start(node, [cli, 'run', '-c', join(ROOT, 'bench/configs/one-worker.ts')], HOSTD_READY);
        try {
          const [worker] = children(started.child.pid!);
          if (worker === undefined) throw new Error('hostd, 1 worker: no worker process');
          process.kill(worker, 'SIGKILL');
          const killed = performance.now();
          while ((await getOnce(started.url)) !== 200);
          const ms = performance.now() - killed;
          // The replacement's own CPU, as `node app.js`'s is its process's.
          return { ms, cpu: children(started.child.pid!).map(cpuMs) };
        } finally {
          await stop(started.child);
        }
      },
    },
  ];
}

/** What ran, by the script a sample's function came from: a profile's self time in a few kinds. */
function kind(url: string, name: string): string | null {
  if (name === '(idle)') return null;
  if (name === '(garbage collector)') return 'garbage collection';
  if (name === '(program)') return 'V8 itself (parsing, compiling, the runtime)';
  if (/^node:internal\/modules\//.test(url) || /^(?:compileSourceTextModule|compileFunctionForCJSLoader|wrapSafe)$/.test(name)) return "Node's module loaders";
  if (url.startsWith('node:') || url === '') return "Node's bootstrap and built-in modules";
  if (url.includes('/node_modules/jiti/')) return 'jiti';
  if (url.includes('/bench/app.mjs') || url.includes('/bench/targets/')) return 'the app';
  if (url.includes('/dist/')) return "hostd's code";
  return 'other';
}

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

function summarise(file: string): ProfileShare[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const by = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!;
    const what = kind(frame.url, frame.functionName);
    if (what !== null) by.set(what, (by.get(what) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...by].sort((a, b) => b[1] - a[1]).map(([what, ms]) => ({ what, ms: round(ms) }));
}

/** One warm start with `--cpu-prof` (the workers inherit the flag): the primary's and one worker's profile. */
async function profiled(node: string): Promise<StartupLine['profile']> {
  const dir = mkdtempSync(join(tmpdir(), 'hostd-bench-profile-'));
  try {
    const started = await start(node, ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(ROOT, 'dist', 'bin.cjs'), 'run', '-c', join(ROOT, 'bench/configs/plain.ts')], HOSTD_READY);
    const primaryPid = started.child.pid!;
    await stop(started.child);
    // Written at exit, the main thread's named `CPU.<date>.<pid>.0.<n>.cpuprofile`.
    const files = readdirSync(dir).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f));
    const primary = files.find((f) => f.includes(`.${primaryPid}.`));
    const worker = files.find((f) => f !== primary);
    if (primary === undefined || worker === undefined) return null;
    return { primary: summarise(join(dir, primary)), worker: summarise(join(dir, worker)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every start-up measure of one Node line, `rounds` times each. */
export async function startupLine(line: string, node: string, version: string, rounds: number, log: (line: string) => void): Promise<StartupLine> {
  const projects = new Projects();
  try {
    const all = targets(projects);
    for (const target of all) await target.run(node); // warm-up: the page cache, hostd's caches
    const samples = all.map(() => [] as { ms: number; cpu: number[] }[]);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < all.length; k++) {
        const i = (r + k) % all.length;
        samples[i]!.push(await all[i]!.run(node));
      }
      log(`   Node ${line}, round ${r + 1}/${rounds}: ${all.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!.ms)}`).join(' · ')}`);
    }
    const of = (name: string) => samples[all.findIndex((t) => t.name === name)]!;
    const cpuOf = (x: { cpu: number[] }) => x.cpu.reduce((a, b) => a + b, 0);
    const starts = all.map((target, i) => {
      const s = samples[i]!;
      const base = of(target.name === REPLACEMENT ? SINGLE : CLUSTER);
      const processes = Math.max(...s.map((x) => x.cpu.length));
      return {
        target: target.name,
        ms: round(median(s.map((x) => x.ms))),
        ratio: round(medianRatio(s.map((x) => x.ms), base.map((x) => x.ms))!, 3),
        cpu_ms: round(median(s.map(cpuOf))),
        cpu_ratio: round(medianRatio(s.map(cpuOf), base.map(cpuOf))!, 3),
        cpu_ms_by_process: Array.from({ length: processes }, (_, p) => round(median(s.map((x) => x.cpu[p] ?? 0)))),
        samples: s.map((x) => round(x.ms)),
      };
    });
    const commands = measure(rounds, measuredEnv(), node);
    return { line, node: version, node_e_ms: commands.node_e_ms, starts, commands: commands.commands, profile: await profiled(node) };
  } finally {
    projects.remove();
  }
}

/**
 * What the benchmark measures: processes serving bench/app.mjs's handler, each started,
 * asked for its address and process ids, and stopped the same way.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerPids } from '../../test/helpers/proc.ts';
import { pinned, SERVER_CPUS } from './cpus.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PM2 = join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

export interface Running {
  readonly url: string;
  /** The process that was started (the primary, or PM2's daemon for PM2). */
  readonly pid: number;
  /** The processes serving requests. */
  workers(): number[];
  /** What it printed so far. */
  output(): string;
  /** Reloads as its docs say to: SIGHUP for hostd, `pm2 reload` for PM2; resolves when done. */
  reload(): Promise<void>;
  /** Stops it; resolves with the milliseconds until it exited. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface Target {
  readonly name: string;
  start(): Promise<Running>;
}


/** One GET on a connection of its own (closed after), so nothing stays open when measuring an idle stop; its status, 0 on an error. */
export function getOnce(url: string): Promise<number> {
  return new Promise((resolve) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', () => resolve(0));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment of processes whose speed is measured: without NODE_EXTRA_CA_CERTS (Node reads
 * the whole bundle at every start, ~60 ms here) and HOSTD_* (settings of their own).
 */
export function measuredEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSTD_') && k !== 'NODE_EXTRA_CA_CERTS'));
}

/** Starts `args` with node and waits until its output says it serves (and on which port). */
function spawnServing(args: string[], ready: RegExp, port: RegExp, env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    // taskset execs node, so the child's pid is the server's.
    const [command, commandArgs] = pinned(SERVER_CPUS, process.execPath, args);
    const child = spawn(command, commandArgs, { cwd: ROOT, env: env ?? measuredEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let served = false;
    const seen = (data: Buffer) => {
      // The tail is enough to follow what happens next; a long run must not hold all of it.
      output = (output + data).slice(-200_000);
      const p = port.exec(output)?.[1];
      if (!served && p && ready.test(output)) {
        served = true;
        resolve({ child, url: `http://127.0.0.1:${p}/`, output: () => output });
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => {
      if (!served) reject(new Error(`exited (${code}) before serving:\n${output}`));
    });
  });
}

function stopper(child: ChildProcess) {
  return (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<number>((resolve) => {
      const started = performance.now();
      if (child.exitCode !== null || child.signalCode !== null) return resolve(0);
      child.once('exit', () => resolve(performance.now() - started));
      child.kill(signal);
    });
}

/** `env`: the servers' environment (measuredEnv() when absent). */
export function nodeTarget(name: string, args: string[], ready: RegExp, port: RegExp, env?: NodeJS.ProcessEnv): Target {
  return {
    name,
    async start() {
      const { child, url, output } = await spawnServing(args, ready, port, env);
      let generation = 1;
      return {
        url,
        pid: child.pid!,
        workers: () => workerPids(child.pid!),
        output,
        async reload() {
          generation++;
          child.kill('SIGHUP');
          for (const deadline = Date.now() + 30_000; !output().includes(`reloaded: generation ${generation} is serving`); ) {
            if (Date.now() > deadline) throw new Error(`${name} did not finish reload ${generation}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        },
        stop: stopper(child),
      };
    },
  };
}

const HOSTD_PORT = /Listening at: http:\/\/127\.0\.0\.1:(\d+)/;

export const cluster = nodeTarget('node:cluster', [join(ROOT, 'bench/targets/cluster.mjs'), '2'], /listening/, /listening (\d+)/);
export const single = nodeTarget('node:http (1 process)', [join(ROOT, 'bench/targets/single.mjs')], /listening/, /listening (\d+)/);
export const hostd = (name: string, config: string, env?: NodeJS.ProcessEnv): Target =>
  nodeTarget(name, [CLI, 'run', '-c', join(ROOT, 'bench/configs', config)], /hostd is ready/, HOSTD_PORT, env);

/** PM2 in cluster mode (2 instances), with its own PM2_HOME so it touches nothing else. */
export const pm2: Target = {
  name: 'PM2 cluster',
  async start() {
    const home = mkdtempSync(join(tmpdir(), 'hostd-bench-pm2-'));
    const port = await freePort();
    const env = { ...measuredEnv(), PM2_HOME: home, PORT: String(port) };
    // The daemon PM2 starts inherits the CPUs, and its instances inherit them from it.
    const run = (...args: string[]) => execFileSync(...pinned(SERVER_CPUS, process.execPath, [PM2, ...args]), { env, cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
    run('start', join(ROOT, 'bench/targets/pm2-app.cjs'), '-i', '2', '--name', 'bench');
    const url = `http://127.0.0.1:${port}/`;
    for (const deadline = Date.now() + 15_000; ; ) {
      if ((await fetch(url).catch(() => null))?.status === 200) break;
      if (Date.now() > deadline) throw new Error('PM2 did not serve within 15 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const daemon = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
    return {
      url,
      pid: daemon,
      workers: () => workerPids(daemon),
      output: () => '',
      // `pm2 reload` returns once every instance was replaced.
      reload: async () => void run('reload', 'bench'),
      async stop() {
        const started = performance.now();
        run('kill');
        return performance.now() - started;
      },
    };
  },
};

/** Resident memory of a process, in MiB. */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/**
 * What a PROXY protocol header costs the worker that reads it, per connection, with what one
 * process start does to another taken out: one worker serves both kinds of connection, in
 * alternating batches, so both meet the same process, heap and CPU placement.
 *
 *   npx tsx bench/proxy/intake-cost.ts [BATCHES] [CONNECTIONS_PER_BATCH]
 *
 * As in hostd, a primary accepts each connection and hands it to the worker over IPC. The
 * worker serves bench/app.mjs through node:http; connections to one port go straight to the
 * server (no header), those to the other through hostd's own intakeProxied (a PROXY v1 header
 * from 127.0.0.1, which the default forwarded_allow_ips trusts: 1,024 clients in turn). The
 * load generator (on its own CPU, where there are two) opens a connection per request, 16 at a
 * time, with payloads built beforehand, as bench/proxy/connect.mjs does. Per batch, the CPU
 * time of primary and worker (schedstat, in ns) over the connections served. Prints the medians
 * and the per-batch differences, and writes
 * bench/results/intake-cost-<date>.json. Bounded: every batch has a fixed count, every
 * connection a timeout, and the servers are killed at the end whatever happens.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/runtime/native.ts';
import { intakeProxied } from '../../src/runtime/proxy/intake.ts';
import { proxyV1 } from '../../src/runtime/proxy/proxy-protocol.ts';
import { trusts } from '../../src/runtime/proxy/trusted.ts';
import { LOAD_CPU, PINNING, SERVER_CPUS } from '../lib/cpus.ts';
import { median, round } from '../lib/stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const CONCURRENCY = 16;
const TIMEOUT_MS = 5_000;
const KINDS = ['no header', 'PROXY v1 header'] as const;

const role = process.env.INTAKE_COST_ROLE;
if (role === 'worker') await worker();
else if (role === 'primary') await primary();
else await main();

/** Serves both kinds of connection; the handler is the bench's own app. */
async function worker(): Promise<void> {
  const handler = (await import(join(ROOT, 'bench/app.mjs'))).default;
  const http = createHttpServer(handler);
  const local = trusts(['127.0.0.1', '::1']);
  const to = {
    deliver(socket: Socket, rest?: Buffer) {
      http.emit('connection', socket);
      if (rest !== undefined && rest.length > 0) socket.emit('data', rest);
    },
    refuse(socket: Socket) {
      socket.destroy();
    },
  };
  const helper = native();
  if (helper === null) throw new Error("hostd's native helper is not built (npm run build): the worker would read every header through the stream");
  process.on('message', (kind: unknown, socket: Socket | undefined) => {
    if (socket === undefined) return;
    socket.setNoDelay(true);
    if (kind === 1) intakeProxied(socket, helper, local, 60_000, to);
    else http.emit('connection', socket);
  });
  process.send!('ready');
}

/** Accepts on two ports and hands every connection to the worker, saying which port it came to. */
async function primary(): Promise<void> {
  const child = fork(SELF, [], { env: { ...process.env, INTAKE_COST_ROLE: 'worker' }, execArgv: process.execArgv });
  await once(child, 'message');
  const ports: number[] = [];
  for (let kind = 0; kind < KINDS.length; kind++) {
    const server = createServer({ pauseOnConnect: true }, (socket) => child.send(kind, socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    ports.push((server.address() as { port: number }).port);
  }
  process.on('SIGTERM', () => {
    child.kill('SIGKILL');
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ ports, worker: child.pid })}\n`);
}

/** CPU time of the processes so far, in ns, from every thread's schedstat. */
function cpuNs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'latin1').split(' ')[0]);
      } catch {}
    }
  }
  return total;
}

/** One connection: its payload out, the answer in until the server closes; true when it was a 200. */
function request(port: number, payload: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    let head = '';
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (head.length < 12) head += chunk.toString('latin1', 0, 12);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(head.startsWith('HTTP/1.1 200')));
    socket.write(payload);
  });
}

async function main(): Promise<void> {
  const batches = Number(process.argv[2] ?? 40);
  const perBatch = Number(process.argv[3] ?? 2000);
  if (!(batches > 0 && perBatch > 0)) throw new Error('usage: npx tsx bench/proxy/intake-cost.ts [BATCHES] [CONNECTIONS_PER_BATCH]');
  // The load generator is this process: it moves to its CPU, the servers start on theirs.
  if (LOAD_CPU !== null) spawnSync('taskset', ['-apc', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const server = spawn(SERVER_CPUS === null ? process.execPath : 'taskset', [...(SERVER_CPUS === null ? [] : ['-c', SERVER_CPUS, process.execPath]), ...process.execArgv, SELF], {
    env: { ...process.env, INTAKE_COST_ROLE: 'primary' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const { ports, worker } = JSON.parse(line.toString()) as { ports: number[]; worker: number };
    const pids = [server.pid!, worker];
    const request0 = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1');
    // Built beforehand: built per request, they made the load generator slower for one kind, and how fast
    // connections come changes what each costs the servers (about 3 µs a connection here).
    const made = [[request0], Array.from({ length: 1024 }, (_, i) => Buffer.concat([proxyV1({ address: `203.0.113.${i % 250}`, port: 10_000 + i }, { address: '127.0.0.1', port: ports[1]! }), request0]))];
    let n = 0;
    const payload = (kind: number) => made[kind]![n++ % made[kind]!.length]!;
    const batch = async (kind: number) => {
      let left = perBatch;
      let errors = 0;
      const before = cpuNs(pids);
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) if (!(await request(ports[kind]!, payload(kind)))) errors++;
      }));
      return { us: (cpuNs(pids) - before) / perBatch / 1000, errors };
    };
    // Warm-up: JIT and the first connections of each kind.
    for (let i = 0; i < 2; i++) for (let kind = 0; kind < KINDS.length; kind++) await batch(kind);
    const us: number[][] = [[], []];
    let errors = 0;
    for (let b = 0; b < batches; b++) {
      for (const kind of b % 2 === 0 ? [0, 1] : [1, 0]) {
        const result = await batch(kind);
        us[kind]!.push(result.us);
        errors += result.errors;
      }
      if ((b + 1) % 10 === 0) console.error(`  batch ${b + 1}/${batches}`);
    }
    const differences = us[1]!.map((u, i) => u - us[0]![i]!);
    const results = {
      date: new Date().toISOString(),
      node: process.versions.node,
      cpus: `${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
      pinning: PINNING,
      batches,
      connections_per_batch: perBatch,
      errors,
      cpu_us_per_connection: Object.fromEntries(KINDS.map((kind, i) => [kind, round(median(us[i]!), 2)])),
      header_cost_us: round(median(differences), 2),
      header_cost_ratio: round(median(us[1]!.map((u, i) => u / us[0]![i]!)), 3),
    };
    const d = results.date;
    const file = join(ROOT, 'bench/results', `intake-cost-${d.slice(0, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`CPU per connection (primary and worker), median of ${batches} batches of ${perBatch}: ${KINDS.map((kind, i) => `${kind} ${results.cpu_us_per_connection[kind]} µs`).join(', ')}`);
    console.log(`a PROXY v1 header costs ${results.header_cost_us} µs a connection (${results.header_cost_ratio}×), ${errors} errors; wrote ${file}`);
  } finally {
    server.kill('SIGTERM');
  }
}

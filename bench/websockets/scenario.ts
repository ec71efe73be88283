/**
 * WebSockets (issue 13): echo messages per second through hostd against the same ws server
 * under node:cluster (2 workers each, rounds alternating, ratio per round), and the time from
 * SIGTERM to exit with 1,000 open WebSockets, for an app that closes them on `draining` and
 * for one that ignores it (graceful_timeout 2 s). The clients run in this process.
 */
import { join } from 'node:path';
import WebSocket from 'ws';
import { median, medianRatio, round } from '../lib/stats.ts';
import { hostd, nodeTarget, ROOT, type Running, type Target } from '../lib/targets.ts';

export interface WebSocketResults {
  echo: { target: string; messages_per_second: number; ratio: number }[];
  stop: { app: string; sockets: number; graceful_timeout_s: number; stop_ms: number }[];
}

const CLUSTER = nodeTarget('node:cluster + ws', [join(ROOT, 'bench/websockets/cluster.mjs')], /listening/, /listening (\d+)/);
const HOSTD = hostd('hostd + ws', '../websockets/echo.ts');

/** Opens `n` WebSockets to `url`, a few at a time; resolves when all are open. */
async function open(url: string, n: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const opening = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url.replace(/^http/, 'ws'));
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  for (let i = 0; i < n; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, opening))));
  return sockets;
}

/** Each socket sends a message and waits for its echo, again and again, for `seconds`: echoes per second. */
async function echo(sockets: WebSocket[], seconds: number): Promise<number> {
  const payload = Buffer.alloc(64, 'x');
  const until = performance.now() + seconds * 1000;
  let echoes = 0;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          const next = () => {
            if (performance.now() >= until) {
              ws.off('message', onMessage);
              return resolve();
            }
            ws.send(payload);
          };
          const onMessage = () => {
            echoes++;
            next();
          };
          ws.on('message', onMessage);
          next();
        }),
    ),
  );
  return echoes / seconds;
}

async function echoRounds(rounds: number, seconds: number, connections: number, log: (line: string) => void): Promise<WebSocketResults['echo']> {
  const targets: Target[] = [CLUSTER, HOSTD];
  const running: Running[] = [];
  const sockets: WebSocket[][] = [];
  try {
    for (const target of targets) {
      const r = await target.start();
      running.push(r);
      sockets.push(await open(r.url, connections));
    }
    for (const s of sockets) await echo(s, 1);
    const samples: number[][] = targets.map(() => []);
    for (let n = 0; n < rounds; n++) {
      for (let k = 0; k < targets.length; k++) {
        const i = (n + k) % targets.length;
        samples[i]!.push(await echo(sockets[i]!, seconds));
      }
      log(`   round ${n + 1}/${rounds}: ${targets.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!)} echoes/s`).join(' · ')}`);
    }
    return targets.map((t, i) => ({ target: t.name, messages_per_second: Math.round(median(samples[i]!)), ratio: round(medianRatio(samples[i]!, samples[0]!)!, 3) }));
  } finally {
    for (const s of sockets) for (const ws of s) ws.terminate();
    for (const r of running) await r.stop();
  }
}

/** SIGTERM with `sockets` WebSockets open: milliseconds until the primary exited. */
async function stopWithOpenSockets(config: string, sockets: number): Promise<number> {
  const running = await hostd(config, `../websockets/${config}`).start();
  const open_ = await open(running.url, sockets);
  try {
    return await running.stop('SIGTERM');
  } finally {
    for (const ws of open_) ws.terminate();
  }
}

export async function webSocketScenario(rounds: number, seconds: number, log: (line: string) => void): Promise<WebSocketResults> {
  const connections = 64;
  log(`\n7. WebSockets: echo messages per second over ${connections} sockets, node:cluster vs hostd (2 workers, ${rounds} rounds × ${seconds} s); SIGTERM to exit with 1,000 open`);
  const echoRows = await echoRounds(rounds, seconds, connections, log);
  for (const row of echoRows) log(`   ${row.target}: ${row.messages_per_second} echoes/s (${row.ratio}×)`);
  const stop: WebSocketResults['stop'] = [];
  for (const [config, app] of [
    ['closes.ts', 'closes them on draining'],
    ['ignores.ts', 'ignores draining'],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await stopWithOpenSockets(config, 1000));
    stop.push({ app, sockets: 1000, graceful_timeout_s: 2, stop_ms: Math.round(median(times)) });
    log(`   SIGTERM to exit, 1,000 WebSockets open, an app that ${app}: ${Math.round(median(times))} ms (median of 3; graceful_timeout 2 s)`);
  }
  return { echo: echoRows, stop };
}

// `tsx bench/websockets/scenario.ts` runs it alone and prints.
if (import.meta.url === `file://${process.argv[1]}`) {
  await webSocketScenario(Number(process.env.BENCH_ROUNDS ?? 6), Number(process.env.BENCH_SECONDS ?? 3), (line) => process.stdout.write(`${line}\n`));
}

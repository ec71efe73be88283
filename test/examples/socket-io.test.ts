/**
 * examples/socket-io with a real socket.io client: two workers and sticky sessions, so a
 * client that starts with long-polling (several requests, several connections) reaches the
 * worker that holds its session every time, then upgrades to a WebSocket.
 */
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const EXAMPLE = join(REPO, 'examples', 'socket-io');

describe('examples/socket-io', () => {
  let run: Hostd | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await run?.stop();
    run = undefined;
  });

  /** Connects by polling first (no connection reuse: each poll is a new connection), upgrades, and echoes. */
  async function session(url: string): Promise<{ worker: number; transport: string }> {
    const socket = io(url, { transports: ['polling', 'websocket'], reconnection: false, forceNew: true, extraHeaders: { connection: 'close' } });
    sockets.push(socket);
    const hello = await new Promise<{ worker: number }>((resolve, reject) => {
      socket.once('hello', resolve);
      socket.once('connect_error', reject);
    });
    await waitUntil(() => socket.io.engine.transport.name === 'websocket', 'the upgrade to a WebSocket');
    const answer = (await socket.timeout(5000).emitWithAck('echo', 'hi')) as { worker: number; message: string };
    expect(answer).toEqual({ worker: hello.worker, message: 'hi' });
    return { worker: hello.worker, transport: socket.io.engine.transport.name };
  }

  it('keeps every session on its worker through polling and the upgrade, with two workers', async () => {
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0']);
    const url = await run.ready(30_000);
    await waitUntil(() => (run!.output.match(/Booting worker \d/g) ?? []).length >= 2, 'two workers');
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await session(url));
    expect(sessions.every((s) => s.transport === 'websocket')).toBe(true);
    // One client address: one worker, every time.
    expect(new Set(sessions.map((s) => s.worker)).size).toBe(1);
    expect(await (await fetch(url)).text()).toMatch(/^socket\.io example: worker \d\n$/);
  });

  it('loses the session without sticky sessions: its next request lands on the other worker', async () => {
    // Connections in strict turn, so that the request after the handshake goes to the other worker.
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0', '--no-sticky-sessions', '--dispatch', 'round_robin']);
    const url = await run.ready(30_000);
    await waitUntil(() => (run!.output.match(/Booting worker \d/g) ?? []).length >= 2, 'two workers');
    await expect(session(url)).rejects.toThrow();
    await waitUntil(() => / 400 /.test(run!.output), 'a 400 (Session ID unknown) in the access log');
  });
});
